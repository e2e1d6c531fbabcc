//! The incident report, read from the audit log: per run, who moved what, when, to where, what the
//! platform answered and called back, and what the verification found.
//!
//! It streams, run by run: a run is kept only while it may still get lines (its callbacks and
//! verifications come after its last answer) and is written out `LINGER` after its last line, or at
//! the end of the file. Runs come out in the order they began, so memory holds the runs open at
//! once, not the file.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{self, Write};

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
    ts: Text<'a>,
    #[serde(borrow, default)]
    run: Option<Text<'a>>,
    #[serde(borrow, default)]
    process: Option<Text<'a>>,
    #[serde(borrow, default)]
    user: Option<Text<'a>>,
    #[serde(borrow, default)]
    profile: Option<Text<'a>>,
    #[serde(borrow, default)]
    host: Option<Text<'a>>,
    #[serde(borrow)]
    event: Text<'a>,
    #[serde(rename = "botSessionId", borrow, default)]
    session: Option<Text<'a>>,
    #[serde(borrow, default)]
    target: Option<TargetRef<'a>>,
    #[serde(default)]
    from: Option<Origin>,
    #[serde(default)]
    attempt: Option<u32>,
    #[serde(default)]
    outcome: Option<Outcome>,
    #[serde(default)]
    http_status: Option<u16>,
    #[serde(borrow, default)]
    message: Option<Text<'a>>,
    #[serde(default)]
    latency_ms: Option<u64>,
    #[serde(default)]
    accepted: Option<bool>,
    #[serde(borrow, default)]
    status: Option<Text<'a>>,
    #[serde(borrow, default)]
    body: Option<&'a RawValue>,
    #[serde(borrow, default)]
    verified: Option<Text<'a>>,
}

impl<'a> Entry<'a> {
    /// The entry read the quick way: the line's top-level members are found by scanning, and only
    /// the values the report reads are decoded; none when the line is not a plain JSON object (the
    /// full parser then reads it).
    fn scan(line: &'a str) -> Option<Entry<'a>> {
        let mut e = Entry {
            ts: Text(Cow::Borrowed("")),
            run: None,
            process: None,
            user: None,
            profile: None,
            host: None,
            event: Text(Cow::Borrowed("")),
            session: None,
            target: None,
            from: None,
            attempt: None,
            outcome: None,
            http_status: None,
            message: None,
            latency_ms: None,
            accepted: None,
            status: None,
            body: None,
            verified: None,
        };
        let (mut has_ts, mut has_event) = (false, false);
        let mut ok = true;
        let decoded = members(line, |key, raw| {
            let text = || Text::decode(raw);
            let value = |v: Option<Text<'a>>, ok: &mut bool| {
                *ok &= v.is_some() || raw == "null";
                v
            };
            match key {
                "ts" => match Text::decode(raw) {
                    Some(t) => (e.ts, has_ts) = (t, true),
                    None => ok = false,
                },
                "event" => match Text::decode(raw) {
                    Some(t) => (e.event, has_event) = (t, true),
                    None => ok = false,
                },
                "run" => e.run = value(text(), &mut ok),
                "process" => e.process = value(text(), &mut ok),
                "user" => e.user = value(text(), &mut ok),
                "profile" => e.profile = value(text(), &mut ok),
                "host" => e.host = value(text(), &mut ok),
                "botSessionId" => e.session = value(text(), &mut ok),
                "message" => e.message = value(text(), &mut ok),
                "status" => e.status = value(text(), &mut ok),
                "verified" => e.verified = value(text(), &mut ok),
                "target" => e.target = serde_json::from_str(raw).ok()?,
                "from" => e.from = serde_json::from_str(raw).ok()?,
                "attempt" => e.attempt = serde_json::from_str(raw).ok()?,
                "outcome" => e.outcome = serde_json::from_str(raw).ok()?,
                "http_status" => e.http_status = serde_json::from_str(raw).ok()?,
                "latency_ms" => e.latency_ms = serde_json::from_str(raw).ok()?,
                "accepted" => e.accepted = serde_json::from_str(raw).ok()?,
                "body" => e.body = serde_json::from_str(raw).ok()?,
                _ => {}
            }
            Some(())
        });
        (decoded.is_some() && ok && has_ts && has_event).then_some(e)
    }
}

/// Calls `each` with the key and the raw value of each top-level member of a one-line JSON object;
/// none when the line is not one (or `each` says no). Strings are skipped by their quotes and
/// escapes, nested values by their brackets; nothing else is decoded.
fn members<'a>(line: &'a str, mut each: impl FnMut(&'a str, &'a str) -> Option<()>) -> Option<()> {
    let b = line.as_bytes();
    let ws = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut i = ws(0);
    (b.get(i) == Some(&b'{')).then_some(())?;
    i = ws(i + 1);
    if b.get(i) == Some(&b'}') {
        return (ws(i + 1) == b.len()).then_some(());
    }
    loop {
        (b.get(i) == Some(&b'"')).then_some(())?;
        let key_end = string_end(b, i)?;
        let key = &line[i + 1..key_end - 1];
        // A key with an escape is none the report reads; the full parser handles the line.
        (!key.contains('\\')).then_some(())?;
        i = ws(key_end);
        (b.get(i) == Some(&b':')).then_some(())?;
        i = ws(i + 1);
        let start = i;
        i = value_end(b, i)?;
        each(key, &line[start..i])?;
        i = ws(i);
        match b.get(i) {
            Some(b',') => i = ws(i + 1),
            Some(b'}') => return (ws(i + 1) == b.len()).then_some(()),
            _ => return None,
        }
    }
}

/// Where the string starting at `i` (its opening quote) ends: just past its closing quote.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    // A plain loop: the strings here are short, shorter than a vector search pays off for.
    let mut j = i + 1;
    loop {
        match b.get(j)? {
            b'"' => return Some(j + 1),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
}

/// Where the value starting at `i` ends.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let end = b[i..]
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace())
                .map_or(b.len(), |p| i + p);
            (end > i).then_some(end)
        }
    }
}

/// A string of a line, borrowed from it unless it holds an escape (serde copies every
/// `Option<Cow<str>>`; this is the borrowing kind).
struct Text<'a>(Cow<'a, str>);

impl<'a> Text<'a> {
    /// A raw JSON string value: borrowed when it holds no escape; none when it is not a string.
    fn decode(raw: &'a str) -> Option<Text<'a>> {
        let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
        if !inner.contains('\\') {
            return Some(Text(Cow::Borrowed(inner)));
        }
        serde_json::from_str::<String>(raw)
            .ok()
            .map(|s| Text(Cow::Owned(s)))
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Borrowing;
        impl<'de> serde::de::Visitor<'de> for Borrowing {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(Borrowing).map(Text)
    }
}

/// A target as a line holds it, read without copying; a `Target` only for a session's first line.
#[derive(Deserialize)]
struct TargetRef<'a> {
    #[serde(rename = "type")]
    kind: crate::request::TargetKind,
    #[serde(borrow)]
    id: Cow<'a, str>,
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
    reader: impl io::Read,
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
pub fn write_runs(
    reader: impl io::Read,
    filter: &Filter,
    out: &mut impl Write,
) -> io::Result<Read> {
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

/// Text made safe for a Markdown table cell: one line, no control characters, no `|`. Most text
/// (ids, words) is safe as it is and is not copied.
fn cell(text: &str) -> Cow<'_, str> {
    let plain = text
        .bytes()
        .all(|b| (0x21..0x7f).contains(&b) && !b"|\\`".contains(&b) || b == b' ')
        && !text.starts_with(' ')
        && !text.ends_with(' ')
        && !text.contains("  ");
    if plain {
        return Cow::Borrowed(text);
    }
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::format::printable(&flat)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('`', "'")
        .into()
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
    fn or_dash(v: &Option<String>) -> Cow<'_, str> {
        cell(v.as_deref().unwrap_or("-"))
    }
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
        cell(run.profile.as_deref().unwrap_or("(none)")),
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

/// The server's words as a CSV cell a spreadsheet will not run: one that starts like a formula
/// gets a leading `'`.
fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

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
        inert(&s.message),
        s.latency_ms.map(|l| l.to_string()).unwrap_or_default(),
        s.attempts.to_string(),
        s.callback
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        inert(s.callback_status.as_deref().unwrap_or_default()),
        text(&s.verified),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a line says, as a test compares it.
    fn said(e: &Entry) -> String {
        let t = |v: &Option<Text>| v.as_deref().map(str::to_string);
        format!(
            "{:?}",
            (
                (&*e.ts, &*e.event, t(&e.run), t(&e.process)),
                (t(&e.user), t(&e.profile), t(&e.host), t(&e.session)),
                e.target.as_ref().map(|t| (t.kind, t.id.to_string())),
                &e.from,
                (
                    e.attempt,
                    e.outcome,
                    e.http_status,
                    e.latency_ms,
                    e.accepted
                ),
                (t(&e.message), t(&e.status), t(&e.verified)),
                e.body.map(|b| b.get().to_string()),
            )
        )
    }

    #[test]
    fn the_quick_reading_of_a_line_is_the_full_parsers() {
        let lines = [
            r#"{"ts":"2026-11-28T03:00:00.000Z","run":"r1","process":"p","user":"sup","profile":"prod","host":"https://h","event":"attempt","botSessionId":"s1","target":{"type":"queue","id":"qu-1"},"from":{"queue":"qu-0","agent":"a-1","agent_user":"u-1"},"attempt":2,"method":"POST","url":"https://h/x","body":{"callbackUrl":"https://t/cb/s1?t=<redacted>","n":[1,{"a":"}"}]},"seq":3,"prev":"00"}"#,
            r#"{"ts":"2026-11-28T03:00:01Z","run":"r1","event":"outcome","botSessionId":"s1","target":{"type":"agent","id":"a-2"},"attempt":1,"outcome":"rejected","http_status":404,"message":"said \"no\"\nthen | more \\ \u00e9","latency_ms":12,"response":{"errors":[{"msg":"x,}]"}]}}"#,
            r#"{ "ts" : "2026-11-28T03:00:02Z" , "run" : null , "event" : "callback" , "botSessionId" : "s1" , "accepted" : true , "status" : "transferred" , "body" : { "status" : "transferred" } }"#,
            r#"{"ts":"2026-11-28T03:00:03Z","event":"verify","botSessionId":"s1","verified":"not moved","detail":"in queue","profile":null}"#,
        ];
        for line in lines {
            let quick = Entry::scan(line).unwrap_or_else(|| panic!("not read quickly: {line}"));
            let full: Entry = serde_json::from_str(line).unwrap();
            assert_eq!(said(&quick), said(&full), "{line}");
        }
        // What is not one plain object is left to the full parser.
        for bad in [
            r#"[1,2]"#,
            r#"{"ts":"x","event":"a"} trailing"#,
            r#"{"ts":"x","event":"a""#,
            r#"{"ts":"x","event":"a","run":5}"#,
            r#"{"ts":"x","event":"a","attempt":"two"}"#,
            r#"{"event":"a"}"#,
        ] {
            assert!(Entry::scan(bad).is_none(), "{bad}");
        }
    }

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

    #[test]
    fn a_csv_cell_cannot_be_a_formula() {
        assert_eq!(inert("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(inert("Session not found"), "Session not found");
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(cell("plain words"), "plain words");
        assert_eq!(cell("a|b\nc\x1b[2J  d"), r"a\|b c\\u{1b}[2J d");
    }
}
