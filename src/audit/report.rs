//! The incident report, read from the audit log: per run, who moved what, when, to where, what the
//! platform answered and called back, and what the verification found.
//!
//! It streams, run by run: a run is kept only while it may still get lines (its callbacks and
//! verifications come after its last answer) and is written out `LINGER` after its last line, or at
//! the end of the file. Runs come out in the order they began, so memory holds the runs open at
//! once, not the file.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{self, BufRead, Write};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::dispatch::Origin;
use crate::listener::CallbackState;
use crate::outcome::Outcome;
use crate::request::Target;

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

/// One session of a run, as its lines tell it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionRow {
    #[serde(rename = "botSessionId")]
    pub session: String,
    pub from: Option<Origin>,
    pub to: Target,
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
    #[serde(skip)]
    index: HashMap<String, usize>,
    #[serde(skip)]
    last_seen: Timestamp,
}

/// The fields of a line the report reads; the rest (request and response bodies) is skipped.
#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(borrow)]
    ts: Cow<'a, str>,
    #[serde(borrow, default)]
    run: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    process: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    user: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    profile: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    host: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(rename = "botSessionId", borrow, default)]
    session: Option<Cow<'a, str>>,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    from: Option<Origin>,
    #[serde(default)]
    attempt: Option<u32>,
    #[serde(default)]
    outcome: Option<Outcome>,
    #[serde(default)]
    http_status: Option<u16>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
    #[serde(default)]
    latency_ms: Option<u64>,
    #[serde(default)]
    accepted: Option<bool>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    body: Option<&'a RawValue>,
    #[serde(borrow, default)]
    verified: Option<Cow<'a, str>>,
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
    mut reader: impl BufRead,
    filter: &Filter,
    mut emit: impl FnMut(RunReport) -> io::Result<()>,
) -> io::Result<Read> {
    let mut read = Read::default();
    let mut buf = Vec::with_capacity(1024);
    // Open runs by the order they began, and where each is.
    let mut open: BTreeMap<u64, RunReport> = BTreeMap::new();
    let mut order: HashMap<String, u64> = HashMap::new();
    let mut left_out: HashSet<String> = HashSet::new();
    // The open run each session was last attempted in, for lines that do not name their run.
    let mut session_run: HashMap<String, u64> = HashMap::new();
    let mut next = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        read.lines += 1;
        let Ok(entry) = serde_json::from_slice::<Entry>(trim_newline(&buf)) else {
            read.unreadable += 1;
            continue;
        };
        let Ok(at) = entry.ts.parse::<Timestamp>() else {
            read.unreadable += 1;
            continue;
        };
        let session = entry.session.as_deref();
        let key = match entry.run.as_deref() {
            Some(run) => match order.get(run) {
                Some(&k) => Some(k),
                None if left_out.contains(run) => None,
                None if starts_a_run(&entry) && filter.takes(run, &entry, at) => {
                    next += 1;
                    order.insert(run.to_string(), next);
                    open.insert(next, RunReport::new(run, &entry, at));
                    Some(next)
                }
                None => {
                    left_out.insert(run.to_string());
                    None
                }
            },
            None => session.and_then(|s| session_run.get(s).copied()),
        };
        if let Some(report) = key.and_then(|k| open.get_mut(&k)) {
            if entry.event == "attempt"
                && let Some(s) = session
            {
                session_run.insert(s.to_string(), key.expect("an open run"));
            }
            report.take(&entry, at);
        }
        // Runs nothing more can come to, oldest first: the rest wait behind an older one.
        while let Some(entry) = open.first_entry() {
            if at.duration_since(entry.get().last_seen) <= LINGER {
                break;
            }
            let (k, done) = entry.remove_entry();
            finish(done, k, &mut order, &mut session_run, &mut read, &mut emit)?;
        }
    }
    while let Some((k, done)) = open.pop_first() {
        finish(done, k, &mut order, &mut session_run, &mut read, &mut emit)?;
    }
    Ok(read)
}

fn finish(
    mut done: RunReport,
    key: u64,
    order: &mut HashMap<String, u64>,
    session_run: &mut HashMap<String, u64>,
    read: &mut Read,
    emit: &mut impl FnMut(RunReport) -> io::Result<()>,
) -> io::Result<()> {
    order.remove(&done.run);
    for s in &done.sessions {
        if session_run.get(&s.session) == Some(&key) {
            session_run.remove(&s.session);
        }
    }
    done.tally();
    read.runs += 1;
    emit(done)
}

fn trim_newline(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

/// A run begins with its first attempt, or with a session it cancelled before sending anything.
fn starts_a_run(entry: &Entry) -> bool {
    matches!(entry.event.as_ref(), "attempt" | "outcome") && entry.session.is_some()
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
        let text = |v: &Option<Cow<str>>| v.as_deref().map(str::to_string);
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
            index: HashMap::new(),
            last_seen: at,
        }
    }

    /// Takes one of its lines.
    fn take(&mut self, entry: &Entry, at: Timestamp) {
        self.last_seen = self.last_seen.max(at);
        let Some(session) = entry.session.as_deref() else {
            return;
        };
        let row = match self.index.get(session) {
            Some(&i) => &mut self.sessions[i],
            None => {
                let Some(target) = entry.target.clone() else {
                    return;
                };
                self.index.insert(session.to_string(), self.sessions.len());
                self.sessions.push(SessionRow {
                    session: session.to_string(),
                    from: None,
                    to: target,
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
                if self.first_request.is_none() {
                    self.first_request = Some(entry.ts.to_string());
                }
                self.last_request = Some(entry.ts.to_string());
                row.attempts = row.attempts.max(entry.attempt.unwrap_or(1));
                if entry.from.is_some() {
                    row.from = entry.from.clone();
                }
            }
            "outcome" => {
                row.outcome = entry.outcome;
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

    /// The counts, once every line is in.
    fn tally(&mut self) {
        let mut targets = BTreeSet::new();
        for s in &self.sessions {
            targets.insert(s.to.to_string());
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

/// Writes the report of every run `filter` takes, as `format`; returns what was read.
pub fn write_report(
    reader: impl BufRead,
    filter: &Filter,
    format: Format,
    source: &str,
    out: &mut impl Write,
) -> io::Result<Read> {
    match format {
        Format::Markdown => {
            writeln!(out, "# switchboard incident report\n")?;
            writeln!(out, "From the audit log `{}`.", cell(source))?;
            let read = each_run(reader, filter, |run| markdown(&run, out))?;
            if read.runs == 0 {
                writeln!(out, "\nNo run matches.")?;
            }
            Ok(read)
        }
        Format::Csv => {
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record(CSV_HEADER)?;
            let read = each_run(reader, filter, |run| {
                for s in &run.sessions {
                    csv.write_record(csv_row(&run, s))?;
                }
                Ok(())
            })?;
            csv.flush()?;
            Ok(read)
        }
        Format::Json => each_run(reader, filter, |run| {
            serde_json::to_writer(&mut *out, &run)?;
            writeln!(out)
        }),
    }
}

/// Writes one line per run: when, who, where, how many, what came of them.
pub fn write_runs(reader: impl BufRead, filter: &Filter, out: &mut impl Write) -> io::Result<Read> {
    writeln!(
        out,
        "{:<12}  {:<24}  {:<12}  {:<12}  {:>8}  {:>9}  outcomes · targets",
        "RUN", "STARTED", "USER", "PROFILE", "SESSIONS", "SPAN"
    )?;
    each_run(reader, filter, |run| {
        writeln!(
            out,
            "{:<12}  {:<24}  {:<12}  {:<12}  {:>8}  {:>9}  {} · {}",
            run.run,
            run.started,
            crate::format::printable(run.user.as_deref().unwrap_or("?")),
            crate::format::printable(run.profile.as_deref().unwrap_or("-")),
            run.sessions.len(),
            run.request_span_ms.map(span).unwrap_or_else(|| "-".into()),
            counts(&run.outcomes),
            crate::format::printable(&run.targets.join(", ")),
        )
    })
}

fn span(ms: i64) -> String {
    if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        crate::format::duration(std::time::Duration::from_millis(ms.max(0) as u64))
    }
}

/// `38 transferred, 1 rejected`.
fn counts(map: &BTreeMap<String, usize>) -> String {
    let mut pairs: Vec<(&String, &usize)> = map.iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    pairs
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text made safe for a Markdown table cell: one line, no control characters, no `|`.
fn cell(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::format::printable(&flat)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('`', "'")
}

fn origin(from: &Option<Origin>) -> String {
    match from {
        None => "unknown".into(),
        Some(o) if o.is_unknown() => "unknown".into(),
        Some(o) => {
            let mut parts = Vec::new();
            if let Some(q) = &o.queue {
                parts.push(format!("queue {q}"));
            }
            match (&o.agent, &o.agent_user) {
                (Some(a), _) => parts.push(format!("agent {a}")),
                (None, Some(u)) => parts.push(format!("agent {u}")),
                (None, None) => {}
            }
            parts.join(", ")
        }
    }
}

fn markdown(run: &RunReport, out: &mut impl Write) -> io::Result<()> {
    let or_dash = |v: &Option<String>| cell(v.as_deref().unwrap_or("-"));
    writeln!(out, "\n## Run {}\n", cell(&run.run))?;
    writeln!(
        out,
        "- **Who:** {} (process {})",
        or_dash(&run.user),
        or_dash(&run.process)
    )?;
    writeln!(
        out,
        "- **Where:** profile {}, host {}",
        or_dash(&run.profile),
        or_dash(&run.host)
    )?;
    let requests = match (&run.first_request, &run.last_request, run.request_span_ms) {
        (Some(first), Some(last), Some(ms)) => {
            format!("; requests from {first} to {last} ({})", span(ms))
        }
        _ => "; no request sent".into(),
    };
    writeln!(out, "- **When:** began {}{requests}", cell(&run.started))?;
    writeln!(out, "- **Target(s):** {}", cell(&run.targets.join(", ")))?;
    writeln!(
        out,
        "- **Sessions:** {}: {}",
        run.sessions.len(),
        counts(&run.outcomes)
    )?;
    writeln!(out, "- **Callbacks:** {}", counts(&run.callbacks))?;
    writeln!(out, "- **Verified:** {}", counts(&run.verified))?;
    writeln!(out)?;
    writeln!(
        out,
        "| Session | From | To | Outcome | HTTP | Server's message | Latency | Callback | Verified |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
    for s in &run.sessions {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&s.session),
            cell(&origin(&s.from)),
            cell(&s.to.to_string()),
            s.outcome
                .map(|o| o.as_str())
                .unwrap_or("no answer on record"),
            s.http_status.map(|h| h.to_string()).unwrap_or_default(),
            cell(&s.message),
            s.latency_ms
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_default(),
            s.callback.map(|c| c.as_str()).unwrap_or("none"),
            cell(s.verified.as_deref().unwrap_or("-")),
        )?;
    }
    Ok(())
}

const CSV_HEADER: [&str; 19] = [
    "run",
    "user",
    "process",
    "profile",
    "host",
    "started",
    "first_request",
    "last_request",
    "botSessionId",
    "from",
    "to",
    "outcome",
    "http_status",
    "message",
    "latency_ms",
    "attempts",
    "callback",
    "callback_status",
    "verified",
];

fn csv_row(run: &RunReport, s: &SessionRow) -> [String; 19] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        run.run.clone(),
        text(&run.user),
        text(&run.process),
        text(&run.profile),
        text(&run.host),
        run.started.clone(),
        text(&run.first_request),
        text(&run.last_request),
        s.session.clone(),
        origin(&s.from),
        s.to.to_string(),
        s.outcome
            .map(|o| o.as_str().to_string())
            .unwrap_or_default(),
        s.http_status.map(|h| h.to_string()).unwrap_or_default(),
        s.message.clone(),
        s.latency_ms.map(|l| l.to_string()).unwrap_or_default(),
        s.attempts.to_string(),
        s.callback
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        text(&s.callback_status),
        text(&s.verified),
    ]
}
