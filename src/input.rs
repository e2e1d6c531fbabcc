//! Sessions, agents and queues from files (SPEC §3): CSV with a header row, a JSON array of objects, or
//! JSON Lines, chosen by extension, or by content for `-` (stdin) and other extensions.
//!
//! A file loads whole or not at all: the first bad row is an error naming the file, line and field, and
//! nothing of that file is kept. Blank lines and a UTF-8 BOM are fine; duplicate ids are merged with a
//! warning.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::ids::IdKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    JsonLines,
}

impl Format {
    /// The format for a file name, or `None` when only the content can tell.
    pub fn from_extension(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }

    pub fn sniff(text: &str) -> Format {
        match text.trim_start().chars().next() {
            Some('[') => Format::Json,
            Some('{') => Format::JsonLines,
            _ => Format::Csv,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: String,
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

/// What a file held, with the warnings (merged duplicates) to show.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub rows: Vec<T>,
    pub warnings: Vec<String>,
}

/// A session to move. `extra` keeps the file's other columns, in order, to show beside the id; the
/// column names are shared by every row of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub extra: Vec<(Arc<str>, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentRow {
    /// The `a-` agent id.
    pub id: String,
    pub name: String,
    pub status: Option<String>,
    pub queues: Option<String>,
    pub skills: Option<String>,
    /// The `u-` user id conversations name the agent by.
    pub user_id: Option<String>,
    /// Chats at once (`maxChatSupport`) and chats now (from live data).
    pub max_chats: Option<u64>,
    pub active_chats: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueRow {
    pub id: String,
    pub name: String,
    pub waiting: Option<u64>,
    pub engaged: Option<u64>,
    /// Average and longest wait, in milliseconds, from live data.
    pub avg_wait: Option<u64>,
    pub max_wait: Option<u64>,
    /// Its AVAILABLE agents, from live data (Queue Size's `agentStatus`).
    pub available: Option<u64>,
    /// `false` when the queue list says it is not active: never a target.
    pub active: Option<bool>,
}

/// One row of any format: its line in the file and its fields.
struct Record {
    line: usize,
    fields: Vec<(Arc<str>, Value)>,
}

impl Record {
    fn position(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|name| self.fields.iter().position(|(k, _)| &**k == *name))
    }

    fn get(&self, names: &[&str]) -> Option<(&str, &Value)> {
        self.position(names)
            .map(|i| (&*self.fields[i].0, &self.fields[i].1))
    }
}

/// The largest file read, in bytes (`max_input_mb`): `--sessions /dev/zero` ends at once, with an
/// error, rather than in gigabytes of memory. Set once at start from the settings.
static MAX_INPUT_BYTES: AtomicU64 = AtomicU64::new(DEFAULT_MAX_INPUT_MB * 1024 * 1024);
pub const DEFAULT_MAX_INPUT_MB: u64 = 64;
/// The longest value a field may hold: ids, names and notes are far shorter.
pub const MAX_FIELD_BYTES: usize = 1024;

pub fn set_max_input_mb(mb: u64) {
    MAX_INPUT_BYTES.store(mb.saturating_mul(1024 * 1024), Ordering::Relaxed);
}

const SESSION_ID: &[&str] = &["botSessionId", "sessionId", "id"];
const AGENT_ID: &[&str] = &["id", "aId", "agentId"];
const QUEUE_ID: &[&str] = &["id", "queueId"];

pub fn load_sessions(path: &Path) -> Result<Loaded<SessionRow>, LoadError> {
    let (name, text) = read(path)?;
    parse_sessions(&name, &text, format_for(path, &text))
}

pub fn load_agents(path: &Path) -> Result<Loaded<AgentRow>, LoadError> {
    let (name, text) = read(path)?;
    parse_agents(&name, &text, format_for(path, &text))
}

pub fn load_queues(path: &Path) -> Result<Loaded<QueueRow>, LoadError> {
    let (name, text) = read(path)?;
    parse_queues(&name, &text, format_for(path, &text))
}

pub fn parse_sessions(
    file: &str,
    text: &str,
    format: Format,
) -> Result<Loaded<SessionRow>, LoadError> {
    let mut rows = Vec::new();
    for_each_record(file, text, format, &mut |mut r| {
        let id = checked_id(file, &r, SESSION_ID, IdKind::Session)?;
        if let Some(i) = r.position(SESSION_ID) {
            r.fields.remove(i);
        }
        let extra = r
            .fields
            .into_iter()
            .map(|(k, v)| (k, display_owned(v)))
            .collect();
        rows.push((r.line, SessionRow { id, extra }));
        Ok(())
    })?;
    Ok(merge_duplicates(
        file,
        "botSessionId",
        rows,
        |row| &row.id,
        |first, later| {
            for (k, v) in later.extra {
                if !first.extra.iter().any(|(fk, _)| *fk == k) {
                    first.extra.push((k, v));
                }
            }
        },
    ))
}

pub fn parse_agents(file: &str, text: &str, format: Format) -> Result<Loaded<AgentRow>, LoadError> {
    let mut rows = Vec::new();
    for_each_record(file, text, format, &mut |r| {
        let id = checked_id(file, &r, AGENT_ID, IdKind::Agent)?;
        let max_chats = whole_number(file, &r, "maxChatSupport")?;
        let row = AgentRow {
            name: optional(&r, &["name"]).unwrap_or_default(),
            status: optional(&r, &["status"]),
            queues: optional(&r, &["queues"]),
            skills: optional(&r, &["skills"]),
            user_id: optional(&r, &["userId"]),
            max_chats,
            active_chats: None,
            id,
        };
        rows.push((r.line, row));
        Ok(())
    })?;
    Ok(merge_duplicates(file, "id", rows, |row| &row.id, |_, _| {}))
}

pub fn parse_queues(file: &str, text: &str, format: Format) -> Result<Loaded<QueueRow>, LoadError> {
    let mut rows = Vec::new();
    for_each_record(file, text, format, &mut |r| {
        let id = checked_id(file, &r, QUEUE_ID, IdKind::Queue)?;
        let row = QueueRow {
            name: optional(&r, &["name"]).unwrap_or_default(),
            waiting: whole_number(file, &r, "waiting")?,
            id,
            ..QueueRow::default()
        };
        rows.push((r.line, row));
        Ok(())
    })?;
    Ok(merge_duplicates(file, "id", rows, |row| &row.id, |_, _| {}))
}

/// A file's text, as every input is read: at most `max_input_mb`, UTF-8, the error naming the file.
pub fn read_text(path: &Path) -> Result<String, String> {
    read(path).map(|(_, text)| text).map_err(|e| e.to_string())
}

fn read(path: &Path) -> Result<(String, String), LoadError> {
    let name = if path == Path::new("-") {
        "stdin".to_string()
    } else {
        path.display().to_string()
    };
    let failed = |message: String| LoadError {
        file: name.clone(),
        line: None,
        field: None,
        message,
    };
    let source: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| failed(format!("cannot read: {e}")))?)
    };
    // One byte past the limit is enough to know the file is too large.
    let limit = MAX_INPUT_BYTES.load(Ordering::Relaxed);
    let mut bytes = Vec::new();
    source
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| failed(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(failed(format!(
            "larger than max_input_mb ({} MB): not read",
            limit / (1024 * 1024)
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        LoadError {
            file: name.clone(),
            line: Some(line),
            field: None,
            message: "not UTF-8 text".into(),
        }
    })?;
    Ok((name, text))
}

fn format_for(path: &Path, text: &str) -> Format {
    Format::from_extension(path).unwrap_or_else(|| Format::sniff(text))
}

/// Hands each row of the file to `visit` as it is read, so a large file is never held twice.
fn for_each_record(
    file: &str,
    text: &str,
    format: Format,
    visit: &mut dyn FnMut(Record) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    // No field is longer than MAX_FIELD_BYTES.
    let visit = &mut |record: Record| -> Result<(), LoadError> {
        for (name, value) in &record.fields {
            let len = match value {
                Value::String(s) => s.len(),
                Value::Null | Value::Bool(_) | Value::Number(_) => 0,
                other => other.to_string().len(),
            };
            if len > MAX_FIELD_BYTES {
                return Err(LoadError {
                    file: file.into(),
                    line: Some(record.line),
                    field: Some(name.to_string()),
                    message: format!("{len} bytes, more than a field may hold ({MAX_FIELD_BYTES})"),
                });
            }
        }
        visit(record)
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let err = |line: Option<usize>, message: String| LoadError {
        file: file.into(),
        line,
        field: None,
        message,
    };
    // JSON rows name their own fields; one shared copy of each name serves them all.
    let mut names: HashMap<String, Arc<str>> = HashMap::new();
    let mut object = |line: usize, value: Value| -> Result<Record, LoadError> {
        match value {
            Value::Object(map) => Ok(Record {
                line,
                fields: map
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            names
                                .entry(k)
                                .or_insert_with_key(|k| Arc::from(k.as_str()))
                                .clone(),
                            v,
                        )
                    })
                    .collect(),
            }),
            other => Err(err(
                Some(line),
                format!("expected an object, found {}", kind_of(&other)),
            )),
        }
    };
    match format {
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(text.as_bytes());
            let headers: Vec<Arc<str>> = reader
                .headers()
                .map_err(|e| err(e.position().map(|p| p.line() as usize), e.to_string()))?
                .iter()
                .map(Arc::from)
                .collect();
            // A repeated column would make one of its values vanish.
            for (i, h) in headers.iter().enumerate() {
                if headers[..i].contains(h) {
                    return Err(LoadError {
                        file: file.into(),
                        line: Some(1),
                        field: Some(h.to_string()),
                        message: "the header names this column twice".into(),
                    });
                }
            }
            let mut record = csv::StringRecord::new();
            loop {
                match reader.read_record(&mut record) {
                    Ok(false) => return Ok(()),
                    Ok(true) => {}
                    Err(e) => {
                        let message = match e.kind() {
                            csv::ErrorKind::UnequalLengths {
                                expected_len, len, ..
                            } => {
                                format!("{len} fields where the header has {expected_len}")
                            }
                            _ => e.to_string(),
                        };
                        return Err(err(e.position().map(|p| p.line() as usize), message));
                    }
                }
                let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
                let fields = headers
                    .iter()
                    .cloned()
                    .zip(record.iter().map(|v| Value::String(v.to_string())))
                    .collect();
                visit(Record { line, fields })?;
            }
        }
        Format::JsonLines => {
            for (i, line_text) in text.lines().enumerate() {
                if line_text.trim().is_empty() {
                    continue;
                }
                let value: Value = serde_json::from_str(line_text)
                    .map_err(|e| err(Some(i + 1), format!("not valid JSON: {e}")))?;
                visit(object(i + 1, value)?)?;
            }
            Ok(())
        }
        Format::Json => {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| err(Some(e.line()), format!("not valid JSON: {e}")))?;
            let Value::Array(items) = value else {
                return Err(err(Some(1), "expected a JSON array of objects".into()));
            };
            let lines = element_lines(text);
            for (i, item) in items.into_iter().enumerate() {
                visit(object(lines.get(i).copied().unwrap_or(1), item)?)?;
            }
            Ok(())
        }
    }
}

/// The line on which each top-level element of a JSON array starts (serde_json's values carry no
/// positions, and an error must name the line).
fn element_lines(text: &str) -> Vec<usize> {
    let (mut lines, mut line, mut depth) = (Vec::new(), 1, 0usize);
    let (mut in_string, mut escaped, mut expecting) = (false, false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if depth == 1 && expecting && !c.is_whitespace() && c != ']' {
            lines.push(line);
            expecting = false;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 {
                    expecting = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expecting = true,
            _ => {}
        }
    }
    lines
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `display`, moving a string out rather than copying it.
fn display_owned(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => display(&other),
    }
}

/// A value as it is shown: strings as they are, lists joined with commas, other JSON as JSON.
fn display(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        Value::Object(map) => map
            .get("name")
            .or_else(|| map.get("id"))
            .map(display)
            .unwrap_or_else(|| v.to_string()),
        other => other.to_string(),
    }
}

/// The row's id, which must be one that can be sent as `kind` (`IdKind::refusal`).
fn checked_id(
    file: &str,
    record: &Record,
    names: &[&str],
    kind: IdKind,
) -> Result<String, LoadError> {
    let (key, id) = required_id(file, record, names)?;
    match kind.refusal(&id) {
        Some(why) => Err(LoadError {
            file: file.into(),
            line: Some(record.line),
            field: Some(key.into()),
            message: why,
        }),
        None => Ok(id),
    }
}

fn required_id<'r>(
    file: &str,
    record: &'r Record,
    names: &[&str],
) -> Result<(&'r str, String), LoadError> {
    let err = |field: &str, message: String| LoadError {
        file: file.into(),
        line: Some(record.line),
        field: Some(field.into()),
        message,
    };
    let Some((key, value)) = record.get(names) else {
        let also = names[1..].join(", ");
        return Err(err(names[0], format!("missing (also accepted: {also})")));
    };
    match value {
        Value::String(s) if !s.trim().is_empty() => Ok((key, s.trim().to_string())),
        Value::String(_) => Err(err(key, "empty".into())),
        other => Err(err(
            key,
            format!("must be a string, found {}", kind_of(other)),
        )),
    }
}

/// An optional whole-number field; anything else in it is an error naming the field.
fn whole_number(file: &str, record: &Record, name: &str) -> Result<Option<u64>, LoadError> {
    match optional(record, &[name]) {
        None => Ok(None),
        Some(w) => w.parse::<u64>().map(Some).map_err(|_| LoadError {
            file: file.into(),
            line: Some(record.line),
            field: Some(name.into()),
            message: format!("{w:?} is not a whole number"),
        }),
    }
}

fn optional(record: &Record, names: &[&str]) -> Option<String> {
    record
        .get(names)
        .map(|(_, v)| display(v))
        .filter(|s| !s.trim().is_empty())
}

fn merge_duplicates<T>(
    file: &str,
    id_name: &str,
    rows: Vec<(usize, T)>,
    id: impl Fn(&T) -> &String,
    merge: impl Fn(&mut T, T),
) -> Loaded<T> {
    let mut out: Vec<T> = Vec::with_capacity(rows.len());
    let mut first_seen: HashMap<String, (usize, usize)> = HashMap::with_capacity(rows.len());
    let mut warnings = Vec::new();
    for (line, row) in rows {
        match first_seen.get(id(&row)) {
            Some(&(index, first_line)) => {
                warnings.push(format!(
                    "{file} line {line}: duplicate {id_name} {} (first on line {first_line}); merged",
                    id(&row)
                ));
                merge(&mut out[index], row);
            }
            None => {
                first_seen.insert(id(&row).clone(), (out.len(), line));
                out.push(row);
            }
        }
    }
    Loaded {
        rows: out,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(loaded: &Loaded<SessionRow>) -> Vec<&str> {
        loaded.rows.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn csv_with_bom_blank_lines_and_extra_columns() {
        let text = "\u{feff}botSessionId,customer\n\n6538f8a3c9cf425ee5cf0001, Ann \n\n6538f8a3c9cf425ee5cf0002,Bo\n";
        let loaded = parse_sessions("s.csv", text, Format::Csv).unwrap();
        assert_eq!(
            ids(&loaded),
            ["6538f8a3c9cf425ee5cf0001", "6538f8a3c9cf425ee5cf0002"]
        );
        assert_eq!(
            loaded.rows[0].extra,
            vec![(Arc::from("customer"), "Ann".to_string())]
        );
    }

    #[test]
    fn accepted_id_column_names() {
        for header in ["botSessionId", "sessionId", "id"] {
            let loaded = parse_sessions("s.csv", &format!("{header}\nabc\n"), Format::Csv).unwrap();
            assert_eq!(ids(&loaded), ["abc"]);
        }
    }

    #[test]
    fn csv_errors_name_file_line_and_field() {
        let e = parse_sessions("s.csv", "botSessionId,x\na,1\n,2\n", Format::Csv).unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(3), Some("botSessionId"))
        );
        assert_eq!(e.to_string(), "s.csv line 3, field botSessionId: empty");
        let e = parse_sessions("s.csv", "customer\nAnn\n", Format::Csv).unwrap_err();
        assert!(e.to_string().contains("field botSessionId: missing"), "{e}");
        let e = parse_sessions("s.csv", "botSessionId,x\na,1\nb,2,3\n", Format::Csv).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
    }

    #[test]
    fn json_array_errors_name_the_elements_line() {
        let text = "[\n  {\"botSessionId\": \"a\"},\n  {\"botSessionId\": \"b\",\n   \"note\": \"x]{\"},\n  {\"botSessionId\": 7}\n]\n";
        let e = parse_sessions("s.json", text, Format::Json).unwrap_err();
        assert_eq!(
            e.to_string(),
            "s.json line 5, field botSessionId: must be a string, found a number"
        );
        let e = parse_sessions("s.json", "[\n{\"a\": 1},\n", Format::Json).unwrap_err();
        assert!(
            e.to_string().starts_with("s.json line 3: not valid JSON"),
            "{e}"
        );
    }

    #[test]
    fn json_lines_skip_blank_lines_and_name_bad_ones() {
        let loaded = parse_sessions(
            "s.jsonl",
            "{\"sessionId\":\"a\"}\n\n{\"id\":\"b\",\"n\":[1,2]}\n",
            Format::JsonLines,
        )
        .unwrap();
        assert_eq!(ids(&loaded), ["a", "b"]);
        assert_eq!(
            loaded.rows[1].extra,
            vec![(Arc::from("n"), "1, 2".to_string())]
        );
        let e =
            parse_sessions("s.jsonl", "{\"id\":\"a\"}\n\n[1]\n", Format::JsonLines).unwrap_err();
        assert_eq!(
            e.to_string(),
            "s.jsonl line 3: expected an object, found an array"
        );
    }

    #[test]
    fn duplicates_merge_with_a_warning() {
        let loaded = parse_sessions("s.csv", "id,a\nx,1\ny,2\nx,3\n", Format::Csv).unwrap();
        assert_eq!(ids(&loaded), ["x", "y"]);
        assert_eq!(
            loaded.warnings,
            ["s.csv line 4: duplicate botSessionId x (first on line 2); merged"]
        );
    }

    #[test]
    fn agents_and_queues() {
        let agents = parse_agents(
            "a.json",
            r#"[{"aId":"a-8cd2673-0cb7-462d-9453-0ee60e520001","name":"Alice","status":"AVAILABLE","queues":["Billing","Sales"]}]"#,
            Format::Json,
        )
        .unwrap();
        assert_eq!(agents.rows[0].name, "Alice");
        assert_eq!(agents.rows[0].queues.as_deref(), Some("Billing, Sales"));
        let queues = parse_queues(
            "q.csv",
            "queueId,name,waiting\nqu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001,Billing,4\n",
            Format::Csv,
        )
        .unwrap();
        assert_eq!(queues.rows[0].waiting, Some(4));
        let e = parse_queues(
            "q.csv",
            "queueId,name,waiting\nqu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001,Billing,many\n",
            Format::Csv,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "q.csv line 2, field waiting: \"many\" is not a whole number"
        );
    }

    #[test]
    fn ids_that_cannot_be_sent_stop_the_file_at_their_line() {
        let e = parse_sessions(
            "s.csv",
            "botSessionId\n6538f8a3c9cf425ee5cf0001\nhello world\n",
            Format::Csv,
        )
        .unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(3), Some("botSessionId"))
        );
        assert!(e.message.contains("a space"), "{e}");
        // An agents file loaded as sessions is refused at its first row.
        let agents_file = "id,name\na-8cd2673-0cb7-462d-9453-0ee60e520001,Alice\n";
        let e = parse_sessions("agents.csv", agents_file, Format::Csv).unwrap_err();
        assert!(
            e.to_string().starts_with("agents.csv line 2, field id:")
                && e.message.contains("not a session id"),
            "{e}"
        );
        let e = parse_queues("q.csv", "id,name\nqu-nope,Billing\n", Format::Csv).unwrap_err();
        assert!(e.message.contains("not Kore's shape"), "{e}");
        let e = parse_agents(
            "a.csv",
            "id\nu-8cd2673-0cb7-462d-9453-0ee60e520001\n",
            Format::Csv,
        )
        .unwrap_err();
        assert!(e.message.contains("user id"), "{e}");
    }

    #[test]
    fn format_by_extension_or_content() {
        assert_eq!(
            Format::from_extension(Path::new("x.NDJSON")),
            Some(Format::JsonLines)
        );
        assert_eq!(Format::from_extension(Path::new("x.txt")), None);
        assert_eq!(Format::sniff("  [ {}"), Format::Json);
        assert_eq!(Format::sniff("{}\n{}"), Format::JsonLines);
        assert_eq!(Format::sniff("botSessionId\n"), Format::Csv);
    }

    #[test]
    fn files_that_cannot_be_read_are_named() {
        let e = load_sessions(Path::new("/nonexistent/s.csv")).unwrap_err();
        assert!(
            e.to_string().starts_with("/nonexistent/s.csv: cannot read"),
            "{e}"
        );
    }
}
