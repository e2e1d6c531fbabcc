//! Sends one assign-conversation request and says what came of it. One call here is one attempt;
//! retries and pacing belong to the dispatcher, which decides from what this returns.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde_json::Value;

use crate::outcome::{Outcome, classify};
use crate::request::{CallbackRoute, Endpoint, Preview, Target, body};
use crate::token::TokenMaker;

/// The largest response body kept; a larger one is cut (the platform's answers are a few hundred bytes).
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

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
    http: reqwest::Client,
    endpoint: Endpoint,
    url: String,
    tokens: TokenMaker,
    callbacks: CallbackRoute,
    timeout: Duration,
}

impl AssignClient {
    pub fn new(
        endpoint: Endpoint,
        tokens: TokenMaker,
        callbacks: CallbackRoute,
        timeout: Duration,
        concurrency: usize,
    ) -> Result<AssignClient, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirected POST would carry the token to wherever it points: never follow one.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(concurrency)
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")));
        if is_loopback_url(&endpoint.host) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(AssignClient {
            url: endpoint.assign_url(),
            http,
            endpoint,
            tokens,
            callbacks,
            timeout,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn callbacks(&self) -> &CallbackRoute {
        &self.callbacks
    }

    pub fn preview(&self, session: &str, target: &Target) -> Preview {
        Preview::new(&self.endpoint, &self.callbacks, session, target)
    }

    pub async fn attempt(&self, session: &str, target: &Target) -> AttemptResult {
        let token = match self.tokens.next() {
            Ok(t) => t,
            Err(e) => return AttemptResult::not_delivered(Outcome::Failed, e.to_string()),
        };
        let Ok(mut auth) = HeaderValue::from_str(token.expose()) else {
            return AttemptResult::not_delivered(
                Outcome::Failed,
                "the token holds characters an HTTP header cannot carry".into(),
            );
        };
        auth.set_sensitive(true);
        let payload = body(
            &self.endpoint.org_id,
            session,
            target,
            &self.callbacks.url_for(session),
        );
        let started = Instant::now();
        let sent = self
            .http
            .post(&self.url)
            .header("auth", auth)
            .header("accountid", &self.endpoint.account_id)
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
        let detail = error_chain(e);
        let (outcome, delivered, message) = if e.is_connect() {
            (
                Outcome::Failed,
                false,
                format!("could not connect: {detail}"),
            )
        } else if e.is_builder() {
            (
                Outcome::Failed,
                false,
                format!("could not build the request: {detail}"),
            )
        } else if e.is_timeout() {
            (
                Outcome::Unknown,
                true,
                format!(
                    "no answer within {} s; the platform may have acted (watch for the callback)",
                    self.timeout.as_secs()
                ),
            )
        } else {
            (
                Outcome::Unknown,
                true,
                format!("connection cut before the answer: {detail}"),
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

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
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

/// An error with its causes, which is where reqwest keeps "connection refused".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

fn is_loopback_url(url: &str) -> bool {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}
