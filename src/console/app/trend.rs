//! Whether a backlog grows or drains: each queue's waiting count over the last 15 minutes of
//! refreshes, drawn as a sparkline in the Queues pane (with the bar symbols ratatui's `Sparkline`
//! draws with).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use ratatui::symbols::bar::NINE_LEVELS;
use tokio::time::Instant;

use crate::live::LiveSnapshot;

/// How far back a trend goes.
pub const SPAN: Duration = Duration::from_secs(15 * 60);

/// Each queue's waiting counts, oldest first, with when each was read.
#[derive(Debug, Default)]
pub struct Trends(HashMap<String, VecDeque<(Instant, u64)>>);

impl Trends {
    /// One refresh's counts, read at `at`; what is older than `SPAN` goes.
    pub fn record(&mut self, at: Instant, snapshot: &LiveSnapshot) {
        for queue in &snapshot.queues {
            let Some(waiting) = queue.waiting else {
                continue;
            };
            let points = self.0.entry(queue.id.clone()).or_default();
            points.push_back((at, waiting));
            while points
                .front()
                .is_some_and(|(t, _)| at.saturating_duration_since(*t) > SPAN)
            {
                points.pop_front();
            }
        }
    }

    /// The queue's last `width` counts as bars, scaled to the largest of them (empty before two
    /// reads: one count is no trend).
    pub fn sparkline(&self, queue: &str, width: usize) -> String {
        let Some(points) = self.0.get(queue).filter(|p| p.len() > 1) else {
            return String::new();
        };
        let counts: Vec<u64> = points
            .iter()
            .skip(points.len().saturating_sub(width))
            .map(|(_, n)| *n)
            .collect();
        let top = counts.iter().copied().max().unwrap_or(0).max(1);
        let levels = [
            NINE_LEVELS.empty,
            NINE_LEVELS.one_eighth,
            NINE_LEVELS.one_quarter,
            NINE_LEVELS.three_eighths,
            NINE_LEVELS.half,
            NINE_LEVELS.five_eighths,
            NINE_LEVELS.three_quarters,
            NINE_LEVELS.seven_eighths,
            NINE_LEVELS.full,
        ];
        counts
            .iter()
            // A queue with any waiting shows at least the lowest bar.
            .map(|&n| {
                let level = (n * 8).div_ceil(top) as usize;
                levels[level.min(8)]
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::LiveQueue;

    fn snapshot(waiting: u64) -> LiveSnapshot {
        LiveSnapshot {
            queues: vec![LiveQueue {
                id: "qu-1".into(),
                waiting: Some(waiting),
                ..LiveQueue::default()
            }],
            ..LiveSnapshot::default()
        }
    }

    #[test]
    fn a_growing_backlog_rises_and_what_is_older_than_the_span_goes() {
        let mut trends = Trends::default();
        let t0 = Instant::now();
        trends.record(t0, &snapshot(8));
        assert_eq!(trends.sparkline("qu-1", 10), "", "one count is no trend");
        for (i, n) in [0u64, 2, 4, 8].into_iter().enumerate() {
            trends.record(t0 + Duration::from_secs(30 * (i as u64 + 1)), &snapshot(n));
        }
        assert_eq!(trends.sparkline("qu-1", 10), "█ ▂▄█");
        assert_eq!(
            trends.sparkline("qu-1", 2),
            "▄█",
            "the newest, as wide as there is room"
        );
        // Sixteen minutes on, only the newest remains with what comes.
        trends.record(t0 + Duration::from_secs(16 * 60 + 120), &snapshot(1));
        assert_eq!(trends.sparkline("qu-1", 10), "");
    }
}
