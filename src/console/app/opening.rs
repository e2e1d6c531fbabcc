//! Whether each queue is open now, by its Hours of Operation: read once live data names the queues,
//! then every 10 minutes (hours change rarely, and each read is a call from the minute's budget).
//! Open or closed is worked out again each minute of the wall clock, so the Queues pane and the
//! confirmation say what is true at the moment, not at the read. The wall clock is the read's, run
//! on by the ticks' instants: `update` reads no clock.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use tokio::time::Instant;

use crate::hours::{Hours, OpenNow};

/// How often the hours are read again.
pub const READ_EVERY: Duration = Duration::from_secs(600);

/// The queues' hours as last read, and what they say now.
#[derive(Debug, Default)]
pub struct Opening {
    /// Each queue's hours, or why they are unknown (the read failed or could not be understood).
    read: HashMap<String, Result<Hours, String>>,
    /// What the hours say at `judged_at`.
    now: HashMap<String, OpenNow>,
    judged_at: Option<Timestamp>,
    /// The wall clock at an instant, as the last read said: the clock of every judgement since.
    clock: Option<(Instant, Timestamp)>,
    /// A read is on its way.
    reading: bool,
    next_read: Option<Instant>,
}

impl Opening {
    /// The queues to read now, if a read is due (it is then on its way): every queue the live
    /// data names, at the first snapshot and every `READ_EVERY`, or sooner when a queue appears
    /// that was never read.
    pub fn due<'a>(&mut self, now: Instant, queues: impl Iterator<Item = &'a str>) -> Vec<String> {
        if self.reading {
            return vec![];
        }
        let queues: Vec<String> = queues.map(str::to_string).collect();
        let stale = self.next_read.is_none_or(|at| now >= at);
        if stale || queues.iter().any(|q| !self.read.contains_key(q)) {
            self.reading = !queues.is_empty();
            queues
        } else {
            vec![]
        }
    }

    /// What a read brought: each queue's hours or why not, as of `wall`.
    pub fn on_read(
        &mut self,
        now: Instant,
        wall: Timestamp,
        read: Vec<(String, Result<Hours, String>)>,
    ) {
        self.reading = false;
        self.next_read = Some(now + READ_EVERY);
        self.clock = Some((now, wall));
        self.read.extend(read);
        self.judge(wall);
    }

    /// Works out again what each queue's hours say, when the wall clock has moved on a minute.
    pub fn tick(&mut self, now: Instant) {
        let Some((then, wall_then)) = self.clock else {
            return;
        };
        let Ok(wall) = wall_then.checked_add(now.saturating_duration_since(then)) else {
            return;
        };
        let minute = |t: Timestamp| t.as_second().div_euclid(60);
        if self.judged_at.is_none_or(|at| minute(at) != minute(wall)) {
            self.judge(wall);
        }
    }

    fn judge(&mut self, wall: Timestamp) {
        self.judged_at = Some(wall);
        self.now = self
            .read
            .iter()
            .filter_map(|(q, hours)| Some((q.clone(), hours.as_ref().ok()?.at(wall))))
            .collect();
    }

    /// Whether the queue is open now; `None` while its hours are unknown.
    pub fn of(&self, queue: &str) -> Option<&OpenNow> {
        self.now.get(queue)
    }

    /// Why the queue's hours are unknown, when the read failed.
    pub fn unknown(&self, queue: &str) -> Option<&str> {
        self.read.get(queue)?.as_ref().err().map(String::as_str)
    }

    /// What a confirmation says of a move to a queue closed now: `is closed now; opens Tue 8:00
    /// AM UTC`.
    pub fn closed_warning(&self, queue: &str) -> Option<String> {
        self.of(queue)?.closed_words()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(days: &str) -> Hours {
        crate::hours::parse(
            format!(
                r#"{{"name":"h","timezone":"UTC","standardDays":{{"days":[{days}]}},"specialDays":{{}}}}"#
            )
            .as_bytes(),
        )
        .expect("hours")
    }

    #[test]
    fn a_read_is_due_at_first_then_every_ten_minutes_or_for_a_new_queue() {
        let start = Instant::now();
        let mut opening = Opening::default();
        assert_eq!(opening.due(start, ["q1"].into_iter()), vec!["q1"]);
        assert!(
            opening.due(start, ["q1"].into_iter()).is_empty(),
            "one read at a time"
        );
        opening.on_read(
            start,
            Timestamp::now(),
            vec![("q1".into(), Err("403".into()))],
        );
        assert!(opening.due(start, ["q1"].into_iter()).is_empty());
        assert_eq!(opening.unknown("q1"), Some("403"));
        assert_eq!(opening.due(start, ["q1", "q2"].into_iter()).len(), 2);
        opening.on_read(start, Timestamp::now(), vec![]);
        assert_eq!(
            opening.due(start + READ_EVERY, ["q1"].into_iter()),
            vec!["q1"]
        );
    }

    #[test]
    fn open_or_closed_is_judged_again_as_the_clock_moves() {
        // Open Mondays 9 to 5, UTC. 2026-11-30 is a Monday.
        let monday = r#"{"day":"MO","start":"9:00 AM","end":"5:00 PM"}"#;
        let at = |s: &str| s.parse::<Timestamp>().expect("time");
        let mut opening = Opening::default();
        let read_at = Instant::now();
        opening.on_read(
            read_at,
            at("2026-11-30T08:59:00Z"),
            vec![("q".into(), Ok(hours(monday)))],
        );
        assert_eq!(
            opening.closed_warning("q").as_deref(),
            Some("is closed now; opens Mon 9:00 AM UTC")
        );
        // 90 s on by the ticks' clock: 09:00:30.
        opening.tick(read_at + Duration::from_secs(90));
        assert_eq!(opening.of("q"), Some(&OpenNow::Open));
        assert_eq!(opening.closed_warning("q"), None);
        assert_eq!(opening.of("other"), None);
    }
}
