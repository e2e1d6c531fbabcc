//! The built-in AgentAssist stand-in (SPEC §8): the demo and the tests run against it over real HTTP on
//! loopback. It is strict on purpose, since it is also the project's reference for how the real API
//! behaves: it verifies the JWT, the `accountid` header, the content type and the exact body of each
//! documented request shape, enforces Kore's per-minute rate limit, answers with the documented
//! response and error shapes, and posts a callback to the `callbackUrl` afterwards.
//!
//! Faults come two ways: switches that apply to every request (`MockOptions`), and session ids whose
//! last four characters ask for one (`trigger_for`), so that one bulk run can show every outcome.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::{broadcast, oneshot};
use tokio::time::Instant;

use crate::api::{KoreApi, Scope};
use crate::check::PROBE_SESSION;
use crate::ids::IdKind;

pub mod center;
use crate::secret::Secret;
use crate::token::unix_now;
pub use center::Center;

/// Kore's documented words when the per-minute limit is exceeded (kore-api.md §4).
pub const RATE_LIMIT_MESSAGE: &str =
    "You've exceeded the per-minute rate limit. Please wait for sometime before retrying.";

/// The ids and the secret the stand-in accepts.
#[derive(Debug, Clone)]
pub struct MockIdentity {
    pub stream_id: String,
    pub org_id: String,
    pub account_id: String,
    pub app_id: String,
    pub secret: Secret,
    /// The JWT app's public key (PEM), when the app signs with RS256 or RS512.
    pub public_key_pem: Option<String>,
}

impl MockIdentity {
    /// The demo tenant's ids, in Kore's formats, with the given secret.
    pub fn demo(secret: Secret) -> MockIdentity {
        MockIdentity {
            stream_id: "st-5d1e8c2a-7b3f-5a90-8c4d-2e6f1a9b0c31".into(),
            org_id: "o-8f2d4c6a-1b3e-5f70-9a8c-4d2e6b1f3a50".into(),
            account_id: "64f1c0ffee0ddba11c0ffee1".into(),
            app_id: "cs-3b9e1c57-2d4a-5e8f-9b61-7c0a4d2e8f13".into(),
            secret,
            public_key_pem: None,
        }
    }
}

/// What the stand-in's callbacks say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackMode {
    /// `status: "transferred"` after each transfer.
    Ok,
    /// `status: "failed"` after each transfer.
    Failed,
    /// No callbacks at all.
    Off,
}

/// Switches that apply to every request.
#[derive(Debug, Clone)]
pub struct MockOptions {
    /// Calls per window before 429; 0 turns the limit off. Kore's documented limit is 60 a minute.
    pub rate_limit_per_minute: u32,
    /// The rolling window the limit counts in: a minute, as Kore's; tests shorten it.
    pub rate_window: Duration,
    /// Scopes the JWT app lacks: every API that needs one answers 401 (`--deny-scope`).
    pub denied_scopes: Vec<Scope>,
    /// How long, with a center, a transfer takes to show in the read APIs after it is answered.
    pub apply_delay: Duration,
    /// Added before every answer.
    pub latency: Duration,
    /// Up to this much more, at random, before every answer (and before the limit counts the call):
    /// the network jitter a real account sees.
    pub latency_jitter: Duration,
    /// How long a session ending in `0408` waits before answering.
    pub slow: Duration,
    pub callback_delay: Duration,
    pub callbacks: CallbackMode,
    /// Answer every assign call with this HTTP status.
    pub force_status: Option<u16>,
    /// The `Retry-After` sent with a forced 429.
    pub retry_after: Option<u64>,
    /// Answer 2xx with a body that is not JSON.
    pub non_json: bool,
    /// A simulated contact center: the read APIs answer from it, and a transfer must name one of
    /// its sessions, queues and agents. Without one, any well-formed id is accepted.
    pub center: Option<Center>,
    /// How often, with a center, a conversation arrives and another ends.
    pub churn: Option<Duration>,
}

impl Default for MockOptions {
    fn default() -> Self {
        MockOptions {
            rate_limit_per_minute: 60,
            rate_window: Duration::from_secs(60),
            denied_scopes: Vec::new(),
            apply_delay: Duration::ZERO,
            latency: Duration::ZERO,
            latency_jitter: Duration::ZERO,
            slow: Duration::from_secs(30),
            callback_delay: Duration::from_millis(300),
            callbacks: CallbackMode::Ok,
            force_status: None,
            retry_after: None,
            non_json: false,
            center: None,
            churn: None,
        }
    }
}

/// A fault asked for by a session id's last four characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `…0400`: 400 in the `{code, message}` envelope.
    BadRequest,
    /// `…0404`: 404 in the `{errors:[{msg, code}]}` envelope.
    NotFound,
    /// `…0401`: 401.
    Unauthorized,
    /// `…0403`: 403.
    Forbidden,
    /// `…0429`: 429 with `Retry-After: 1`, every time.
    RateLimitedAlways,
    /// `…1429`: 429 with `Retry-After: 1`, on the first attempt only.
    RateLimitedOnce,
    /// `…2429`: 429 without `Retry-After`, on the first attempt only.
    RateLimitedOnceNoHeader,
    /// `…3429`: 400 whose body says the rate limit was exceeded, on the first attempt only.
    RateLimitBodyOnce,
    /// `…0500`: 500.
    ServerError,
    /// `…0503`: 503.
    Unavailable,
    /// `…0408`: answers only after the slow delay, so the client times out.
    Slow,
    /// `…0bad`: 200 with a body that is not JSON.
    NotJson,
    /// `…0cf0`: transferred, then a callback that says it failed.
    CallbackFails,
    /// `…0c00`: transferred, and no callback ever comes.
    NoCallback,
}

/// The table `switchboard mock --help` shows.
pub const TRIGGER_HELP: &str = "\
Session ids whose last four characters are:
  0400  400 {\"code\":400,\"message\":...}          0404  404 {\"errors\":[{\"msg\":...,\"code\":404}]}
  0401  401                                      0403  403
  0429  429 Retry-After: 1, every time           1429  429 Retry-After: 1, first attempt only
  2429  429 without Retry-After, first only      3429  400 saying the rate limit was exceeded, first only
  0500  500                                      0503  503
  0408  answers after --slow-ms (a timeout)      0bad  200 with a body that is not JSON
  0cf0  transferred, then a failed callback      0c00  transferred, and no callback";

pub fn trigger_for(session: &str) -> Option<Trigger> {
    let suffix = session.get(session.len().saturating_sub(4)..)?;
    Some(match suffix {
        "0400" => Trigger::BadRequest,
        "0404" => Trigger::NotFound,
        "0401" => Trigger::Unauthorized,
        "0403" => Trigger::Forbidden,
        "0429" => Trigger::RateLimitedAlways,
        "1429" => Trigger::RateLimitedOnce,
        "2429" => Trigger::RateLimitedOnceNoHeader,
        "3429" => Trigger::RateLimitBodyOnce,
        "0500" => Trigger::ServerError,
        "0503" => Trigger::Unavailable,
        "0408" => Trigger::Slow,
        "0bad" => Trigger::NotJson,
        "0cf0" => Trigger::CallbackFails,
        "0c00" => Trigger::NoCallback,
        _ => return None,
    })
}

/// One assign request as the stand-in saw it. It is recorded the moment it arrives, before any
/// check or delay, so that a request cut off mid-answer is still on the list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Received {
    /// Milliseconds since the stand-in started.
    pub at_ms: u64,
    #[serde(rename = "botSessionId")]
    pub session: Option<String>,
    /// The status answered; `None` while the answer is still being made.
    pub answered: Option<u16>,
    pub message: String,
}

struct MockState {
    identity: MockIdentity,
    options: MockOptions,
    started: Instant,
    received: Mutex<Vec<Received>>,
    attempts: Mutex<HashMap<String, u32>>,
    seen_jtis: Mutex<HashSet<String>>,
    /// When each call the limit counted arrived, oldest first, within the rolling window.
    window: Mutex<std::collections::VecDeque<Instant>>,
    feed: broadcast::Sender<Received>,
    callback_client: reqwest::Client,
    center: Option<Mutex<Center>>,
    reads: std::sync::atomic::AtomicUsize,
}

/// A running stand-in. Dropping it stops it.
pub struct MockServer {
    pub addr: SocketAddr,
    state: Arc<MockState>,
    _shutdown: oneshot::Sender<()>,
}

impl MockServer {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn identity(&self) -> &MockIdentity {
        &self.state.identity
    }

    /// Every assign request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().expect("mock state").clone()
    }

    /// How many read-API calls were answered.
    pub fn reads(&self) -> usize {
        self.state.reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The simulated center as it stands (with `MockOptions::center`).
    pub fn center(&self) -> Option<Center> {
        self.state
            .center
            .as_ref()
            .map(|c| c.lock().expect("mock state").clone())
    }

    /// Changes the simulated center as the world would between a plan and its apply (a session
    /// ends, an agent logs off); false without a center.
    pub fn change_center(&self, change: impl FnOnce(&mut Center)) -> bool {
        match &self.state.center {
            Some(c) => {
                change(&mut c.lock().expect("mock state"));
                true
            }
            None => false,
        }
    }

    /// A feed of assign requests as they are answered.
    pub fn subscribe(&self) -> broadcast::Receiver<Received> {
        self.state.feed.subscribe()
    }
}

pub async fn start(
    bind: SocketAddr,
    identity: MockIdentity,
    options: MockOptions,
) -> std::io::Result<MockServer> {
    let socket = tokio::net::TcpListener::bind(bind).await?;
    let addr = socket.local_addr()?;
    let center = options.center.clone().map(Mutex::new);
    let state = Arc::new(MockState {
        identity,
        center,
        reads: Default::default(),
        options,
        started: Instant::now(),
        received: Mutex::default(),
        attempts: Mutex::default(),
        seen_jtis: Mutex::default(),
        window: Mutex::default(),
        feed: broadcast::channel(1024).0,
        callback_client: reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(std::io::Error::other)?,
    });
    let app = Router::new()
        .route(
            "/agentassist/api/v1/public/{stream_id}/assign-conversation",
            post(assign),
        )
        .route(
            "/agentassist/api/v1/public/{stream_id}/conversations",
            get(list_conversations),
        )
        .route(
            "/agentassist/api/v1/public/{stream_id}/organizations/{org_id}/agents",
            get(list_agents),
        )
        .route(
            "/agentassist/api/v1/public/{stream_id}/agents/availability",
            post(agent_availability),
        )
        .route(
            "/agentassist/api/v1/public/{stream_id}/queues",
            get(list_queues),
        )
        .route(
            "/agentassist/api/v1/public/{stream_id}/monitor/queueStatsById/{queue_id}",
            post(queue_size),
        )
        .route(
            "/agentassist/api/v1/public/{stream_id}/conversations/sessions/{session_id}",
            get(conversation_details),
        )
        .route(
            "/agentassist/api/public/organizations/{org_id}/operationshours/{queue_id}",
            get(hours_of_operation),
        )
        .route(
            "/agentassist/api/v1/public/{stream_id}/queues/dynamicqueues/priorities",
            put(update_queue_priority),
        )
        .route(
            "/api/public/bot/{stream_id}/getMessagesV2",
            post(conversation_history),
        )
        .route("/_mock/received", get(list_received))
        .with_state(state.clone());
    if let Some(every) = state.options.churn.filter(|_| state.center.is_some()) {
        let weak = Arc::downgrade(&state);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(state) = weak.upgrade() else { break };
                if let Some(center) = &state.center {
                    center.lock().expect("mock state").churn(Instant::now());
                }
            }
        });
    }
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let serve = axum::serve(socket, app).with_graceful_shutdown(async {
            let _ = shutdown_rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!("stand-in stopped: {e}");
        }
    });
    Ok(MockServer {
        addr,
        state,
        _shutdown: shutdown_tx,
    })
}

async fn list_received(State(state): State<Arc<MockState>>) -> axum::Json<Vec<Received>> {
    axum::Json(state.received.lock().expect("mock state").clone())
}

/// An answer in Kore's `{"errors":[{"msg","code"}]}` envelope.
fn errors(status: StatusCode, msg: &str) -> Response {
    (
        status,
        axum::Json(json!({"errors": [{"msg": msg, "code": status.as_u16()}]})),
    )
        .into_response()
}

/// A request the stand-in turns away, in Kore's error envelope.
struct Refusal {
    status: StatusCode,
    msg: String,
    retry_after: Option<u64>,
}

impl Refusal {
    fn into_answer(self) -> (Response, String) {
        let mut response = errors(self.status, &self.msg);
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        (response, self.msg)
    }
}

fn refuse(status: StatusCode, msg: &str) -> Refusal {
    Refusal {
        status,
        msg: msg.to_string(),
        retry_after: None,
    }
}

async fn assign(
    State(state): State<Arc<MockState>>,
    Path(stream_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let session = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
        v.get("botSessionId")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let index = {
        let mut received = state.received.lock().expect("mock state");
        received.push(Received {
            at_ms: state.started.elapsed().as_millis() as u64,
            session,
            answered: None,
            message: String::new(),
        });
        received.len() - 1
    };
    let delay = state.options.latency + jitter(state.options.latency_jitter);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (response, message) = match answer(&state, &stream_id, &headers, &body).await {
        Ok((response, message)) => (response, message),
        Err(refusal) => refusal.into_answer(),
    };
    let done = {
        let mut received = state.received.lock().expect("mock state");
        let entry = &mut received[index];
        entry.answered = Some(response.status().as_u16());
        entry.message = message;
        entry.clone()
    };
    let _ = state.feed.send(done);
    response
}

async fn answer(
    state: &Arc<MockState>,
    stream_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Response, String), Refusal> {
    let id = &state.identity;
    authorize(state, KoreApi::AssignConversation, stream_id, headers)?;
    let json_content = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json_content {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Content-Type must be application/json",
        ));
    }
    let request = check_body(id, body)?;
    let attempt = {
        let mut attempts = state.attempts.lock().expect("mock state");
        let n = attempts.entry(request.session.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let trigger = trigger_for(&request.session);
    if let Some(response) = fault(state, trigger, attempt).await {
        return Ok(response);
    }
    if request.session == PROBE_SESSION {
        // `switchboard check` probes the assign scope with an id no session can have.
        return Err(refuse(
            StatusCode::NOT_FOUND,
            &format!("Session {PROBE_SESSION} not found"),
        ));
    }
    if let Some(center) = &state.center {
        let (queue, agent) = match request.target_key {
            "queueId" => (Some(request.target_id.clone()), None),
            _ => (None, Some(request.target_id.clone())),
        };
        if let Err((_, msg)) = center.lock().expect("mock state").check_transfer(
            &request.session,
            queue.as_deref(),
            agent.as_deref(),
        ) {
            return Err(refuse(StatusCode::NOT_FOUND, &msg));
        }
        // The platform answers at once and moves the conversation a moment later; a transfer whose
        // callback says it failed never moves it.
        if trigger != Some(Trigger::CallbackFails) {
            apply_transfer(state.clone(), request.session.clone(), queue, agent);
        }
    }
    let completed_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut answer = Map::new();
    answer.insert("sessionId".into(), json!(request.session));
    answer.insert(request.target_key.into(), json!(request.target_id));
    answer.insert("status".into(), json!("transferred"));
    answer.insert("requestCompletedAt".into(), json!(completed_ms));
    let callback_status = match (trigger, state.options.callbacks) {
        (Some(Trigger::NoCallback), _) | (_, CallbackMode::Off) => None,
        (Some(Trigger::CallbackFails), _) | (_, CallbackMode::Failed) => Some("failed"),
        _ => Some("transferred"),
    };
    if let Some(status) = callback_status {
        let mut callback = answer.clone();
        callback.insert("botSessionId".into(), json!(request.session));
        callback.insert("status".into(), json!(status));
        if status == "failed" {
            callback.insert(
                "message".into(),
                json!("The agent did not accept the conversation"),
            );
        }
        spawn_callback(
            state.clone(),
            request.callback_url.clone(),
            Value::Object(callback),
        );
    }
    Ok((
        (StatusCode::OK, axum::Json(Value::Object(answer))).into_response(),
        "transferred".into(),
    ))
}

/// What every call must pass, in the platform's order: the bot, the token, the account header, the
/// app's scope for this API, then the per-minute limit.
fn authorize(
    state: &MockState,
    api: KoreApi,
    stream_id: &str,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    let id = &state.identity;
    if stream_id != id.stream_id {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            &format!("No bot found for streamId {stream_id}"),
        ));
    }
    verify_token(state, headers)?;
    if headers.get("accountid").and_then(|v| v.to_str().ok()) != Some(id.account_id.as_str()) {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "accountid header is missing or does not match the app",
        ));
    }
    if state.options.denied_scopes.contains(&api.scope()) {
        // INVENTED wording: Kore documents that an app without a scope is refused, not the words.
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            &format!(
                "The app is not authorized for this API: it needs the {} scope",
                api.scope().name()
            ),
        ));
    }
    check_rate_limit(state)
}

/// The JWT check Kore documents: HS256 with the client secret, `appId` spelled exactly, and with a
/// `jti` an `exp` at most an hour ahead and no replay.
fn verify_token(state: &MockState, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(token) = headers.get("auth").and_then(|v| v.to_str().ok()) else {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "auth header (JWT) is missing",
        ));
    };
    // The JWT app's algorithm: HS256 or HS512 with the Client Secret, RS256 or RS512 with the public
    // key the app holds (when the stand-in was given one).
    let bad = |e: &dyn std::fmt::Display| {
        refuse(
            StatusCode::UNAUTHORIZED,
            &format!("error verifying the jwt: {e}"),
        )
    };
    let algorithm = jsonwebtoken::decode_header(token).map_err(|e| bad(&e))?.alg;
    let key = match (algorithm, &state.identity.public_key_pem) {
        (Algorithm::HS256 | Algorithm::HS512, _) => {
            DecodingKey::from_secret(state.identity.secret.expose().as_bytes())
        }
        (Algorithm::RS256 | Algorithm::RS512, Some(pem)) => {
            DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| bad(&e))?
        }
        (other, _) => return Err(bad(&format!("the app does not sign with {other:?}"))),
    };
    let mut validation = Validation::new(algorithm);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|e| {
            refuse(
                StatusCode::UNAUTHORIZED,
                &format!("error verifying the jwt: {e}"),
            )
        })?
        .claims;
    if claims.get("appId").and_then(Value::as_str) != Some(state.identity.app_id.as_str()) {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "error verifying the jwt: appId is missing or unknown",
        ));
    }
    if let Some(jti) = claims.get("jti") {
        let now = unix_now();
        let exp = claims.get("exp").and_then(Value::as_u64);
        if !exp.is_some_and(|exp| exp > now && exp <= now + 3600) {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "error verifying the jwt: if \"jti\" claim \"exp\" must be <= 1 hour(s)",
            ));
        }
        if !state
            .seen_jtis
            .lock()
            .expect("mock state")
            .insert(jti.to_string())
        {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "error verifying the jwt: possibly a replay",
            ));
        }
    } else if let Some(exp) = claims.get("exp").and_then(Value::as_u64)
        && exp <= unix_now()
    {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "error verifying the jwt: token expired",
        ));
    }
    Ok(())
}

/// Kore counts calls per account in a rolling minute ("monitored against a sixty-second limit"); the
/// stand-in is strict about it: a call is refused when the window before it already holds the limit.
/// Only calls it answered count (a refused call is not served).
fn check_rate_limit(state: &MockState) -> Result<(), Refusal> {
    let limit = state.options.rate_limit_per_minute as usize;
    if limit == 0 {
        return Ok(());
    }
    let window_length = state.options.rate_window;
    let now = Instant::now();
    let mut window = state.window.lock().expect("mock state");
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window_length)
    {
        window.pop_front();
    }
    if window.len() >= limit {
        // Kore documents the words, not a Retry-After (nor the status: 429 is the stand-in's choice).
        return Err(Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            msg: RATE_LIMIT_MESSAGE.into(),
            retry_after: None,
        });
    }
    window.push_back(now);
    Ok(())
}

struct AssignRequest {
    session: String,
    callback_url: String,
    target_key: &'static str,
    target_id: String,
}

/// Exactly one of the two documented shapes, with nothing extra.
fn check_body(id: &MockIdentity, body: &[u8]) -> Result<AssignRequest, Refusal> {
    let bad = |msg: &str| refuse(StatusCode::BAD_REQUEST, msg);
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return Err(bad("body must be a JSON object"));
    };
    let text = |key: &str| -> Result<String, Refusal> {
        match fields.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(_) => Err(bad(&format!("{key} must be a non-empty string"))),
            None => Err(bad(&format!("{key} is required"))),
        }
    };
    let (allowed, target_key): (&[&str], _) =
        if fields.contains_key("queueId") || fields.contains_key("transferredType") {
            (
                &[
                    "callbackUrl",
                    "orgId",
                    "transferredType",
                    "queueId",
                    "botSessionId",
                ],
                "queueId",
            )
        } else {
            (&["callbackUrl", "orgId", "aId", "botSessionId"], "agentId")
        };
    if let Some(extra) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad(&format!("unexpected field {extra}")));
    }
    let session = text("botSessionId")?;
    let callback_url = text("callbackUrl")?;
    if url::Url::parse(&callback_url).is_err() {
        return Err(bad("callbackUrl is not a valid URL"));
    }
    if text("orgId")? != id.org_id {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "orgId does not match the account",
        ));
    }
    let target_id = if target_key == "queueId" {
        if text("transferredType")? != "QUEUE" {
            return Err(bad("transferredType must be QUEUE"));
        }
        let queue = text("queueId")?;
        if !IdKind::Queue.looks_valid(&queue) {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                &format!("Queue {queue} not found"),
            ));
        }
        queue
    } else {
        let agent = text("aId")?;
        if !IdKind::Agent.looks_valid(&agent) {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                &format!("Agent {agent} not found"),
            ));
        }
        agent
    };
    if !IdKind::Session.looks_valid(&session) {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            &format!("Session {session} not found"),
        ));
    }
    Ok(AssignRequest {
        session,
        callback_url,
        target_key,
        target_id,
    })
}

/// The answer a trigger or a global switch asks for, if any.
async fn fault(
    state: &MockState,
    trigger: Option<Trigger>,
    attempt: u32,
) -> Option<(Response, String)> {
    let too_many = |retry_after: Option<u64>| {
        Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            msg: RATE_LIMIT_MESSAGE.into(),
            retry_after,
        }
        .into_answer()
    };
    let with_errors = |status: StatusCode, msg: &str| refuse(status, msg).into_answer();
    let response = match trigger {
        Some(Trigger::BadRequest) => {
            let msg = "Conversation cannot be transferred: the session has already ended";
            (
                (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"code": 400, "message": msg})),
                )
                    .into_response(),
                msg.to_string(),
            )
        }
        Some(Trigger::NotFound) => {
            with_errors(StatusCode::NOT_FOUND, "Session not found or already closed")
        }
        Some(Trigger::Unauthorized) => with_errors(StatusCode::UNAUTHORIZED, "Invalid apikey"),
        Some(Trigger::Forbidden) => with_errors(
            StatusCode::FORBIDDEN,
            "The app does not have the Routing scope",
        ),
        Some(Trigger::RateLimitedAlways) => too_many(Some(1)),
        Some(Trigger::RateLimitedOnce) if attempt == 1 => too_many(Some(1)),
        Some(Trigger::RateLimitedOnceNoHeader) if attempt == 1 => too_many(None),
        Some(Trigger::RateLimitBodyOnce) if attempt == 1 => {
            with_errors(StatusCode::BAD_REQUEST, RATE_LIMIT_MESSAGE)
        }
        Some(Trigger::ServerError) => {
            with_errors(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
        }
        Some(Trigger::Unavailable) => (
            (StatusCode::SERVICE_UNAVAILABLE, "upstream unavailable").into_response(),
            "upstream unavailable".into(),
        ),
        Some(Trigger::Slow) => {
            tokio::time::sleep(state.options.slow).await;
            return None;
        }
        Some(Trigger::NotJson) => not_json(),
        _ => return forced(state),
    };
    Some(response)
}

fn not_json() -> (Response, String) {
    let body = "<html><body>Transfer accepted</body></html>";
    (
        (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], body).into_response(),
        "not JSON".into(),
    )
}

fn forced(state: &MockState) -> Option<(Response, String)> {
    if let Some(code) = state.options.force_status {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let msg = if code == 429 {
            RATE_LIMIT_MESSAGE.to_string()
        } else {
            format!("stand-in fault: HTTP {code}")
        };
        let retry_after = if code == 429 {
            state.options.retry_after
        } else {
            None
        };
        return Some(
            Refusal {
                status,
                msg,
                retry_after,
            }
            .into_answer(),
        );
    }
    state.options.non_json.then(not_json)
}

/// A random delay up to `most`.
fn jitter(most: Duration) -> Duration {
    if most.is_zero() {
        return Duration::ZERO;
    }
    let mut buf = [0u8; 8];
    let _ = getrandom::fill(&mut buf);
    most.mul_f64((u64::from_le_bytes(buf) % 10_000) as f64 / 10_000.0)
}

/// Applies an answered transfer to the center after `apply_delay`.
fn apply_transfer(
    state: Arc<MockState>,
    session: String,
    queue: Option<String>,
    agent: Option<String>,
) {
    let apply = move |state: &MockState| {
        if let Some(center) = &state.center {
            let _ = center.lock().expect("mock state").transfer(
                &session,
                queue.as_deref(),
                agent.as_deref(),
            );
        }
    };
    if state.options.apply_delay.is_zero() {
        apply(&state);
        return;
    }
    tokio::spawn(async move {
        tokio::time::sleep(state.options.apply_delay).await;
        apply(&state);
    });
}

/// Posts the callback after the configured delay. Only to loopback: the stand-in runs for demos and
/// tests, and must never send traffic off this machine.
fn spawn_callback(state: Arc<MockState>, callback_url: String, body: Value) {
    tokio::spawn(async move {
        if !crate::api::is_loopback_url(&callback_url) {
            tracing::warn!("stand-in: callback not posted, its URL is not on loopback");
            return;
        }
        tokio::time::sleep(state.options.callback_delay).await;
        if let Err(e) = state
            .callback_client
            .post(&callback_url)
            .json(&body)
            .send()
            .await
        {
            tracing::info!("stand-in: callback not delivered: {e}");
        }
    });
}

type Params = Query<HashMap<String, String>>;

/// A read API's answer: the checks every call passes, then the center's view (empty without one);
/// `None` from the view is the API's not-found answer.
fn read(
    state: &MockState,
    api: KoreApi,
    stream_id: &str,
    headers: &HeaderMap,
    view: impl FnOnce(&Center) -> Result<Value, String>,
) -> Response {
    if let Err(refusal) = authorize(state, api, stream_id, headers) {
        return refusal.into_answer().0;
    }
    state
        .reads
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let empty = Center::default();
    let center = state.center.as_ref().map(|c| c.lock().expect("mock state"));
    match view(center.as_deref().unwrap_or(&empty)) {
        Ok(body) => (StatusCode::OK, axum::Json(body)).into_response(),
        Err(not_found) => refuse(StatusCode::NOT_FOUND, &not_found).into_answer().0,
    }
}

fn number(params: &HashMap<String, String>, name: &str, default: usize) -> usize {
    params
        .get(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn list_conversations(
    State(state): State<Arc<MockState>>,
    Path(stream_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    // `status` is documented as an array without its encoding: take it repeated, or comma-separated.
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let statuses: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "status" || k == "status[]")
        .flat_map(|(_, v)| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|s| !s.is_empty())
        .collect();
    let q: HashMap<String, String> = pairs.into_iter().collect();
    read(
        &state,
        KoreApi::ListOfConversations,
        &stream_id,
        &headers,
        |c| {
            Ok(c.conversations_page(
                &statuses,
                number(&q, "skip", 0),
                number(&q, "limit", 10),
                Instant::now(),
            ))
        },
    )
}

async fn list_agents(
    State(state): State<Arc<MockState>>,
    Path((stream_id, org_id)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    if org_id != state.identity.org_id {
        return refuse(StatusCode::FORBIDDEN, "orgId does not match the account")
            .into_answer()
            .0;
    }
    read(&state, KoreApi::ListAllAgents, &stream_id, &headers, |c| {
        Ok(c.agents_page(number(&q, "page", 1)))
    })
}

async fn agent_availability(
    State(state): State<Arc<MockState>>,
    Path(stream_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let ids = |key: &str| -> Vec<String> {
        body.get(key)
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (agents, queues) = (ids("agentIds"), ids("queueIds"));
    read(
        &state,
        KoreApi::CheckAgentAvailability,
        &stream_id,
        &headers,
        |c| Ok(c.availability(&agents, &queues)),
    )
}

async fn list_queues(
    State(state): State<Arc<MockState>>,
    Path(stream_id): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    read(
        &state,
        KoreApi::GetListOfQueues,
        &stream_id,
        &headers,
        |c| Ok(c.queues_page(number(&q, "page", 1))),
    )
}

async fn queue_size(
    State(state): State<Arc<MockState>>,
    Path((stream_id, queue_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    read(&state, KoreApi::QueueSize, &stream_id, &headers, |c| {
        c.queue_size(&queue_id, Instant::now())
            .ok_or_else(|| format!("Queue {queue_id} not found"))
    })
}

/// Hours of Operation: outside the stream's path, so the stream comes in the `IId` header.
async fn hours_of_operation(
    State(state): State<Arc<MockState>>,
    Path((_org_id, queue_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let stream_id = headers
        .get("iid")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    read(
        &state,
        KoreApi::HoursOfOperation,
        &stream_id,
        &headers,
        |c| {
            c.queues
                .iter()
                .find(|q| q.id == queue_id)
                .map(|q| q.hours.clone())
                .ok_or_else(|| format!("Queue {queue_id} not found"))
        },
    )
}

/// Conversation History (v2, POST): the messages of the sessions in the body's `sessionId`, newest
/// first, up to `limit`.
async fn conversation_history(
    State(state): State<Arc<MockState>>,
    Path(stream_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let asked: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let session = asked
        .get("sessionId")
        .and_then(Value::as_array)
        .and_then(|ids| ids.first())
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let limit = asked
        .get("limit")
        .and_then(Value::as_u64)
        .map_or(usize::MAX, |l| l as usize);
    read(
        &state,
        KoreApi::ConversationHistory,
        &stream_id,
        &headers,
        |c| {
            let mut answer = c.messages(&stream_id, &session, Instant::now());
            if let Some(messages) = answer.get_mut("messages").and_then(Value::as_array_mut) {
                messages.truncate(limit);
            }
            Ok(answer)
        },
    )
}

/// Update Queue Priority, as Kore's page shows it: the `iId` header required, a body of
/// `queuePriorityData`, each priority 1–10; the answer names the queues updated.
async fn update_queue_priority(
    State(state): State<Arc<MockState>>,
    Path(stream_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = authorize(&state, KoreApi::UpdateQueuePriority, &stream_id, &headers) {
        return refusal.into_answer().0;
    }
    // INVENTED wording, for the refusals below: Kore documents the fields, not its errors.
    if headers.get("iid").and_then(|v| v.to_str().ok()) != Some(stream_id.as_str()) {
        return refuse(StatusCode::BAD_REQUEST, "iId header is missing")
            .into_answer()
            .0;
    }
    let Some(data) = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("queuePriorityData")?.as_array().cloned())
    else {
        return refuse(StatusCode::BAD_REQUEST, "queuePriorityData is required")
            .into_answer()
            .0;
    };
    let mut wanted = Vec::new();
    for item in &data {
        let queue = item.get("queueId").and_then(Value::as_str);
        let priority = item
            .get("priority")
            .and_then(Value::as_u64)
            .filter(|p| (1..=10).contains(p));
        match (queue, priority) {
            (Some(q), Some(p)) => wanted.push((q.to_string(), p as u8)),
            _ => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "each queuePriorityData item needs a queueId and a priority from 1 to 10",
                )
                .into_answer()
                .0;
            }
        }
    }
    let mut updated: Vec<String> = Vec::new();
    if let Some(center) = &state.center {
        let mut center = center.lock().expect("mock state");
        for (queue, priority) in wanted {
            if let Some(q) = center.queues.iter_mut().find(|q| q.id == queue) {
                q.priority = Some(priority);
                updated.push(queue);
            }
        }
    }
    (
        StatusCode::OK,
        axum::Json(json!({"updatedCount": updated.len(), "updatedQueueIds": updated})),
    )
        .into_response()
}

async fn conversation_details(
    State(state): State<Arc<MockState>>,
    Path((stream_id, session_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    read(
        &state,
        KoreApi::GetConversationDetails,
        &stream_id,
        &headers,
        |c| {
            c.conversation_details(&session_id, Instant::now())
                .ok_or_else(|| format!("No conversation found for session {session_id}"))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_read_the_last_four_characters() {
        assert_eq!(
            trigger_for("6538f8a3c9cf425ee5cf0404"),
            Some(Trigger::NotFound)
        );
        assert_eq!(
            trigger_for("6538f8a3c9cf425ee5cf1429"),
            Some(Trigger::RateLimitedOnce)
        );
        assert_eq!(trigger_for("6538f8a3c9cf425ee5cf0001"), None);
        assert_eq!(trigger_for("ab"), None);
    }

    #[test]
    fn body_shapes_are_checked_exactly() {
        let id = MockIdentity::demo(Secret::new("s"));
        let ok = format!(
            r#"{{"callbackUrl":"http://127.0.0.1:1/callback/x","orgId":"{}","aId":"a-8cd2673-0cb7-462d-9453-0ee60e520001","botSessionId":"6538f8a3c9cf425ee5cf0001"}}"#,
            id.org_id
        );
        assert!(check_body(&id, ok.as_bytes()).is_ok());
        let extra = ok.replace("\"orgId\"", "\"queueId\":\"qu-1\",\"orgId\"");
        assert!(check_body(&id, extra.as_bytes()).is_err());
        let user_id = ok.replace("a-8cd2673", "u-8cd2673");
        assert!(check_body(&id, user_id.as_bytes()).is_err());
        let no_type = format!(
            r#"{{"callbackUrl":"http://x","orgId":"{}","queueId":"qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001","botSessionId":"6538f8a3c9cf425ee5cf0001"}}"#,
            id.org_id
        );
        assert!(check_body(&id, no_type.as_bytes()).is_err());
    }
}
