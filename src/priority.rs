//! Queue priority (Kore's Update Queue Priority): during a flood a supervisor raises a queue, and
//! lowers it again after. One PUT sets one or more queues (1–10), paced by the same budget as every
//! other call, and is on record before and after it leaves.
//!
//! Kore has no call that reads a queue's priority, so the value a change replaces is the one
//! switchboard last set for it (from the audit log), or `unknown`. Kore applies a change only while
//! "Dynamic Queue Reprioritization" is on in its settings, which no call can check either.

use std::io::BufRead;
use std::path::Path;

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use crate::api::{Api, KoreApi};
use crate::audit::AuditLog;
use crate::live::LiveClient;

/// The lowest and the highest priority Kore takes.
pub const LOWEST: u8 = 1;
pub const HIGHEST: u8 = 10;

/// What every confirmation of a change says, because no call can check it.
pub const TAKES_EFFECT: &str = "Kore applies it only while \"Dynamic Queue Reprioritization\" is on in its settings, which no call can check.";

/// The audit lines: before the call leaves, and what came of it.
pub const ATTEMPT_EVENT: &str = "queue_priority_attempt";
pub const EVENT: &str = "queue_priority";

/// One queue's new priority, and the one it replaces as far as switchboard knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub queue: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<String>,
    pub priority: u8,
    /// What switchboard last set for it; `unknown` when it never did (or a change's outcome was
    /// unknown since).
    #[serde(
        serialize_with = "known_or_unknown",
        deserialize_with = "read_known_or_unknown",
        default
    )]
    pub was: Option<u8>,
}

impl Change {
    /// The queue as a reader knows it: its name, else its id.
    pub fn queue_label(&self) -> &str {
        self.queue_name.as_deref().unwrap_or(&self.queue)
    }

    /// Whether it raises the queue: above what it was, or from a value nobody knows.
    pub fn raises(&self) -> bool {
        self.was.is_none_or(|was| self.priority > was)
    }

    /// `3 → 8`, `unknown → 8`.
    pub fn values(&self) -> String {
        let was = self
            .was
            .map_or_else(|| "unknown".to_string(), |w| w.to_string());
        format!("{was} → {}", self.priority)
    }

    /// `Billing 3 → 8`, `Billing unknown → 8`.
    pub fn describe(&self) -> String {
        format!("{} {}", self.queue_label(), self.values())
    }

    /// The change that sets it back, when what it replaced is known.
    pub fn undo(&self) -> Option<Change> {
        Some(Change {
            queue: self.queue.clone(),
            queue_name: self.queue_name.clone(),
            priority: self.was?,
            was: Some(self.priority),
        })
    }
}

fn known_or_unknown<S: Serializer>(was: &Option<u8>, s: S) -> Result<S::Ok, S::Error> {
    match was {
        Some(n) => s.serialize_u8(*n),
        None => s.serialize_str("unknown"),
    }
}

/// A number from 0 to 255, or none for anything else (`"unknown"`, a word): never a reason to
/// refuse the line it is in.
pub(crate) fn read_known_or_unknown<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<u8>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        _ => None,
    })
}

/// A priority as typed: a whole number from 1 to 10.
pub fn parse_priority(text: &str) -> Result<u8, String> {
    text.trim()
        .parse::<u8>()
        .ok()
        .filter(|n| (LOWEST..=HIGHEST).contains(n))
        .ok_or_else(|| {
            format!("priority {text:?} is not a whole number from {LOWEST} to {HIGHEST}")
        })
}

/// Where the call goes.
pub fn url(api: &Api) -> String {
    api.url("/queues/dynamicqueues/priorities")
}

/// The body Kore's page shows: `{"queuePriorityData":[{"queueId","priority"}]}`.
pub fn body(changes: &[Change]) -> Value {
    json!({
        "queuePriorityData": changes
            .iter()
            .map(|c| json!({"queueId": c.queue, "priority": c.priority}))
            .collect::<Vec<_>>()
    })
}

/// The exact call, for a confirmation: method, URL and body (no header, so no secret).
pub fn call_text(api: &Api, changes: &[Change]) -> String {
    format!(
        "PUT {}\n{}",
        url(api),
        serde_json::to_string(&body(changes)).unwrap_or_default()
    )
}

/// What a confirmation shows: each change with what it replaces and where that comes from, the
/// exact call, and the setting no call can check.
pub fn confirmation(api: &Api, changes: &[Change]) -> Vec<String> {
    let mut lines: Vec<String> = changes
        .iter()
        .map(|c| {
            let source = match c.was {
                Some(_) => "what switchboard last set; Kore has no call that reads it",
                None => "switchboard never set it, and Kore has no call that reads it",
            };
            format!(
                "Set the priority of {} ({}): {} ({source})",
                c.queue_label(),
                c.queue,
                c.values()
            )
        })
        .collect();
    lines.extend(call_text(api, changes).lines().map(|l| format!("  {l}")));
    lines.push(TAKES_EFFECT.to_string());
    lines
}

/// What came of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Kore answered that it updated the queue.
    Set,
    /// Kore refused it, or answered without the queue among those it updated.
    Failed { status: Option<u16>, why: String },
    /// No answer: it may or may not have been applied.
    Unknown { why: String },
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Set => "set",
            Outcome::Failed { .. } => "failed",
            Outcome::Unknown { .. } => "unknown",
        }
    }

    /// `set`, `failed (HTTP 403: …)`, `unknown (timed out)`.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Set => "set".into(),
            Outcome::Failed {
                status: Some(s),
                why,
            } => format!("failed (HTTP {s}: {why})"),
            Outcome::Failed { status: None, why } | Outcome::Unknown { why } => {
                format!("{} ({why})", self.as_str())
            }
        }
    }
}

#[derive(Serialize)]
struct Written<'a> {
    queue: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_name: Option<&'a str>,
    target: crate::request::Target,
    priority: u8,
    #[serde(serialize_with = "known_or_unknown")]
    was: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn line<'a>(change: &'a Change, outcome: Option<&'a Outcome>) -> Written<'a> {
    let (http_status, error) = match outcome {
        Some(Outcome::Failed { status, why }) => (*status, Some(crate::format::one_line(why))),
        Some(Outcome::Unknown { why }) => (None, Some(crate::format::one_line(why))),
        _ => (None, None),
    };
    Written {
        queue: &change.queue,
        queue_name: change.queue_name.as_deref(),
        target: crate::request::Target::queue(change.queue.clone()),
        priority: change.priority,
        was: change.was,
        outcome: outcome.map(Outcome::as_str),
        http_status,
        error,
    }
}

/// Sets `changes` in one call through the client's pacer, as run `run`. Each change is on record
/// before the call leaves (a record that cannot be written sends nothing) and with its outcome
/// after. A call refused for the rate limit was not applied, and is tried again as a read is.
pub async fn send(
    live: &LiveClient,
    audit: &AuditLog,
    run: &str,
    changes: &[Change],
) -> Result<Vec<Outcome>, String> {
    for change in changes {
        audit
            .record(Some(run), ATTEMPT_EVENT, &line(change, None))
            .map_err(|e| {
                format!(
                    "cannot write the audit log {}: {e}; nothing was sent",
                    audit.path().display()
                )
            })?;
    }
    let mut calls = 0;
    let answer = live
        .call_at(
            KoreApi::UpdateQueuePriority,
            Method::PUT,
            &url(live.api()),
            Some(body(changes)),
            &mut calls,
        )
        .await;
    let outcomes: Vec<Outcome> = match answer {
        Ok(bytes) => {
            // Kore's answer names the queues it updated; one it leaves out was not.
            let updated: Option<Vec<String>> = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| serde_json::from_value(v.get("updatedQueueIds")?.clone()).ok());
            changes
                .iter()
                .map(|c| match &updated {
                    Some(ids) if !ids.contains(&c.queue) => Outcome::Failed {
                        status: None,
                        why: "Kore's answer does not name the queue among those it updated".into(),
                    },
                    _ => Outcome::Set,
                })
                .collect()
        }
        Err(e) => {
            let outcome = match e.status {
                Some(status) => Outcome::Failed {
                    status: Some(status),
                    why: e.message.clone(),
                },
                None => Outcome::Unknown {
                    why: e.message.clone(),
                },
            };
            vec![outcome; changes.len()]
        }
    };
    for (change, outcome) in changes.iter().zip(&outcomes) {
        if let Err(e) = audit.record(Some(run), EVENT, &line(change, Some(outcome))) {
            tracing::error!(error = %e, "the priority outcome could not be written");
        }
    }
    Ok(outcomes)
}

#[derive(Deserialize)]
struct Recorded {
    event: String,
    #[serde(default)]
    ts: Option<String>,
    #[serde(default)]
    run: Option<String>,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    queue_name: Option<String>,
    #[serde(default)]
    priority: Option<u8>,
    #[serde(default, deserialize_with = "read_known_or_unknown")]
    was: Option<u8>,
    #[serde(default)]
    outcome: Option<String>,
}

/// The last change switchboard made — or may have made (outcome `unknown`) — to one queue, by
/// the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnRecord {
    pub change: Change,
    /// When it was recorded (the line's `ts`).
    pub at: String,
    /// `set` or `unknown`.
    pub outcome: String,
}

impl OnRecord {
    /// The queue's priority now, as far as switchboard knows: the one set, unless its outcome was
    /// unknown.
    pub fn priority_now(&self) -> Option<u8> {
        (self.outcome == "set").then_some(self.change.priority)
    }
}

/// Each queue's last change on record in the audit log at `path` (a failed one changed nothing).
/// A change whose attempt is on record without its outcome (the process died with the call on the
/// wire) may have been applied: it is `unknown`. Queues switchboard never changed are absent.
pub fn on_record(path: &Path) -> Result<std::collections::HashMap<String, OnRecord>, String> {
    let mut last: std::collections::HashMap<String, OnRecord> = std::collections::HashMap::new();
    // Each change on the wire (run, queue), with the queue's record before it: a failure puts
    // that back.
    let mut before: std::collections::HashMap<(Option<String>, String), Option<OnRecord>> =
        std::collections::HashMap::new();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(last),
        Err(e) => return Err(format!("cannot read the audit log {}: {e}", path.display())),
    };
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line =
            line.map_err(|e| format!("cannot read the audit log {}: {e}", path.display()))?;
        if memchr::memmem::find(&line, EVENT.as_bytes()).is_none() {
            continue;
        }
        let Some(r) = parse_line(&line) else {
            continue;
        };
        let queue = r.change.queue.clone();
        let on_wire = (r.run.clone(), queue.clone());
        let record = OnRecord {
            change: r.change,
            at: r.at,
            outcome: r.outcome.clone().unwrap_or_else(|| "unknown".into()),
        };
        match r.outcome.as_deref() {
            // The attempt: unknown until its outcome says otherwise.
            None => {
                before.insert(on_wire, last.insert(queue, record));
            }
            Some("failed") => match before.remove(&on_wire) {
                Some(Some(earlier)) => {
                    last.insert(queue, earlier);
                }
                Some(None) => {
                    last.remove(&queue);
                }
                None => {}
            },
            Some(_) => {
                before.remove(&on_wire);
                last.insert(queue, record);
            }
        }
    }
    Ok(last)
}

/// The priority switchboard last set for each queue, by the audit log at `path`: a change whose
/// outcome was unknown leaves it unknown. Queues switchboard never set are absent.
pub fn last_set(path: &Path) -> Result<std::collections::HashMap<String, Option<u8>>, String> {
    Ok(on_record(path)?
        .into_iter()
        .map(|(queue, r)| (queue, r.priority_now()))
        .collect())
}

/// A priority change as one audit line tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub at: String,
    pub run: Option<String>,
    pub change: Change,
    /// `set`, `failed` or `unknown`; none on the attempt, written before the call left.
    pub outcome: Option<String>,
}

/// A priority change's attempt or outcome line; `None` for any other line.
pub fn parse_line(line: &[u8]) -> Option<Line> {
    let r = serde_json::from_slice::<Recorded>(line).ok()?;
    let outcome = match r.event.as_str() {
        ATTEMPT_EVENT => None,
        EVENT => Some(r.outcome.unwrap_or_default()),
        _ => return None,
    };
    Some(Line {
        at: r.ts.unwrap_or_default(),
        run: r.run,
        change: Change {
            queue: r.queue?,
            queue_name: r.queue_name,
            priority: r.priority?,
            was: r.was,
        },
        outcome,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_priority_is_a_whole_number_from_one_to_ten() {
        assert_eq!(parse_priority("8"), Ok(8));
        assert_eq!(parse_priority(" 1 "), Ok(1));
        for bad in ["0", "11", "x", "-1", "2.5", ""] {
            assert!(parse_priority(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_value_replaced_is_written_as_a_number_or_unknown_and_read_back() {
        let known = Change {
            queue: "qu-1".into(),
            queue_name: Some("Billing".into()),
            priority: 8,
            was: Some(3),
        };
        let unknown = Change {
            was: None,
            ..known.clone()
        };
        let text = serde_json::to_string(&unknown).unwrap();
        assert!(text.contains(r#""was":"unknown""#), "{text}");
        assert_eq!(serde_json::from_str::<Change>(&text).unwrap(), unknown);
        let text = serde_json::to_string(&known).unwrap();
        assert_eq!(serde_json::from_str::<Change>(&text).unwrap(), known);
        assert_eq!(
            known.undo().map(|u| (u.priority, u.was)),
            Some((3, Some(8)))
        );
        assert_eq!(unknown.undo(), None);
        assert!(known.raises() && unknown.raises());
        assert!(!known.undo().unwrap().raises());
        assert_eq!(known.describe(), "Billing 3 → 8");
    }

    #[test]
    fn the_record_gives_each_queues_last_change_a_failed_one_changing_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let line = |q: &str, p: u8, was: Value, outcome: &str| {
            json!({"ts": "2026-11-29T03:00:00.000Z", "run": "r1", "event": EVENT, "queue": q,
                   "priority": p, "was": was, "outcome": outcome})
            .to_string()
        };
        let attempt = |run: &str, q: &str, p: u8| {
            json!({"ts": "2026-11-29T03:00:00.000Z", "run": run, "event": ATTEMPT_EVENT,
                   "queue": q, "priority": p, "was": "unknown"})
            .to_string()
        };
        let lines = [
            attempt("r1", "qu-1", 8),
            line("qu-1", 8, json!(3), "set"),
            // A failed change changed nothing: what was set before stands.
            attempt("r2", "qu-1", 2),
            line("qu-1", 2, json!(8), "failed").replace("\"r1\"", "\"r2\""),
            line("qu-2", 9, json!("unknown"), "unknown"),
            // An attempt with no outcome after it (the process died with the call on the wire)
            // may have been applied.
            attempt("r3", "qu-3", 5),
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        let record = on_record(&path).unwrap();
        assert_eq!(record.len(), 3);
        assert_eq!(record["qu-1"].change.priority, 8);
        assert_eq!(record["qu-1"].at, "2026-11-29T03:00:00.000Z");
        assert_eq!(record["qu-3"].outcome, "unknown");
        let last = last_set(&path).unwrap();
        assert_eq!(last["qu-1"], Some(8));
        assert_eq!(last["qu-2"], None, "an unknown outcome leaves it unknown");
        assert_eq!(last["qu-3"], None, "so does an attempt with no outcome");
        assert!(last_set(&dir.path().join("none")).unwrap().is_empty());
    }

    #[test]
    fn the_body_is_the_one_kores_page_shows() {
        let c = Change {
            queue: "qu-1".into(),
            queue_name: None,
            priority: 6,
            was: None,
        };
        assert_eq!(
            body(&[c]),
            json!({"queuePriorityData": [{"queueId": "qu-1", "priority": 6}]})
        );
    }
}
