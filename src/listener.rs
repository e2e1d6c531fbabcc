//! The callback listener (SPEC §5). The platform posts the result of each transfer to the request's
//! `callbackUrl`, `{base}/{botSessionId}?t={token}`. Kore documents no schema, method, signature or
//! retry policy for it (kore-api.md §3), so the listener accepts any method and content type, keeps the
//! body as received, reads `status` when there is one, and matches the callback to its session by the
//! URL, else by `sessionId`/`botSessionId` in the body. The token is what keeps strangers out.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::audit::AuditLog;
use crate::secret::Secret;

/// Bodies over this are refused with 413 (SPEC §5).
pub const MAX_CALLBACK_BYTES: usize = 64 * 1024;

/// How long a client has to send its request's headers, and then all of it: a client that holds a
/// connection open without sending (slowloris) loses it.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(2);
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(8);
/// Connections served at once. More wait in the kernel's queue, unaccepted, so they hold no file
/// descriptor of this process (which the run needs for the platform and the audit log).
pub const MAX_CONNECTIONS: usize = 256;
/// Refused requests put on record (and on screen) per minute; the rest are counted in one line.
pub const REFUSED_RECORDED_PER_MINUTE: u32 = 60;

/// A session's callback state, as a row shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallbackState {
    /// None expected (nothing was transferred) or none listened for.
    #[serde(rename = "-")]
    None,
    Waiting,
    /// A callback whose status reads as success.
    Ok,
    /// A callback whose status reads as failure, or that carries an error envelope.
    Failed,
    /// A callback came, but its body holds no status we can read: shown as it came, not called ok.
    Received,
    /// None came within the wait.
    Late,
}

impl CallbackState {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackState::None => "-",
            CallbackState::Waiting => "waiting",
            CallbackState::Ok => "ok",
            CallbackState::Failed => "failed",
            CallbackState::Received => "received",
            CallbackState::Late => "late",
        }
    }

    /// Whether a callback came (whatever it said), as opposed to none yet, or none expected.
    pub fn came(self) -> bool {
        matches!(
            self,
            CallbackState::Ok | CallbackState::Failed | CallbackState::Received
        )
    }

    /// What a callback says of the transfer. Kore documents no schema (kore-api.md §3), so: an error
    /// envelope (`errors`) or a status with a failure word is `failed`, another status is `ok`, and a
    /// body with no readable status is `received` — never guessed to be a success.
    pub fn of_callback(status: Option<&str>, body: &Value) -> CallbackState {
        let has_errors = body
            .get("errors")
            .is_some_and(|e| e.as_array().is_none_or(|list| !list.is_empty()) && !e.is_null());
        if has_errors {
            return CallbackState::Failed;
        }
        let Some(s) = status.map(str::to_ascii_lowercase) else {
            return CallbackState::Received;
        };
        if s.trim().is_empty() {
            return CallbackState::Received;
        }
        if ["fail", "error", "reject", "declin", "timeout", "timed out"]
            .iter()
            .any(|w| s.contains(w))
        {
            CallbackState::Failed
        } else {
            CallbackState::Ok
        }
    }
}

/// A session's callback, for a report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallbackSummary {
    pub state: CallbackState,
    pub status: Option<String>,
    pub received_at: Option<String>,
    pub body: Option<Value>,
}

impl CallbackSummary {
    pub fn of_state(state: CallbackState) -> CallbackSummary {
        CallbackSummary {
            state,
            status: None,
            received_at: None,
            body: None,
        }
    }

    pub fn from_event(event: &CallbackEvent) -> CallbackSummary {
        CallbackSummary {
            state: event.state(),
            status: event.status.clone(),
            received_at: Some(event.received_at.clone()),
            body: Some(event.body.clone()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    Url,
    Body,
}

/// One request that reached the listener, accepted or not. This is the line `switchboard listen` prints
/// and the audit log keeps.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CallbackEvent {
    pub received_at: String,
    pub method: String,
    /// The path, without the query (which holds the token).
    pub path: String,
    #[serde(rename = "botSessionId")]
    pub session: Option<String>,
    pub matched_by: Option<MatchedBy>,
    pub accepted: bool,
    /// Why it was refused, when it was.
    pub rejected: Option<String>,
    /// What the listener answered.
    pub answered: u16,
    /// Who sent it (a refused request is kept as this and its size only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The body's size in bytes (as sent, or as declared when it was too large to read).
    #[serde(default)]
    pub size: u64,
    pub content_type: Option<String>,
    /// The body's `status`, when it is JSON and has one.
    pub status: Option<String>,
    /// The body as received: JSON when it parses, else text.
    pub body: Value,
}

#[derive(Clone)]
struct ListenerState {
    token: Secret,
    events: mpsc::UnboundedSender<CallbackEvent>,
    audit: Option<AuditLog>,
    refusals: Arc<Mutex<RefusalBudget>>,
}

/// How many refused requests this minute have been put on record, and how many were not.
struct RefusalBudget {
    since: Instant,
    recorded: u32,
    suppressed: u64,
}

impl RefusalBudget {
    /// Whether this refusal goes on record; and, at the start of a new minute, how many of the
    /// last one did not.
    fn admit(&mut self, now: Instant) -> (bool, u64) {
        let mut dropped = 0;
        if now.duration_since(self.since) >= Duration::from_secs(60) {
            dropped = std::mem::take(&mut self.suppressed);
            self.since = now;
            self.recorded = 0;
        }
        if self.recorded < REFUSED_RECORDED_PER_MINUTE {
            self.recorded += 1;
            (true, dropped)
        } else {
            self.suppressed += 1;
            (false, dropped)
        }
    }
}

/// A running listener. Dropping it stops it.
pub struct Listener {
    pub addr: SocketAddr,
    pub events: mpsc::UnboundedReceiver<CallbackEvent>,
    _shutdown: oneshot::Sender<()>,
    /// What goes on record of the refusals not recorded one by one when the listener stops.
    refusals: Arc<Mutex<RefusalBudget>>,
    audit: Option<AuditLog>,
    /// Where callbacks that reached another listener of the account are handed in (a relay).
    inject: mpsc::UnboundedSender<CallbackEvent>,
}

impl Listener {
    /// A sender into this listener's events: a callback relayed from the account's shared store
    /// comes out of `events` like one that reached this listener.
    pub fn injector(&self) -> mpsc::UnboundedSender<CallbackEvent> {
        self.inject.clone()
    }
}

impl CallbackEvent {
    /// A callback that reached another supervisor's listener and was relayed through the shared
    /// store to the process that made the move.
    pub fn relayed(session: &str, status: Option<String>, at: &str, by: &str) -> CallbackEvent {
        CallbackEvent {
            received_at: at.to_string(),
            method: "POST".into(),
            path: format!("/callback/{session}"),
            session: Some(session.to_string()),
            matched_by: Some(MatchedBy::Url),
            accepted: true,
            rejected: None,
            answered: 200,
            peer: Some(format!("relayed by {by}")),
            size: 0,
            content_type: None,
            status,
            body: Value::Null,
        }
    }
}

impl Drop for Listener {
    /// At shutdown the refusals not yet counted on record are: none is lost with the process.
    fn drop(&mut self) {
        record_unrecorded(&self.refusals, self.audit.as_ref());
    }
}

/// Puts on record how many refused requests were not recorded one by one since the last count.
fn record_unrecorded(refusals: &Mutex<RefusalBudget>, audit: Option<&AuditLog>) {
    let dropped = std::mem::take(
        &mut refusals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .suppressed,
    );
    record_unrecorded_count(dropped, audit);
}

fn record_unrecorded_count(dropped: u64, audit: Option<&AuditLog>) {
    if dropped > 0
        && let Some(audit) = audit
    {
        let _ = audit.record(
            None,
            "callbacks_refused_unrecorded",
            &serde_json::json!({"count": dropped, "per_minute_recorded": REFUSED_RECORDED_PER_MINUTE}),
        );
    }
}

/// Why `bind` could not be listened on, and what that means for the run: a taken address most
/// often means another switchboard listens there, and callbacks sent to it go to that process
/// (which refuses them unless it shares this run's callback token).
pub fn bind_error(bind: SocketAddr, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        format!(
            "cannot listen for callbacks on {bind}: the address is taken (another switchboard, or another program, listens there), so callbacks sent to it would reach that process, not this run; set --listen 127.0.0.1:0 for a free port (and callback_url to reach it), or run one `switchboard listen` with a shared SWITCHBOARD_CALLBACK_TOKEN"
        )
    } else {
        format!("cannot listen for callbacks on {bind}: {e} (set --listen ADDR, e.g. 127.0.0.1:0)")
    }
}

/// Binds `bind` and serves callbacks until the returned `Listener` is dropped. Every request is sent
/// on `events` and, when there is an audit log, recorded there.
pub async fn start(
    bind: SocketAddr,
    token: Secret,
    audit: Option<AuditLog>,
) -> std::io::Result<Listener> {
    let socket = if bind.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(bind)?;
    // A long queue: connections past MAX_CONNECTIONS wait there for their turn.
    let socket = socket.listen(4096)?;
    let addr = socket.local_addr()?;
    let (tx, rx) = mpsc::unbounded_channel();
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let refusals = Arc::new(Mutex::new(RefusalBudget {
        since: Instant::now(),
        recorded: 0,
        suppressed: 0,
    }));
    let app = Router::new()
        .fallback(receive)
        .layer(DefaultBodyLimit::max(MAX_CALLBACK_BYTES))
        .with_state(ListenerState {
            token,
            events: tx.clone(),
            audit: audit.clone(),
            refusals: refusals.clone(),
        });
    // The refusals not recorded one by one are counted on record every minute, not only when the
    // next one comes.
    let (counted, counted_audit) = (refusals.clone(), audit.clone());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        every.tick().await;
        let count = async {
            loop {
                every.tick().await;
                record_unrecorded(&counted, counted_audit.as_ref());
            }
        };
        tokio::select! {
            _ = serve(socket, app) => {}
            _ = count => {}
            _ = shutdown_rx => {}
        }
    });
    tracing::info!(%addr, "callback listener started");
    Ok(Listener {
        addr,
        events: rx,
        _shutdown: shutdown_tx,
        refusals,
        audit,
        inject: tx,
    })
}

/// Accepts connections while fewer than MAX_CONNECTIONS are open, and serves each with its
/// timeouts: one request (no keep-alive), headers within HEADER_READ_TIMEOUT, all of it within
/// CONNECTION_TIMEOUT.
async fn serve(socket: tokio::net::TcpListener, app: Router) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match socket.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, or a connection reset before it was taken: wait a
                // little rather than spin, and go on.
                tracing::warn!("callback listener: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                let mut app = app.clone();
                tower_service::Service::call(&mut app, request.map(axum::body::Body::new))
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .keep_alive(false)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
            drop(slot);
        });
    }
}

async fn receive(
    State(state): State<ListenerState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> (StatusCode, &'static str) {
    let token_ok = uri
        .query()
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "t"))
        .is_some_and(|(_, v)| state.token.matches(&v));
    let (answer, rejected, bytes) = match (token_ok, body) {
        (false, body) => (
            StatusCode::UNAUTHORIZED,
            Some("wrong or missing token"),
            body.unwrap_or_default(),
        ),
        (true, Err(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => (
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("body over 64 KiB"),
            Bytes::new(),
        ),
        (true, Err(_)) => (
            StatusCode::BAD_REQUEST,
            Some("body could not be read"),
            Bytes::new(),
        ),
        (true, Ok(bytes)) => (StatusCode::OK, None, bytes),
    };
    let mut event = describe(&method, &uri, &headers, &bytes, answer, rejected);
    event.peer = Some(peer.to_string());
    event.size = match answer {
        // Too large to read: what it declared.
        StatusCode::PAYLOAD_TOO_LARGE => headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .unwrap_or(0),
        _ => bytes.len() as u64,
    };
    // A refused request is kept as metadata only (no body: a stranger's 60 KB is not worth a
    // record), and only so many a minute, so a flood cannot fill the disk or the screen.
    let on_record = if event.accepted {
        true
    } else {
        event.body = Value::Null;
        event.status = None;
        event.content_type = None;
        let (admitted, dropped) = state
            .refusals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .admit(Instant::now());
        record_unrecorded_count(dropped, state.audit.as_ref());
        admitted
    };
    if on_record {
        if let Some(audit) = &state.audit {
            // The run this process sent the session in, when it did (a separate `listen` did not).
            let run = event.session.as_deref().and_then(|s| audit.run_of(s));
            let _ = audit.record(run.as_deref(), "callback", &event);
        }
        tracing::info!(session = ?event.session, accepted = event.accepted, status = ?event.status, "callback");
        let _ = state.events.send(event);
    }
    let text = match answer {
        StatusCode::OK => "ok\n",
        StatusCode::UNAUTHORIZED => "wrong or missing token\n",
        StatusCode::PAYLOAD_TOO_LARGE => "body over 64 KiB\n",
        _ => "bad request\n",
    };
    (answer, text)
}

fn describe(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    bytes: &[u8],
    answer: StatusCode,
    rejected: Option<&str>,
) -> CallbackEvent {
    let body: Value = serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()));
    let from_body = ["botSessionId", "sessionId"]
        .iter()
        .find_map(|k| body.get(k).and_then(Value::as_str))
        .map(str::to_owned);
    let from_url = session_in_path(uri.path());
    let accepted = rejected.is_none();
    // A refused callback is shown, never matched to a session.
    let (session, matched_by) = match (accepted, from_url, from_body) {
        (false, _, _) => (None, None),
        (true, Some(s), _) => (Some(s), Some(MatchedBy::Url)),
        (true, None, Some(s)) => (Some(s), Some(MatchedBy::Body)),
        (true, None, None) => (None, None),
    };
    CallbackEvent {
        received_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        method: method.to_string(),
        path: uri.path().to_string(),
        session,
        matched_by,
        accepted,
        rejected: rejected.map(str::to_owned),
        answered: answer.as_u16(),
        peer: None,
        size: 0,
        content_type: headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        status: body
            .get("status")
            .and_then(Value::as_str)
            .map(str::to_owned),
        body,
    }
}

impl CallbackEvent {
    /// What this callback says of the transfer.
    pub fn state(&self) -> CallbackState {
        CallbackState::of_callback(self.status.as_deref(), &self.body)
    }
}

/// `/callback/{botSessionId}` (under any prefix a tunnel adds) names the session.
fn session_in_path(path: &str) -> Option<String> {
    let mut segments = path.rsplit('/').filter(|s| !s.is_empty());
    let last = segments.next()?;
    let parent = segments.next()?;
    // A path segment is percent-decoded and nothing more: a `+` in it is a `+`, not a space as
    // in a form.
    (parent == "callback").then(|| {
        percent_encoding::percent_decode_str(last)
            .decode_utf8_lossy()
            .into_owned()
    })
}

/// Waits up to `wait` for the callbacks of the reports that expect one (transferred, or unknown: a
/// callback may settle those), then marks the rest: `late` where one was expected, `-` elsewhere.
/// Callbacks that came during the run are already queued on `events`, so none is missed.
pub async fn await_callbacks(
    events: &mut mpsc::UnboundedReceiver<CallbackEvent>,
    reports: &mut [crate::dispatch::Report],
    wait: std::time::Duration,
) {
    use crate::outcome::Outcome;
    let expects = |r: &crate::dispatch::Report| {
        matches!(r.outcome, Some(Outcome::Transferred | Outcome::Unknown))
    };
    let index: std::collections::HashMap<String, usize> = reports
        .iter()
        .enumerate()
        .map(|(i, r)| (r.session.clone(), i))
        .collect();
    let deadline = tokio::time::Instant::now() + wait;
    while reports.iter().any(|r| expects(r) && r.callback.is_none()) {
        let event = match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) | Err(_) => break,
        };
        if let Some(&i) = event.session.as_ref().and_then(|s| index.get(s))
            && event.accepted
        {
            reports[i].callback = Some(CallbackSummary::from_event(&event));
        }
    }
    for report in reports.iter_mut().filter(|r| r.callback.is_none()) {
        let state = if expects(report) {
            CallbackState::Late
        } else {
            CallbackState::None
        };
        report.callback = Some(CallbackSummary::of_state(state));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_from_path() {
        assert_eq!(session_in_path("/callback/abc").as_deref(), Some("abc"));
        assert_eq!(
            session_in_path("/tunnel/callback/abc/").as_deref(),
            Some("abc")
        );
        assert_eq!(
            session_in_path("/callback/a+b%2Bc%20d").as_deref(),
            Some("a+b+c d"),
            "a path, not a form: + stays +"
        );
        assert_eq!(session_in_path("/callback"), None);
        assert_eq!(session_in_path("/"), None);
        assert_eq!(session_in_path("/other/abc"), None);
    }

    #[test]
    fn status_words() {
        let none = Value::Null;
        let state = |status: Option<&str>| CallbackState::of_callback(status, &none);
        assert_eq!(state(Some("transferred")), CallbackState::Ok);
        assert_eq!(state(None), CallbackState::Received);
        assert_eq!(state(Some(" ")), CallbackState::Received);
        assert_eq!(state(Some("FAILED")), CallbackState::Failed);
        assert_eq!(state(Some("transfer_error")), CallbackState::Failed);
        let envelope = serde_json::json!({"errors": [{"msg": "Agent not available", "code": 400}]});
        assert_eq!(
            CallbackState::of_callback(None, &envelope),
            CallbackState::Failed,
            "an error envelope without a status is a failure"
        );
        assert_eq!(
            CallbackState::of_callback(Some("transferred"), &envelope),
            CallbackState::Failed
        );
        assert_eq!(
            CallbackState::of_callback(None, &serde_json::json!({"errors": []})),
            CallbackState::Received
        );
        assert_eq!(
            CallbackState::of_callback(None, &Value::String("done".into())),
            CallbackState::Received,
            "a body that is not JSON has no readable status"
        );
        assert_eq!(
            serde_json::to_string(&CallbackState::None).unwrap(),
            "\"-\""
        );
    }
}
