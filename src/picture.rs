//! One picture of the account: every attempt, outcome, callback and verification of every
//! switchboard process is also published to a capped stream in the shared store, so each
//! supervisor sees what the others just did (`switchboard watch`, the console's Activity).
//!
//! What is published is a projection of the audit line: who, which session, where to, what came of
//! it. Never a body, a message text, a token or a header.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::request::Target;
use crate::store::SharedStore;

/// The stream's length, roughly: older events give way.
pub const STREAM_MAX: usize = 10_000;

/// Events waiting to be published; past this, they are dropped and counted (the audit log keeps
/// them all).
const BACKLOG: usize = 4096;

/// One event of the account, as the stream carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedEvent {
    /// `attempt`, `outcome`, `callback`, `verify`, `claims_released`, `queue_priority`.
    pub event: String,
    /// When it happened (RFC 3339, as the audit line says).
    pub at: String,
    /// `user@host` of the process.
    pub who: String,
    /// The process (its audit lines' `process`).
    pub process: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    #[serde(
        rename = "botSessionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// A callback's `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A callback the listener accepted (its token was right).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<String>,
    /// The priority a `queue_priority` event set (its `target` is the queue), and the one it
    /// replaced when that was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub was: Option<u8>,
}

impl SharedEvent {
    /// The event an audit line makes, from its JSON: only the fields above are taken.
    pub fn from_line(line: &Value, who: &str) -> Option<SharedEvent> {
        let text = |k: &str| line.get(k).and_then(Value::as_str).map(str::to_string);
        let small = |k: &str| {
            line.get(k)
                .and_then(Value::as_u64)
                .and_then(|n| u8::try_from(n).ok())
        };
        let event = text("event")?;
        if !matches!(
            event.as_str(),
            "attempt" | "outcome" | "callback" | "verify" | "claims_released" | "queue_priority"
        ) {
            return None;
        }
        Some(SharedEvent {
            at: text("ts").unwrap_or_default(),
            who: who.to_string(),
            process: text("process").unwrap_or_default(),
            run: text("run"),
            session: text("botSessionId"),
            target: line
                .get("target")
                .and_then(|t| serde_json::from_value(t.clone()).ok()),
            outcome: text("outcome"),
            http_status: line
                .get("http_status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok()),
            status: (event == "callback").then(|| text("status")).flatten(),
            accepted: line.get("accepted").and_then(Value::as_bool),
            verified: text("verified"),
            priority: small("priority"),
            was: small("was"),
            event,
        })
    }

    /// One line for a reader: `bob@laptop2 → queue qu-… 6538…0001: transferred`.
    pub fn describe(&self) -> String {
        let session = self.session.as_deref().unwrap_or("-");
        let to = self
            .target
            .as_ref()
            .map(|t| format!(" → {t}"))
            .unwrap_or_default();
        let what = match self.event.as_str() {
            "attempt" => "sending".to_string(),
            "outcome" => self.outcome.clone().unwrap_or_default(),
            "callback" => format!("callback {}", self.status.as_deref().unwrap_or("-")),
            "verify" => self.verified.clone().unwrap_or_default(),
            "queue_priority" => format!(
                "priority {} {}",
                self.priority.map(|p| p.to_string()).unwrap_or_default(),
                self.outcome.as_deref().unwrap_or_default()
            ),
            other => other.to_string(),
        };
        crate::format::one_line(&format!("{} {session}{to}: {what}", self.who))
    }
}

/// Publishes events to the store's stream off the writer's path: a full backlog drops (and counts)
/// rather than slowing a move.
#[derive(Clone)]
pub struct Publisher {
    tx: mpsc::Sender<Publish>,
    dropped: Arc<AtomicU64>,
}

/// What the publishing task is handed: an event, or a wish to know when all before it are out.
enum Publish {
    Event(Box<SharedEvent>),
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl Publisher {
    /// Starts publishing to `store`'s stream (inside a tokio runtime).
    pub fn start(store: SharedStore) -> Publisher {
        let (tx, mut rx) = mpsc::channel::<Publish>(BACKLOG);
        let dropped = Arc::new(AtomicU64::new(0));
        let lost = dropped.clone();
        tokio::spawn(async move {
            while let Some(next) = rx.recv().await {
                match next {
                    Publish::Event(event) => {
                        if let Err(e) = store.publish(&event).await {
                            lost.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!("cannot publish to the shared store: {e}");
                        }
                    }
                    Publish::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Publisher { tx, dropped }
    }

    pub fn publish(&self, event: SharedEvent) {
        if self.tx.try_send(Publish::Event(Box::new(event))).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits, at most `within`, until every event handed on before this call was published (or
    /// failed): a command that ends right after its last line does not take it down with it.
    pub async fn flushed(&self, within: std::time::Duration) {
        let (done, published) = tokio::sync::oneshot::channel();
        let _ = tokio::time::timeout(within, async {
            if self.tx.send(Publish::Flush(done)).await.is_ok() {
                let _ = published.await;
            }
        })
        .await;
    }

    /// Events not published (a full backlog, or the store away).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Follows the stream from after `last` (an id; `$`-like start when `None`: only what comes next),
/// every half second, handing on each event with its id.
pub fn follow(
    store: SharedStore,
    last: Option<String>,
) -> mpsc::UnboundedReceiver<(String, SharedEvent)> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut last = match last {
            Some(id) => id,
            None => store
                .latest_event_id()
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| "0-0".into()),
        };
        loop {
            match store.events_after(&last, 200).await {
                Ok(events) => {
                    for (id, event) in events {
                        last = id.clone();
                        if tx.send((id, event)).is_err() {
                            return;
                        }
                    }
                }
                Err(e) => tracing::warn!("cannot read the shared store's events: {e}"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    });
    rx
}

/// Follows what the account's other processes do, in one poll of the stream. Callbacks that
/// reached another switchboard listener of the account (two supervisors behind one tunnel) come to
/// the process that made the move: each accepted callback published by another process, for a
/// session this process sent, is put on record here and handed to `inject` like one that reached
/// this listener. Every other process's event is handed to `others`, when given (the console's
/// Activity).
pub fn follow_others(
    store: SharedStore,
    audit: crate::audit::AuditLog,
    inject: mpsc::UnboundedSender<crate::listener::CallbackEvent>,
    others: Option<mpsc::UnboundedSender<SharedEvent>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut follow = follow(store, None);
        while let Some((_, event)) = follow.recv().await {
            if event.process == audit.process() {
                continue;
            }
            if let Some(callback) = relayed(&audit, &event)
                && inject.send(callback).is_err()
            {
                return;
            }
            if let Some(others) = &others
                && others.send(event).is_err()
            {
                return;
            }
        }
    })
}

/// An accepted callback another process published for a session this process sent: put on record
/// here (`peer: relayed by …`), for its listener to hand on.
fn relayed(
    audit: &crate::audit::AuditLog,
    event: &SharedEvent,
) -> Option<crate::listener::CallbackEvent> {
    let session = event.session.as_deref()?;
    let ours = audit.run_of(session)?;
    if event.event != "callback" || event.accepted != Some(true) {
        return None;
    }
    let callback = crate::listener::CallbackEvent::relayed(
        session,
        event.status.clone(),
        &event.at,
        &event.who,
    );
    let _ = audit.record(Some(&ours), "callback", &callback);
    Some(callback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_priority_change_is_published_as_its_queue_value_and_outcome_and_no_more() {
        let line = serde_json::json!({
            "ts": "2026-11-29T03:00:00.000Z", "run": "r1", "process": "p1", "event": "queue_priority",
            "queue": "qu-1", "queue_name": "Billing", "target": Target::queue("qu-1"),
            "priority": 8, "was": "unknown", "outcome": "failed", "http_status": 403,
            "error": "words from the server"
        });
        let event = SharedEvent::from_line(&line, "bob@laptop2").expect("published");
        assert_eq!(event.priority, Some(8));
        assert_eq!(event.target, Some(Target::queue("qu-1")));
        assert_eq!(
            event.describe(),
            "bob@laptop2 - → queue qu-1: priority 8 failed"
        );
        let text = serde_json::to_string(&event).unwrap();
        assert!(!text.contains("words from the server"), "{text}");
        // The attempt before it is this process's own: not published.
        let attempt = serde_json::json!({"event": "queue_priority_attempt", "queue": "qu-1"});
        assert_eq!(SharedEvent::from_line(&attempt, "bob@laptop2"), None);
    }
}
