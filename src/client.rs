//! Sends one assign-conversation request and says what came of it. One call here is one attempt;
//! retries and pacing belong to the dispatcher, which decides from what this returns.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde_json::Value;

use crate::api::{Api, KoreApi, error_chain, short_cause};
use crate::outcome::{Outcome, classify};
use crate::request::{CallbackRoute, Endpoint, Preview, Target, body};

/// The largest response body kept; a larger one is cut (the platform's answers are a few hundred bytes).
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub message: String,
    /// The response body: JSON when it parses, else its text.
    pub response: Option<Value>,
    pub latency: Duration,
    pub retry_after: Option<Duration>,
    /// False only when the request certainly never reached the server (nothing to double-send).
    pub delivered: bool,
}

impl AttemptResult {
    pub fn not_delivered(outcome: Outcome, message: String) -> AttemptResult {
        AttemptResult {
            outcome,
            http_status: None,
            message,
            response: None,
            latency: Duration::ZERO,
            retry_after: None,
            delivered: false,
        }
    }
}

pub struct AssignClient {
    api: Arc<Api>,
    url: String,
    callbacks: CallbackRoute,
}

impl AssignClient {
    pub fn new(api: Arc<Api>, callbacks: CallbackRoute) -> AssignClient {
        AssignClient {
            url: api.endpoint().assign_url(),
            api,
            callbacks,
        }
    }

    /// The API this client calls, to share with the run's other calls.
    pub fn api(&self) -> &Arc<Api> {
        &self.api
    }

    pub fn endpoint(&self) -> &Endpoint {
        self.api.endpoint()
    }

    pub fn callbacks(&self) -> &CallbackRoute {
        &self.callbacks
    }

    pub fn preview(&self, session: &str, target: &Target) -> Preview {
        Preview::new(self.endpoint(), &self.callbacks, session, target)
    }

    pub async fn attempt(&self, session: &str, target: &Target) -> AttemptResult {
        let request = match self
            .api
            .request(KoreApi::AssignConversation, Method::POST, &self.url)
        {
            Ok(r) => r,
            Err(e) => return AttemptResult::not_delivered(Outcome::Failed, e),
        };
        let payload = body(
            &self.endpoint().org_id,
            session,
            target,
            &self.callbacks.url_for(session),
        );
        let started = Instant::now();
        let sent = request
            .header(CONTENT_TYPE, "application/json")
            .body(payload)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return self.transport_failure(&e, started.elapsed()),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = match read_capped(response).await {
            Ok(b) => b,
            Err(e) => {
                let mut failed = self.transport_failure(&e, started.elapsed());
                failed.http_status = Some(status);
                failed.outcome = if (200..300).contains(&status) {
                    Outcome::Unknown
                } else {
                    failed.outcome
                };
                return failed;
            }
        };
        let latency = started.elapsed();
        let classified = classify(status, retry_after.as_deref(), &bytes);
        AttemptResult {
            outcome: classified.outcome,
            http_status: Some(status),
            message: classified.message,
            response: Some(response_value(&bytes)),
            latency,
            retry_after: classified.retry_after,
            delivered: true,
        }
    }

    /// No usable answer. Only a failure to connect proves nothing was delivered; anything later (a
    /// timeout, a cut connection) may have reached the platform, so it is `unknown` and never resent.
    fn transport_failure(&self, e: &reqwest::Error, latency: Duration) -> AttemptResult {
        // The cause first and short (`connection refused 127.0.0.1:8080`); the whole chain on the
        // lines after it, for the detail view and the audit log.
        let timeout = self.api.timeout();
        let chain = error_chain(e);
        let with_chain = |first: String| {
            if first.contains(&chain) {
                first
            } else {
                format!("{first}\n{chain}")
            }
        };
        let (outcome, delivered, message) = if e.is_connect() {
            (Outcome::Failed, false, with_chain(short_cause(e, timeout)))
        } else if e.is_builder() {
            (
                Outcome::Failed,
                false,
                with_chain("could not build the request".into()),
            )
        } else if e.is_timeout() {
            (
                Outcome::Unknown,
                true,
                format!(
                    "timeout after {} s: the platform may have acted (watch for the callback)",
                    timeout.as_secs()
                ),
            )
        } else {
            (
                Outcome::Unknown,
                true,
                with_chain("connection cut before the answer: the platform may have acted".into()),
            )
        };
        AttemptResult {
            outcome,
            http_status: None,
            message,
            response: None,
            latency,
            retry_after: None,
            delivered,
        }
    }
}

pub async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_RESPONSE_BYTES.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    Ok(out)
}

fn response_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}
