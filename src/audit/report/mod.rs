//! The incident report, read from the audit log: per run, who moved what, when, to where, what the
//! platform answered and called back, and what the verification found.
//!
//! It streams, run by run: a run is kept only while it may still get lines (its callbacks and
//! verifications come after its last answer) and is written out `LINGER` after its last line, or at
//! the end of the file. Runs come out in the order they began, so memory holds the runs open at
//! once, not the file.

mod entry;
mod render;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::dispatch::Origin;
use crate::listener::CallbackState;
use crate::outcome::Outcome;
use crate::request::Target;

use entry::{Entry, Text};
pub use render::{write_report, write_report_file, write_runs};

/// How long after its last line a run may still get one: the longest callback wait (3600 s) and
/// the verification after it.
const LINGER: SignedDuration = SignedDuration::from_secs(3600 + 300);

/// Which runs a report takes.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub run: Option<String>,
    /// Runs that began at or after this.
    pub since: Option<Timestamp>,
    /// The runs of one process (the console's `:export`).
    pub process: Option<String>,
}

impl Filter {
    /// `--since`: an RFC 3339 instant, or a span back from `now` such as `2h`, `30m` or `1d`.
    pub fn parse_since(text: &str, now: Timestamp) -> Result<Timestamp, String> {
        if let Ok(at) = text.parse::<Timestamp>() {
            return Ok(at);
        }
        let back = humantime::parse_duration(text).map_err(|_| {
            format!(
                "--since {text}: give an RFC 3339 time (2026-11-28T03:00:00Z) or a span back from now (2h, 30m, 1d)"
            )
        })?;
        let back =
            SignedDuration::try_from(back).map_err(|_| format!("--since {text}: too far back"))?;
        now.checked_sub(back)
            .map_err(|_| format!("--since {text}: too far back"))
    }
}

/// A report's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown: pastes into an incident ticket as it is.
    Markdown,
    /// One row per session, with its run's columns.
    Csv,
    /// One JSON object per run, a line each.
    Json,
}

impl Format {
    /// The format a file's name asks for: `.csv`, `.json` or `.jsonl`, else Markdown.
    pub fn for_path(path: &std::path::Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => Format::Csv,
            Some("json" | "jsonl") => Format::Json,
            _ => Format::Markdown,
        }
    }
}

impl SessionRow {
    /// `Billing (queue qu-…)` when the name is on record, else `queue qu-…`.
    pub fn target_label(&self) -> String {
        match self.to_name.as_deref().filter(|n| !n.trim().is_empty()) {
            Some(name) => format!("{name} ({})", self.to),
            None => self.to.to_string(),
        }
    }
}

/// One session of a run, as its lines tell it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionRow {
    #[serde(rename = "botSessionId")]
    pub session: String,
    pub from: Option<Origin>,
    pub to: Target,
    /// The target's name as seen when it was sent, when the attempt line says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_name: Option<String>,
    /// The last attempt's outcome; none when the log holds the attempt but not its answer (a crash).
    pub outcome: Option<Outcome>,
    pub http_status: Option<u16>,
    pub message: String,
    pub latency_ms: Option<u64>,
    pub attempts: u32,
    /// The callback's state; none when none came.
    pub callback: Option<CallbackState>,
    pub callback_status: Option<String>,
    pub verified: Option<String>,
}

/// One queue's priority change in a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PriorityRow {
    pub queue: Target,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<String>,
    pub priority: u8,
    /// What it replaced, as far as switchboard knew (none: unknown).
    pub was: Option<u8>,
    /// `set`, `failed` or `unknown`.
    pub outcome: String,
}

impl PriorityRow {
    /// `Billing (queue qu-…) unknown → 8: set`.
    pub fn describe(&self) -> String {
        let queue = match self.queue_name.as_deref().filter(|n| !n.trim().is_empty()) {
            Some(name) => format!("{name} ({})", self.queue),
            None => self.queue.to_string(),
        };
        let was = self
            .was
            .map_or_else(|| "unknown".to_string(), |w| w.to_string());
        format!("{queue} {was} → {}: {}", self.priority, self.outcome)
    }
}

/// One run, whole.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunReport {
    pub run: String,
    pub user: Option<String>,
    pub process: Option<String>,
    pub profile: Option<String>,
    pub host: Option<String>,
    /// Its first line's time.
    pub started: String,
    pub first_request: Option<String>,
    pub last_request: Option<String>,
    /// From the first request to the last, in milliseconds.
    pub request_span_ms: Option<i64>,
    pub targets: Vec<String>,
    pub outcomes: BTreeMap<String, usize>,
    pub callbacks: BTreeMap<String, usize>,
    pub verified: BTreeMap<String, usize>,
    pub sessions: Vec<SessionRow>,
    /// The queue priorities it changed (a run of `queue priority`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub priorities: Vec<PriorityRow>,
    #[serde(skip)]
    index: HashMap<String, usize>,
    #[serde(skip)]
    last_seen: Timestamp,
}

/// What reading the log came to, beside the runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Read {
    pub lines: u64,
    /// Lines that are not records (torn, or not JSON): `audit verify` says more.
    pub unreadable: u64,
    pub runs: usize,
}

/// Reads the log and hands each run the filter takes to `emit`, whole, in the order the runs began.
pub fn each_run(
    reader: impl io::Read,
    filter: &Filter,
    mut emit: impl FnMut(RunReport) -> io::Result<()>,
) -> io::Result<Read> {
    let mut runs = OpenRuns::default();
    super::lines::for_each_batch(reader, |lines| {
        let parsed = super::lines::map_lines(lines, |line| {
            // Checked as UTF-8 once, whole: the parser then need not check each string again.
            let text = std::str::from_utf8(trim_newline(line)).ok()?;
            let entry = Entry::scan(text).or_else(|| serde_json::from_str::<Entry>(text).ok())?;
            let at = entry.ts.parse::<Timestamp>().ok()?;
            Some((entry, at))
        });
        for line in &parsed {
            runs.take(line.as_ref(), filter, &mut emit)?;
        }
        Ok(())
    })?;
    while let Some((k, done)) = runs.open.pop_first() {
        runs.finish(done, k, &mut emit)?;
    }
    Ok(runs.read)
}

/// The runs that may still get lines, and how to find a line's run.
#[derive(Default)]
struct OpenRuns {
    read: Read,
    /// Open runs by the order they began.
    open: BTreeMap<u64, RunReport>,
    order: HashMap<String, u64>,
    left_out: HashSet<String>,
    /// The open run each session was last attempted in, for lines that do not name their run.
    session_run: HashMap<String, u64>,
    next: u64,
}

impl OpenRuns {
    /// Takes one line (none: not a record), then writes out the runs nothing more can come to.
    fn take(
        &mut self,
        line: Option<&(Entry, Timestamp)>,
        filter: &Filter,
        emit: &mut impl FnMut(RunReport) -> io::Result<()>,
    ) -> io::Result<()> {
        self.read.lines += 1;
        let Some((entry, at)) = line else {
            self.read.unreadable += 1;
            return Ok(());
        };
        let at = *at;
        let session = entry.session.as_deref();
        let key = match entry.run.as_deref() {
            Some(run) => match self.order.get(run) {
                Some(&k) => Some(k),
                None if self.left_out.contains(run) => None,
                None if starts_a_run(entry) && filter.takes(run, entry, at) => {
                    self.next += 1;
                    self.order.insert(run.to_string(), self.next);
                    self.open.insert(self.next, RunReport::new(run, entry, at));
                    Some(self.next)
                }
                None => {
                    self.left_out.insert(run.to_string());
                    None
                }
            },
            None => session.and_then(|s| self.session_run.get(s).copied()),
        };
        if let Some(k) = key
            && let Some(report) = self.open.get_mut(&k)
        {
            if &*entry.event == "attempt"
                && let Some(s) = session
            {
                self.session_run.insert(s.to_string(), k);
            }
            report.take(entry, at);
        }
        // Runs nothing more can come to, oldest first: the rest wait behind an older one.
        while let Some(oldest) = self.open.first_entry() {
            if at.duration_since(oldest.get().last_seen) <= LINGER {
                break;
            }
            let (k, done) = oldest.remove_entry();
            self.finish(done, k, emit)?;
        }
        Ok(())
    }

    fn finish(
        &mut self,
        mut done: RunReport,
        key: u64,
        emit: &mut impl FnMut(RunReport) -> io::Result<()>,
    ) -> io::Result<()> {
        self.order.remove(&done.run);
        for s in &done.sessions {
            if self.session_run.get(&s.session) == Some(&key) {
                self.session_run.remove(&s.session);
            }
        }
        done.tally();
        self.read.runs += 1;
        emit(done)
    }
}

fn trim_newline(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

/// A run begins with its first attempt, or with a session it cancelled before sending anything,
/// or with a queue priority change.
fn starts_a_run(entry: &Entry) -> bool {
    match entry.event.as_ref() {
        "attempt" | "outcome" => entry.session.is_some(),
        crate::priority::ATTEMPT_EVENT | crate::priority::EVENT => entry.target.is_some(),
        _ => false,
    }
}

impl Filter {
    fn takes(&self, run: &str, entry: &Entry, at: Timestamp) -> bool {
        self.run.as_deref().is_none_or(|r| r == run)
            && self.since.is_none_or(|since| at >= since)
            && self
                .process
                .as_deref()
                .is_none_or(|p| entry.process.as_deref() == Some(p))
    }
}

impl RunReport {
    fn new(run: &str, entry: &Entry, at: Timestamp) -> RunReport {
        let text = |v: &Option<Text>| v.as_deref().map(str::to_string);
        RunReport {
            run: run.to_string(),
            user: text(&entry.user),
            process: text(&entry.process),
            profile: text(&entry.profile),
            host: text(&entry.host),
            started: entry.ts.to_string(),
            first_request: None,
            last_request: None,
            request_span_ms: None,
            targets: Vec::new(),
            outcomes: BTreeMap::new(),
            callbacks: BTreeMap::new(),
            verified: BTreeMap::new(),
            sessions: Vec::new(),
            priorities: Vec::new(),
            index: HashMap::new(),
            last_seen: at,
        }
    }

    /// Takes one of its lines.
    fn take(&mut self, entry: &Entry, at: Timestamp) {
        self.last_seen = self.last_seen.max(at);
        if matches!(
            entry.event.as_ref(),
            crate::priority::ATTEMPT_EVENT | crate::priority::EVENT
        ) {
            return self.take_priority(entry);
        }
        let Some(session) = entry.session.as_deref() else {
            return;
        };
        if &*entry.event == "attempt" {
            self.requested(entry);
        }
        let row = match self.index.get(session) {
            Some(&i) => &mut self.sessions[i],
            None => {
                let Some(target) = &entry.target else {
                    return;
                };
                let target = Target {
                    kind: target.kind,
                    id: target.id.to_string(),
                };
                self.index.insert(session.to_string(), self.sessions.len());
                self.sessions.push(SessionRow {
                    session: session.to_string(),
                    from: None,
                    to: target,
                    to_name: None,
                    outcome: None,
                    http_status: None,
                    message: String::new(),
                    latency_ms: None,
                    attempts: 0,
                    callback: None,
                    callback_status: None,
                    verified: None,
                });
                self.sessions.last_mut().expect("just pushed")
            }
        };
        match entry.event.as_ref() {
            "attempt" => {
                row.attempts = row.attempts.max(entry.attempt.unwrap_or(1));
                if entry.from.is_some() {
                    row.from = entry.from.clone();
                }
                if let Some(name) = &entry.target_name {
                    row.to_name = Some(name.to_string());
                }
            }
            "outcome" => {
                row.outcome = entry.outcome.as_deref().and_then(Outcome::from_word);
                row.http_status = entry.http_status;
                row.message = entry.message.as_deref().unwrap_or_default().to_string();
                row.latency_ms = entry.latency_ms.filter(|_| entry.attempt != Some(0));
            }
            "callback" if entry.accepted == Some(true) => {
                let body = entry
                    .body
                    .and_then(|b| serde_json::from_str(b.get()).ok())
                    .unwrap_or(serde_json::Value::Null);
                row.callback = Some(CallbackState::of_callback(entry.status.as_deref(), &body));
                row.callback_status = entry.status.as_deref().map(str::to_string);
            }
            "verify" => row.verified = entry.verified.as_deref().map(str::to_string),
            _ => {}
        }
    }

    /// A priority change's attempt or outcome: the attempt's row says no answer until its
    /// outcome's line comes.
    fn take_priority(&mut self, entry: &Entry) {
        let (Some(queue), Some(priority)) = (&entry.target, entry.priority) else {
            return;
        };
        let outcome = if &*entry.event == crate::priority::EVENT {
            entry.outcome.as_deref().unwrap_or_default()
        } else {
            self.requested(entry);
            "no answer on record"
        };
        let row = PriorityRow {
            queue: Target {
                kind: queue.kind,
                id: queue.id.to_string(),
            },
            queue_name: entry.queue_name.as_deref().map(str::to_string),
            priority,
            was: entry.was,
            outcome: outcome.to_string(),
        };
        match self.priorities.iter_mut().find(|r| r.queue == row.queue) {
            Some(known) => *known = row,
            None => self.priorities.push(row),
        }
    }

    /// A request of the run left at the line's time.
    fn requested(&mut self, entry: &Entry) {
        if self.first_request.is_none() {
            self.first_request = Some(entry.ts.to_string());
        }
        self.last_request = Some(entry.ts.to_string());
    }

    /// Its priority changes in a line: `Billing (queue qu-…) unknown → 8: set; …`.
    pub fn priority_summary(&self) -> String {
        self.priorities
            .iter()
            .map(PriorityRow::describe)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The counts, once every line is in.
    fn tally(&mut self) {
        let mut targets = BTreeSet::new();
        for s in &self.sessions {
            targets.insert(s.target_label());
            let outcome = s
                .outcome
                .map(|o| o.as_str())
                .unwrap_or("no answer on record");
            *self.outcomes.entry(outcome.to_string()).or_default() += 1;
            let callback = s.callback.map(|c| c.as_str()).unwrap_or("none");
            *self.callbacks.entry(callback.to_string()).or_default() += 1;
            let verified = s.verified.as_deref().unwrap_or("not checked");
            *self.verified.entry(verified.to_string()).or_default() += 1;
        }
        self.targets = targets.into_iter().collect();
        if let (Some(first), Some(last)) = (&self.first_request, &self.last_request)
            && let (Ok(a), Ok(b)) = (first.parse::<Timestamp>(), last.parse::<Timestamp>())
        {
            self.request_span_ms = Some(b.duration_since(a).as_millis() as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ts: &str, run: Option<&str>, event: &str, session: &str, extra: &str) -> String {
        let run = run.map(|r| format!(r#""run":"{r}","#)).unwrap_or_default();
        format!(
            r#"{{"ts":"{ts}",{run}"process":"p1","user":"sup","event":"{event}","botSessionId":"{session}","target":{{"type":"queue","id":"qu-9"}}{extra}}}"#
        ) + "\n"
    }

    fn runs(log: &str, filter: &Filter) -> Vec<RunReport> {
        let mut out = Vec::new();
        each_run(log.as_bytes(), filter, |r| {
            out.push(r);
            Ok(())
        })
        .unwrap();
        out
    }

    /// A run of `queue priority` is a run of the report too: its changes, none unreadable.
    #[test]
    fn a_priority_run_is_reported_with_its_changes() {
        let log = [
            r#"{"ts":"2026-11-28T03:00:00Z","run":"r1","process":"p1","user":"sup","event":"queue_priority_attempt","queue":"qu-1","queue_name":"Billing","target":{"type":"queue","id":"qu-1"},"priority":8,"was":3}"#,
            r#"{"ts":"2026-11-28T03:00:01Z","run":"r1","process":"p1","user":"sup","event":"queue_priority","queue":"qu-1","queue_name":"Billing","target":{"type":"queue","id":"qu-1"},"priority":8,"was":3,"outcome":"set"}"#,
            r#"{"ts":"2026-11-28T03:05:00Z","run":"r2","process":"p1","user":"sup","event":"queue_priority","queue":"qu-1","target":{"type":"queue","id":"qu-1"},"priority":3,"was":"unknown","outcome":"failed","http_status":403}"#,
            // The process died with the call on the wire: its attempt alone.
            r#"{"ts":"2026-11-28T03:06:00Z","run":"r3","process":"p1","user":"sup","event":"queue_priority_attempt","queue":"qu-1","target":{"type":"queue","id":"qu-1"},"priority":9,"was":3}"#,
        ]
        .join("\n");
        let mut read = Read::default();
        let mut all = Vec::new();
        each_run(log.as_bytes(), &Filter::default(), |r| {
            all.push(r);
            Ok(())
        })
        .map(|r| read = r)
        .unwrap();
        assert_eq!(read.unreadable, 0);
        assert_eq!(all.len(), 3);
        assert!(all[0].sessions.is_empty());
        assert_eq!(all[0].priority_summary(), "Billing (queue qu-1) 3 → 8: set");
        assert_eq!(
            all[0].first_request.as_deref(),
            Some("2026-11-28T03:00:00Z")
        );
        assert_eq!(all[1].priority_summary(), "queue qu-1 unknown → 3: failed");
        assert_eq!(
            all[2].priority_summary(),
            "queue qu-1 3 → 9: no answer on record"
        );
    }

    #[test]
    fn runs_come_whole_in_the_order_they_began_with_their_late_lines() {
        #[rustfmt::skip]
        let lines: [(&str, Option<&str>, &str, &str, &str); 8] = [
            ("2026-11-28T03:00:00Z", Some("r1"), "attempt", "a", r#","attempt":1"#),
            ("2026-11-28T03:00:01Z", Some("r2"), "attempt", "b", r#","attempt":1"#),
            ("2026-11-28T03:00:02Z", Some("r1"), "outcome", "a", r#","outcome":"transferred","http_status":200,"latency_ms":5"#),
            ("2026-11-28T03:00:03Z", Some("r2"), "outcome", "b", r#","outcome":"failed","message":"boom""#),
            // A callback without its run (a separate `listen`) joins the run its session was sent in.
            ("2026-11-28T03:00:30Z", None, "callback", "a", r#","accepted":true,"status":"transferred""#),
            // A refused callback is not the session's.
            ("2026-11-28T03:00:31Z", None, "callback", "b", r#","accepted":false"#),
            ("2026-11-28T03:01:00Z", Some("r1"), "verify", "a", r#","verified":"verified""#),
            // Hours later: r1 and r2 are long done, r3 begins.
            ("2026-11-28T09:00:00Z", Some("r3"), "outcome", "c", r#","attempt":0,"outcome":"cancelled""#),
        ];
        let mut log: String = lines
            .iter()
            .map(|&(ts, run, event, session, extra)| line(ts, run, event, session, extra))
            .collect();
        // A line that is not a record is skipped.
        log.insert_str(0, "not json\n");
        let all = runs(&log, &Filter::default());
        let ids: Vec<&str> = all.iter().map(|r| r.run.as_str()).collect();
        assert_eq!(ids, ["r1", "r2", "r3"]);
        let a = &all[0].sessions[0];
        assert_eq!(a.outcome, Some(Outcome::Transferred));
        assert_eq!(a.callback, Some(CallbackState::Ok));
        assert_eq!(a.verified.as_deref(), Some("verified"));
        assert_eq!(a.latency_ms, Some(5));
        assert_eq!(all[0].outcomes["transferred"], 1);
        assert_eq!(all[0].request_span_ms, Some(0));
        let b = &all[1].sessions[0];
        assert_eq!((b.outcome, b.callback), (Some(Outcome::Failed), None));
        assert_eq!(all[1].callbacks["none"], 1);
        assert_eq!(all[2].sessions[0].outcome, Some(Outcome::Cancelled));
        assert_eq!(all[2].first_request, None, "nothing was sent in r3");

        let since = Filter::parse_since("2026-11-28T03:00:01Z", Timestamp::now()).unwrap();
        let later = runs(
            &log,
            &Filter {
                since: Some(since),
                ..Filter::default()
            },
        );
        assert_eq!(
            later.iter().map(|r| r.run.as_str()).collect::<Vec<_>>(),
            ["r2", "r3"]
        );
        let one = runs(
            &log,
            &Filter {
                run: Some("r2".into()),
                ..Filter::default()
            },
        );
        assert_eq!(one.len(), 1);
        let other = runs(
            &log,
            &Filter {
                process: Some("p2".into()),
                ..Filter::default()
            },
        );
        assert!(other.is_empty());
    }

    #[test]
    fn since_takes_a_time_or_a_span_back() {
        let now: Timestamp = "2026-11-28T12:00:00Z".parse().unwrap();
        assert_eq!(
            Filter::parse_since("2h", now).unwrap().to_string(),
            "2026-11-28T10:00:00Z"
        );
        assert_eq!(
            Filter::parse_since("1d", now).unwrap().to_string(),
            "2026-11-27T12:00:00Z"
        );
        assert!(
            Filter::parse_since("last tuesday", now)
                .unwrap_err()
                .contains("RFC 3339")
        );
    }
}
