//! Moving sessions: one session's whole life (pacer slot, audit line, attempt, retries) and a bulk run
//! over many at a bounded concurrency. The `assign` command and the console both move sessions through
//! here, so they pace, retry, stop and record the same way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};

use crate::audit::AuditLog;
use crate::client::{AssignClient, AttemptResult};
use crate::listener::CallbackSummary;
use crate::outcome::Outcome;
use crate::pacer::{Pacer, Priority, Slot};
use crate::request::Target;
use crate::verify::Verified;

/// When an attempt is tried again by itself (SPEC §4).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt, for rate limits and for requests never delivered.
    pub max_retries: u32,
    /// An extra wait after a rate-limit answer without a `Retry-After`, beyond the pacer's: the
    /// pacer already holds the retry until the rolling window has room (at the lowered limit).
    pub default_retry_after: Duration,
    /// The first wait after a request that was never delivered; it doubles each time.
    pub undelivered_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            default_retry_after: Duration::ZERO,
            undelivered_backoff: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before trying again after `result`, or `None` to settle on it.
    pub fn retry_delay(&self, result: &AttemptResult, retries_so_far: u32) -> Option<Duration> {
        if retries_so_far >= self.max_retries {
            return None;
        }
        match result.outcome {
            Outcome::RateLimited => Some(result.retry_after.unwrap_or(self.default_retry_after)),
            Outcome::Failed if !result.delivered => {
                Some(self.undelivered_backoff * 2u32.pow(retries_so_far))
            }
            _ => None,
        }
    }
}

/// What came of one session: the `--json` line of `assign`, and a row's state in the console.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    #[serde(rename = "botSessionId")]
    pub session: String,
    pub target: Target,
    /// The last attempt's outcome; `None` when nothing was sent.
    pub outcome: Option<Outcome>,
    pub http_status: Option<u16>,
    pub message: String,
    pub response: Option<Value>,
    pub latency_ms: Option<u64>,
    pub attempts: u32,
    pub callback: Option<CallbackSummary>,
    /// What the server showed after the move: `verified`, `not moved` or `unverified`; `None`
    /// when it was not checked.
    pub verified: Option<Verified>,
    /// Where the server shows it, or why it could not tell.
    pub verified_detail: Option<String>,
}

impl Report {
    fn not_sent(session: &str, target: &Target, reason: &str) -> Report {
        Report {
            session: session.to_string(),
            target: target.clone(),
            outcome: None,
            http_status: None,
            message: reason.to_string(),
            response: None,
            latency_ms: None,
            attempts: 0,
            callback: None,
            verified: None,
            verified_detail: None,
        }
    }

    /// Whether the platform may have moved it, so the server's view can tell.
    pub fn may_have_moved(&self) -> bool {
        matches!(self.outcome, Some(Outcome::Transferred | Outcome::Unknown))
    }

    /// The outcome word, or `not sent`.
    pub fn outcome_word(&self) -> &'static str {
        self.outcome.map(Outcome::as_str).unwrap_or("not sent")
    }
}

/// What one attempt came back with, as a running move reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptSummary {
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub message: String,
    pub response: Option<Value>,
    pub latency_ms: u64,
}

/// What a running move reports as it goes.
#[derive(Debug, Clone)]
pub enum Progress {
    /// An attempt is on record and about to be sent.
    Attempting {
        session: String,
        target: Target,
        attempt: u32,
    },
    /// An attempt came back; `retry_in` when it will be tried again by itself.
    Attempted {
        session: String,
        target: Target,
        attempt: u32,
        summary: AttemptSummary,
        retry_in: Option<Duration>,
    },
    /// The session's last word.
    Settled(Report),
}

/// Set when a bulk move must stop sending: after a 401/403, every later call would fail the same way.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

pub const STOPPED_REASON: &str = "not sent: an earlier call was unauthorized, so the run stopped";

#[derive(Serialize)]
struct AttemptLine<'a> {
    #[serde(rename = "botSessionId")]
    session: &'a str,
    target: &'a Target,
    attempt: u32,
    method: &'a str,
    url: &'a str,
    body: Value,
}

#[derive(Serialize)]
struct OutcomeLine<'a> {
    #[serde(rename = "botSessionId")]
    session: &'a str,
    target: &'a Target,
    attempt: u32,
    outcome: Outcome,
    http_status: Option<u16>,
    message: &'a str,
    latency_ms: u64,
    response: &'a Option<Value>,
}

#[derive(Serialize)]
struct NotSentLine<'a> {
    #[serde(rename = "botSessionId")]
    session: &'a str,
    target: &'a Target,
    reason: &'a str,
}

#[derive(Clone)]
pub struct Dispatcher {
    client: Arc<AssignClient>,
    pacer: Pacer,
    audit: AuditLog,
    policy: RetryPolicy,
    concurrency: usize,
    /// Requests in flight at once, across every bulk run of the process.
    permits: Arc<Semaphore>,
}

impl Dispatcher {
    pub fn new(
        client: AssignClient,
        pacer: Pacer,
        audit: AuditLog,
        policy: RetryPolicy,
        concurrency: usize,
    ) -> Dispatcher {
        Dispatcher {
            client: Arc::new(client),
            pacer,
            audit,
            policy,
            concurrency: concurrency.max(1),
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    pub fn client(&self) -> &AssignClient {
        &self.client
    }

    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Moves one session, retrying what SPEC §4 retries, and settles on the last attempt's outcome.
    pub async fn assign_one(
        &self,
        session: &str,
        target: &Target,
        stop: &StopSignal,
        progress: Option<&mpsc::UnboundedSender<Progress>>,
    ) -> Report {
        let slot = self.pacer.reserve(Priority::Assign);
        self.assign_reserved(session, target, stop, progress, slot)
            .await
    }

    /// `assign_one` with its first pacer slot already reserved, which keeps a bulk run in order.
    async fn assign_reserved(
        &self,
        session: &str,
        target: &Target,
        stop: &StopSignal,
        progress: Option<&mpsc::UnboundedSender<Progress>>,
        first_slot: Slot,
    ) -> Report {
        let report_progress = |p: Progress| {
            if let Some(tx) = progress {
                let _ = tx.send(p);
            }
        };
        let mut attempt = 0u32;
        let mut slot = Some(first_slot);
        loop {
            let permit = match slot.take() {
                Some(reserved) => reserved.wait().await,
                None => self.pacer.acquire(Priority::Assign).await,
            };
            if stop.is_stopped() && attempt == 0 {
                permit.cancel();
                return self.settle_unsent(session, target, STOPPED_REASON, &report_progress);
            }
            attempt += 1;
            let preview = self.client.preview(session, target);
            let line = AttemptLine {
                session,
                target,
                attempt,
                method: preview.method,
                url: &preview.url,
                body: serde_json::from_str(&preview.body).unwrap_or(Value::Null),
            };
            if let Err(e) = self.audit.record("attempt", &line) {
                // What is not on record is not sent.
                let reason = format!(
                    "not sent: cannot write the audit log {}: {e}",
                    self.audit.path().display()
                );
                permit.cancel();
                return self.settle_unsent(session, target, &reason, &report_progress);
            }
            report_progress(Progress::Attempting {
                session: session.to_string(),
                target: target.clone(),
                attempt,
            });
            let result = self.client.attempt(session, target).await;
            // The call is over: from its end, the budget counts it out a window later.
            drop(permit);
            if result.outcome == Outcome::RateLimited {
                self.pacer.rate_limited();
            }
            let latency_ms = result.latency.as_millis() as u64;
            let _ = self.audit.record(
                "outcome",
                &OutcomeLine {
                    session,
                    target,
                    attempt,
                    outcome: result.outcome,
                    http_status: result.http_status,
                    message: &result.message,
                    latency_ms,
                    response: &result.response,
                },
            );
            if result.outcome == Outcome::Unauthorized {
                stop.stop();
            }
            let retry_in = self
                .policy
                .retry_delay(&result, attempt - 1)
                .filter(|_| !stop.is_stopped());
            report_progress(Progress::Attempted {
                session: session.to_string(),
                target: target.clone(),
                attempt,
                summary: AttemptSummary {
                    outcome: result.outcome,
                    http_status: result.http_status,
                    message: result.message.clone(),
                    response: result.response.clone(),
                    latency_ms,
                },
                retry_in,
            });
            if let Some(after) = retry_in {
                tracing::info!(session, attempt, outcome = %result.outcome, ?after, "retrying");
                tokio::time::sleep(after).await;
                continue;
            }
            let report = Report {
                session: session.to_string(),
                target: target.clone(),
                outcome: Some(result.outcome),
                http_status: result.http_status,
                message: result.message,
                response: result.response,
                latency_ms: Some(latency_ms),
                attempts: attempt,
                callback: None,
                verified: None,
                verified_detail: None,
            };
            report_progress(Progress::Settled(report.clone()));
            return report;
        }
    }

    fn settle_unsent(
        &self,
        session: &str,
        target: &Target,
        reason: &str,
        report_progress: &impl Fn(Progress),
    ) -> Report {
        let _ = self.audit.record(
            "not_sent",
            &NotSentLine {
                session,
                target,
                reason,
            },
        );
        let report = Report::not_sent(session, target, reason);
        report_progress(Progress::Settled(report.clone()));
        report
    }

    /// Moves every session to `target` in order, with at most `concurrency` requests in flight across
    /// every run of the process, and returns their reports in the same order. After a 401/403 nothing
    /// more of this run is sent.
    pub async fn assign_all(
        &self,
        sessions: &[String],
        target: &Target,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Vec<Report> {
        let stop = StopSignal::default();
        let mut tasks = tokio::task::JoinSet::new();
        let mut reports: Vec<Option<Report>> = vec![None; sessions.len()];
        for (index, session) in sessions.iter().enumerate() {
            let permit = self
                .permits
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let slot = self.pacer.reserve(Priority::Assign);
            let (this, session, target, stop, progress) = (
                self.clone(),
                session.clone(),
                target.clone(),
                stop.clone(),
                progress.clone(),
            );
            tasks.spawn(async move {
                let report = this
                    .assign_reserved(&session, &target, &stop, progress.as_ref(), slot)
                    .await;
                drop(permit);
                (index, report)
            });
            while let Some(done) = tasks.try_join_next() {
                let (i, report) = done.expect("an assignment task panicked");
                reports[i] = Some(report);
            }
        }
        while let Some(done) = tasks.join_next().await {
            let (i, report) = done.expect("an assignment task panicked");
            reports[i] = Some(report);
        }
        reports
            .into_iter()
            .map(|r| r.expect("every session has a report"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(outcome: Outcome, delivered: bool, retry_after: Option<u64>) -> AttemptResult {
        AttemptResult {
            outcome,
            http_status: None,
            message: String::new(),
            response: None,
            latency: Duration::ZERO,
            retry_after: retry_after.map(Duration::from_secs),
            delivered,
        }
    }

    #[test]
    fn rate_limits_wait_for_retry_after_else_only_for_the_pacer_three_times() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.retry_delay(&result(Outcome::RateLimited, true, Some(5)), 0),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            p.retry_delay(&result(Outcome::RateLimited, true, None), 2),
            Some(Duration::ZERO),
            "the pacer holds the retry until the window has room"
        );
        assert_eq!(
            p.retry_delay(&result(Outcome::RateLimited, true, None), 3),
            None
        );
    }

    #[test]
    fn only_undelivered_failures_are_retried() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.retry_delay(&result(Outcome::Failed, false, None), 0),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            p.retry_delay(&result(Outcome::Failed, false, None), 2),
            Some(Duration::from_secs(4))
        );
        for outcome in [
            Outcome::Failed,
            Outcome::Unknown,
            Outcome::Rejected,
            Outcome::Unauthorized,
            Outcome::Transferred,
        ] {
            assert_eq!(
                p.retry_delay(&result(outcome, true, None), 0),
                None,
                "{outcome}"
            );
        }
    }
}
