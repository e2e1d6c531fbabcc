//! The activity pane's entries: each request as it was sent (redacted), each response, each callback.
//! An entry is what `export` writes, one JSON line each.

use serde::Serialize;
use serde_json::Value;

use crate::listener::CallbackEvent;
use crate::outcome::Outcome;
use crate::request::{Preview, Target};

use super::table::Row;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActivityEntry {
    /// When it happened (RFC 3339, UTC).
    pub at: String,
    #[serde(rename = "botSessionId")]
    pub session: Option<String>,
    #[serde(flatten)]
    pub kind: ActivityKind,
    /// The name of the agent or queue the entry's move went to, as the panes knew it then.
    #[serde(rename = "targetName", skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// Unique within the run: entries have no id of their own.
    #[serde(skip)]
    pub seq: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActivityKind {
    Request {
        target: Target,
        attempt: u32,
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        body: Value,
    },
    Response {
        target: Target,
        attempt: u32,
        outcome: Outcome,
        http_status: Option<u16>,
        message: String,
        latency_ms: u64,
        response: Option<Value>,
        retry_in_ms: Option<u64>,
    },
    NotSent {
        target: Target,
        reason: String,
    },
    Callback {
        #[serde(flatten)]
        event: CallbackEvent,
    },
    Note {
        text: String,
    },
}

impl ActivityEntry {
    pub fn request(
        seq: usize,
        at: String,
        session: &str,
        target: &Target,
        attempt: u32,
        preview: &Preview,
    ) -> ActivityEntry {
        ActivityEntry {
            at,
            session: Some(session.to_string()),
            kind: ActivityKind::Request {
                target: target.clone(),
                attempt,
                method: preview.method.to_string(),
                url: preview.url.clone(),
                headers: preview
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
                body: serde_json::from_str(&preview.body)
                    .unwrap_or(Value::String(preview.body.clone())),
            },
            target_name: None,
            seq: seq.to_string(),
        }
    }

    pub fn new(
        seq: usize,
        at: String,
        session: Option<String>,
        kind: ActivityKind,
    ) -> ActivityEntry {
        ActivityEntry {
            at,
            session,
            kind,
            target_name: None,
            seq: seq.to_string(),
        }
    }

    /// The time of day in `zone`, for the list.
    pub fn clock(&self, zone: &jiff::tz::TimeZone) -> String {
        crate::format::clock_in(&self.at, zone)
    }

    /// The target as the list names it: by its name when the panes knew one (the id is in the
    /// detail), else by its id.
    fn target_text(&self, target: &Target) -> String {
        match &self.target_name {
            Some(name) => format!("{} {name}", target.kind.as_str()),
            None => target.to_string(),
        }
    }

    /// The target's id beside its name, for the detail.
    fn target_full(&self, target: &Target) -> String {
        match &self.target_name {
            Some(name) => format!("{target} ({name})"),
            None => target.to_string(),
        }
    }

    /// One line for the list.
    pub fn summary(&self) -> String {
        let session = self.session.as_deref().unwrap_or("-");
        match &self.kind {
            ActivityKind::Request {
                target,
                attempt,
                method,
                ..
            } => {
                let retry = if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                };
                let target = self.target_text(target);
                format!("→ {method} {session} to {target}{retry}")
            }
            ActivityKind::Response {
                target,
                outcome,
                http_status,
                message,
                latency_ms,
                retry_in_ms,
                ..
            } => {
                let target = self.target_text(target);
                let status = http_status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "---".into());
                let retry = retry_in_ms
                    .map(|ms| format!(", retry in {}", seconds(ms)))
                    .unwrap_or_default();
                // The cause's first line; the whole chain is in the detail.
                let message = match message.lines().next() {
                    Some(first) if !first.is_empty() => format!(": {first}"),
                    _ => String::new(),
                };
                format!(
                    "← {status} {outcome} {session} to {target} {latency_ms} ms{retry}{message}"
                )
            }
            ActivityKind::NotSent { target, reason } => {
                let target = self.target_text(target);
                format!("· not sent {session} to {target}: {reason}")
            }
            ActivityKind::Callback { event } => {
                if event.accepted {
                    let state = event.state();
                    let status = event.status.as_deref().unwrap_or("no status");
                    format!("↩ callback {session} {} ({status})", state.as_str())
                } else {
                    format!(
                        "↩ callback refused ({}): {} {}",
                        event.rejected.as_deref().unwrap_or("?"),
                        event.method,
                        event.path
                    )
                }
            }
            // A note's first line; the rest (an error's whole chain) is in the detail.
            ActivityKind::Note { text } => format!("· {}", text.lines().next().unwrap_or_default()),
        }
    }

    /// Everything, for the details view: headers and full bodies, pretty-printed.
    pub fn detail(&self, zone: &jiff::tz::TimeZone) -> Vec<String> {
        let when = crate::format::stamp_in(&self.at, zone);
        let mut out = vec![format!("{when}  {}", self.summary())];
        match &self.kind {
            ActivityKind::Request { target, .. }
            | ActivityKind::Response { target, .. }
            | ActivityKind::NotSent { target, .. } => {
                out.push(format!("to {}", self.target_full(target)))
            }
            _ => {}
        }
        out.push(String::new());
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
        match &self.kind {
            ActivityKind::Request {
                method,
                url,
                headers,
                body,
                ..
            } => {
                out.push(format!("{method} {url}"));
                out.extend(headers.iter().map(|(k, v)| format!("{k}: {v}")));
                out.push(String::new());
                out.extend(pretty(body).lines().map(str::to_owned));
            }
            ActivityKind::Response {
                response, message, ..
            } => {
                if !message.is_empty() {
                    out.push(format!("message: {message}"));
                    out.push(String::new());
                }
                match response {
                    Some(Value::String(text)) => out.extend(text.lines().map(str::to_owned)),
                    Some(v) => out.extend(pretty(v).lines().map(str::to_owned)),
                    None => out.push("(no response body)".into()),
                }
            }
            ActivityKind::NotSent { reason, .. } => out.push(reason.clone()),
            ActivityKind::Callback { event } => {
                out.push(format!("{} {}", event.method, event.path));
                if let Some(ct) = &event.content_type {
                    out.push(format!("content-type: {ct}"));
                }
                out.push(format!("answered {}", event.answered));
                out.push(String::new());
                match &event.body {
                    Value::String(text) => out.extend(text.lines().map(str::to_owned)),
                    v => out.extend(pretty(v).lines().map(str::to_owned)),
                }
            }
            ActivityKind::Note { text } => out.extend(text.lines().skip(1).map(str::to_owned)),
        }
        out
    }
}

fn seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

impl Row for ActivityEntry {
    fn id(&self) -> &str {
        &self.seq
    }

    fn haystack(&self) -> String {
        self.summary()
    }
}
