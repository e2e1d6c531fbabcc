//! Moving sessions: one session's whole life (pacer slot, audit line, attempt, retries) and a bulk run
//! over many at a bounded concurrency. The `assign` command and the console both move sessions through
//! here, so they pace, retry, stop and record the same way.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::audit::AuditLog;
use crate::claims::{Claims, Held};
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
    /// The longest `Retry-After` waited for: a server asking for more settles the move as
    /// `rate_limited` at once, rather than a run sleeping for days.
    pub max_retry_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            default_retry_after: Duration::ZERO,
            undelivered_backoff: Duration::from_secs(1),
            max_retry_wait: Duration::from_secs(crate::config::DEFAULT_MAX_RETRY_WAIT_SECS),
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
            Outcome::RateLimited if self.asks_too_long(result).is_some() => None,
            Outcome::RateLimited => Some(result.retry_after.unwrap_or(self.default_retry_after)),
            Outcome::Failed if !result.delivered => {
                Some(self.undelivered_backoff * 2u32.pow(retries_so_far))
            }
            _ => None,
        }
    }

    /// How long a rate-limit answer asked to wait, when that is longer than this policy waits.
    pub fn asks_too_long(&self, result: &AttemptResult) -> Option<Duration> {
        result
            .retry_after
            .filter(|wait| result.outcome == Outcome::RateLimited && *wait > self.max_retry_wait)
    }
}

/// What came of one session: the `--json` line of `assign`, and a row's state in the console.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    #[serde(rename = "botSessionId")]
    pub session: String,
    pub target: Target,
    /// The last attempt's outcome; `cancelled` when it was never sent.
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
    fn cancelled(session: &str, target: &Target, reason: &str) -> Report {
        Report {
            session: session.to_string(),
            target: target.clone(),
            outcome: Some(Outcome::Cancelled),
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

    /// The outcome word.
    pub fn outcome_word(&self) -> &'static str {
        self.outcome.map(Outcome::as_str).unwrap_or("cancelled")
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

/// Stops a run: `x` or quit in the console, a signal to `assign`, or a 401/403 (every later call would
/// fail the same way). Moves not yet sent are cancelled at once — waiting for a pacer slot or a
/// concurrency permit ends the moment it is stopped — and requests already on the wire settle.
#[derive(Debug, Clone)]
pub struct StopSignal(Arc<watch::Sender<Option<String>>>);

impl Default for StopSignal {
    fn default() -> Self {
        StopSignal(Arc::new(watch::channel(None).0))
    }
}

impl StopSignal {
    /// Stops, saying why (the first reason stays).
    pub fn stop(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.0.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason);
                true
            } else {
                false
            }
        });
    }

    pub fn is_stopped(&self) -> bool {
        self.0.borrow().is_some()
    }

    /// Why it stopped, when it did.
    pub fn reason(&self) -> Option<String> {
        self.0.borrow().clone()
    }

    /// Resolves once stopped.
    pub async fn stopped(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(Option::is_some).await;
    }
}

/// Where a session was before a move, as the live data showed it: what a revert moves it back to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The queue it was in (`qu-`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The agent it was with, as `aId` takes it (`a-`), when the live data could name them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The same agent as conversations name them (`u-`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_user: Option<String>,
    /// The queue's and the agent's names as the live data showed them, for a reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
}

impl Origin {
    pub fn is_unknown(&self) -> bool {
        self.queue.is_none() && self.agent.is_none() && self.agent_user.is_none()
    }
}

/// One session to move, where to, and where it was (when known).
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    pub session: String,
    pub target: Target,
    pub from: Option<Origin>,
    /// The target's name as the live data or the panes showed it, for the record.
    pub target_name: Option<String>,
}

impl Move {
    /// This move, its target named as the reader knows it.
    pub fn named(self, target_name: impl Into<String>) -> Move {
        Move {
            target_name: Some(target_name.into()),
            ..self
        }
    }

    pub fn new(session: impl Into<String>, target: Target) -> Move {
        Move {
            session: session.into(),
            target,
            from: None,
            target_name: None,
        }
    }
}

/// One confirmed batch — one `y`, one `assign`, one `apply` — with its own id on each of its audit
/// lines, and the switch that stops it.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: String,
    pub stop: StopSignal,
    /// The sessions the supervisor insisted on (a second `y`, `--force`): sent even when another
    /// run moved them a moment ago. A session another run is moving now never is.
    pub insist: Insist,
    /// The run this one undoes (a revert): its marks hold nothing back, as they are what it undoes.
    pub undoes: Option<String>,
}

/// Which sessions a run sends although another run moved them a moment ago.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Insist {
    #[default]
    None,
    All,
    Only(std::collections::HashSet<String>),
}

impl Insist {
    pub fn covers(&self, session: &str) -> bool {
        match self {
            Insist::None => false,
            Insist::All => true,
            Insist::Only(sessions) => sessions.contains(session),
        }
    }
}

impl Run {
    pub fn new() -> Run {
        Run::with_stop(StopSignal::default())
    }

    pub fn with_stop(stop: StopSignal) -> Run {
        Run {
            id: crate::secret::random_hex(6),
            stop,
            insist: Insist::None,
            undoes: None,
        }
    }

    /// This run, sending these sessions although another run moved them a moment ago.
    pub fn insisting(self, insist: Insist) -> Run {
        Run { insist, ..self }
    }

    /// This run, undoing `run` (a revert's plan).
    pub fn undoing(self, undoes: Option<String>) -> Run {
        Run { undoes, ..self }
    }
}

impl Default for Run {
    fn default() -> Self {
        Run::new()
    }
}

/// What a run came to, in one line: `12 sent: 9 transferred, 1 rejected, 2 unknown; 37 cancelled
/// (stopped: 401 Invalid apikey)`.
pub fn summarize(reports: &[Report], stopped: Option<&str>) -> String {
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    let mut add = |word: &'static str| match counts.iter_mut().find(|(w, _)| *w == word) {
        Some((_, n)) => *n += 1,
        None => counts.push((word, 1)),
    };
    let mut sent = 0;
    for r in reports.iter().filter(|r| r.attempts > 0) {
        sent += 1;
        add(r.outcome_word());
    }
    let cancelled = reports.len() - sent;
    let mut text = format!("{sent} sent");
    if !counts.is_empty() {
        // In the order of SPEC §4's table.
        counts.sort_by_key(|(w, _)| Outcome::ALL.iter().position(|o| o.as_str() == *w));
        let parts: Vec<String> = counts.iter().map(|(w, n)| format!("{n} {w}")).collect();
        text.push_str(&format!(": {}", parts.join(", ")));
    }
    if cancelled > 0 {
        text.push_str(&format!("; {cancelled} cancelled"));
    }
    if let Some(why) = stopped {
        // The reason may hold a server's words: shown, never obeyed by the terminal.
        text.push_str(&format!(" (stopped: {})", crate::format::one_line(why)));
    }
    text
}

#[derive(Serialize)]
struct AttemptLine<'a> {
    #[serde(rename = "botSessionId")]
    session: &'a str,
    target: &'a Target,
    /// The target's name as seen when it was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    target_name: Option<&'a str>,
    /// Where the session was before, for a revert.
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'a Origin>,
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

#[derive(Clone)]
pub struct Dispatcher {
    client: Arc<AssignClient>,
    pacer: Pacer,
    audit: AuditLog,
    policy: RetryPolicy,
    concurrency: usize,
    /// Requests in flight at once, across every bulk run of the process.
    permits: Arc<Semaphore>,
    /// The account's claims on this machine; `None` for a dispatcher that shares nothing (tests).
    claims: Option<Claims>,
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
            claims: None,
        }
    }

    /// This dispatcher, claiming each run's sessions in `claims` before it sends them.
    pub fn with_claims(self, claims: Claims) -> Dispatcher {
        Dispatcher {
            claims: Some(claims),
            ..self
        }
    }

    pub fn claims(&self) -> Option<&Claims> {
        self.claims.as_ref()
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

    /// Moves one session as a run of its own, retrying what SPEC §4 retries, and settles on the last
    /// attempt's outcome.
    pub async fn assign_one(
        &self,
        session: &str,
        target: &Target,
        stop: &StopSignal,
        progress: Option<&mpsc::UnboundedSender<Progress>>,
    ) -> Report {
        let run = Run::with_stop(stop.clone());
        let slot = self.pacer.reserve(Priority::Assign);
        self.assign_reserved(&run, &Move::new(session, target.clone()), progress, slot)
            .await
    }

    /// `assign_one` with its first pacer slot already reserved, which keeps a bulk run in order.
    async fn assign_reserved(
        &self,
        run: &Run,
        mv: &Move,
        progress: Option<&mpsc::UnboundedSender<Progress>>,
        first_slot: Slot,
    ) -> Report {
        let (session, target) = (mv.session.as_str(), &mv.target);
        let report_progress = |p: Progress| {
            if let Some(tx) = progress {
                let _ = tx.send(p);
            }
        };
        let stop = &run.stop;
        let mut attempt = 0u32;
        let mut slot = Some(first_slot);
        // The answer a stop mid-retry settles on: the session was sent, so it is not cancelled.
        let mut last: Option<Report> = None;
        loop {
            let waiting = async {
                match slot.take() {
                    Some(reserved) => reserved.wait().await,
                    None => self.pacer.acquire(Priority::Assign).await,
                }
            };
            // A stop ends the wait at once: nothing drains through the pacer.
            let permit = tokio::select! {
                biased;
                _ = stop.stopped() => None,
                permit = waiting => Some(permit),
            };
            let permit = match permit {
                Some(p) if !stop.is_stopped() => p,
                unused => {
                    if let Some(p) = unused {
                        p.cancel();
                    }
                    let reason = stopped_reason(run);
                    return self.settle_unsent(
                        run,
                        session,
                        target,
                        last,
                        &reason,
                        &report_progress,
                    );
                }
            };
            attempt += 1;
            let preview = self.client.preview(session, target);
            let line = AttemptLine {
                session,
                target,
                target_name: mv.target_name.as_deref(),
                from: mv.from.as_ref(),
                attempt,
                method: preview.method,
                url: &preview.url,
                body: serde_json::from_str(&preview.body).unwrap_or(Value::Null),
            };
            self.audit.note_run(session, &run.id);
            // Off the runtime, as the lock may wait for another process; a stop meanwhile means
            // the line is not written and nothing is sent.
            let written = {
                let (audit, run_id, stop) = (self.audit.clone(), run.id.clone(), stop.clone());
                let line = serde_json::to_value(&line).unwrap_or(Value::Null);
                tokio::task::spawn_blocking(move || {
                    audit.record_unless(Some(&run_id), "attempt", &line, || stop.is_stopped())
                })
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
            };
            if let Ok(false) = written {
                permit.cancel();
                let reason = stopped_reason(run);
                return self.settle_unsent(run, session, target, last, &reason, &report_progress);
            }
            if let Err(e) = written {
                // What is not on record is not sent.
                let reason = format!(
                    "not sent: cannot write the audit log {}: {e}",
                    self.audit.path().display()
                );
                permit.cancel();
                // Nor anything after it: the whole run stops, and what waits is cancelled.
                stop.stop(format!(
                    "cannot write the audit log {}: {e}",
                    self.audit.path().display()
                ));
                return self.settle_unsent(run, session, target, last, &reason, &report_progress);
            }
            report_progress(Progress::Attempting {
                session: session.to_string(),
                target: target.clone(),
                attempt,
            });
            let mut result = self.client.attempt(session, target).await;
            if let Some(asked) = self.policy.asks_too_long(&result) {
                let said = if result.message.is_empty() {
                    String::new()
                } else {
                    format!("{}; ", result.message)
                };
                result.message = format!(
                    "{said}the server asked to wait {}, longer than max_retry_wait_secs ({}): not retried",
                    crate::format::duration(asked),
                    crate::format::duration(self.policy.max_retry_wait)
                );
            }
            // The call is over: from its end, the budget counts it out a window later.
            drop(permit);
            if result.outcome == Outcome::RateLimited {
                self.pacer.rate_limited();
            }
            let latency_ms = result.latency.as_millis() as u64;
            if let Err(e) = self.audit.record(
                Some(&run.id),
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
            ) {
                // An answer that cannot be put on record stops the run as an attempt line does:
                // nothing more is sent while the record is lost.
                stop.stop(format!(
                    "cannot write the audit log {}: {e}",
                    self.audit.path().display()
                ));
            }
            if result.outcome == Outcome::Unauthorized {
                let status = result
                    .http_status
                    .map(|s| format!("{s} "))
                    .unwrap_or_default();
                stop.stop(format!("{status}{}", result.message));
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
            let Some(after) = retry_in else {
                return self.settle(report, &report_progress);
            };
            tracing::info!(session, attempt, outcome = ?report.outcome, ?after, "retrying");
            last = Some(report);
            tokio::select! {
                biased;
                _ = stop.stopped() => {}
                _ = tokio::time::sleep(after) => {}
            }
        }
    }

    fn settle(&self, report: Report, report_progress: &impl Fn(Progress)) -> Report {
        report_progress(Progress::Settled(report.clone()));
        report
    }

    /// This session's next send will not happen (the run stopped, or its attempt could not be put
    /// on record): `cancelled` for `reason` if it was never sent, else its last answer stands.
    fn settle_unsent(
        &self,
        run: &Run,
        session: &str,
        target: &Target,
        last: Option<Report>,
        reason: &str,
        report_progress: &impl Fn(Progress),
    ) -> Report {
        match last {
            Some(report) => self.settle(report, report_progress),
            None => self.settle_cancelled(run, session, target, reason, report_progress),
        }
    }

    /// Records a session that was never sent as `cancelled`, with why.
    fn settle_cancelled(
        &self,
        run: &Run,
        session: &str,
        target: &Target,
        reason: &str,
        report_progress: &impl Fn(Progress),
    ) -> Report {
        let _ = self.audit.record(
            Some(&run.id),
            "outcome",
            &OutcomeLine {
                session,
                target,
                attempt: 0,
                outcome: Outcome::Cancelled,
                http_status: None,
                message: reason,
                latency_ms: 0,
                response: &None,
            },
        );
        let report = Report::cancelled(session, target, reason);
        self.settle(report, report_progress)
    }

    /// Moves every session to `target` in order as a run of its own; see `assign_moves`.
    pub async fn assign_all(
        &self,
        sessions: &[String],
        target: &Target,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Vec<Report> {
        self.assign_run(&Run::new(), sessions, target, progress)
            .await
    }

    /// Moves every session to `target` in order; see `assign_moves`.
    pub async fn assign_run(
        &self,
        run: &Run,
        sessions: &[String],
        target: &Target,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Vec<Report> {
        let moves: Vec<Move> = sessions
            .iter()
            .map(|s| Move::new(s.as_str(), target.clone()))
            .collect();
        self.assign_moves(run, &moves, progress).await
    }

    /// Makes each move in order, with at most `concurrency` requests in flight across every run of
    /// the process, and returns their reports in the same order. Each session is claimed first: one
    /// another run holds is `cancelled` with who holds it, never sent. Once the run is stopped
    /// nothing more of it is sent: what waits is cancelled at once. A task that panics stops the
    /// run, and its session is `unknown` (it may have been sent).
    pub async fn assign_moves(
        &self,
        run: &Run,
        moves: &[Move],
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Vec<Report> {
        // A read-only process could not build the requests anyway (`Api::request`); stopping the
        // run first puts each move on record as cancelled, with why, instead of as failed attempts.
        if let Some(reason) = self.client.api().read_only_reason() {
            run.stop.stop(reason);
        }
        let held = self.claim(run, moves).await;
        // A shared store away for longer than a request may take stops the run: what waits is
        // cancelled, never sent on a budget nobody else can see.
        let store_watch = {
            let (pacer, stop, patience) = (
                self.pacer.clone(),
                run.stop.clone(),
                self.client.api().timeout(),
            );
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    if let Some(away) = pacer.status().store_lost_for
                        && away > patience
                    {
                        stop.stop(format!(
                            "shared store unreachable for {}",
                            crate::format::duration(away)
                        ));
                        return;
                    }
                }
            })
        };
        // This process's reads wait until every move of the batch has settled.
        let coming = self
            .pacer
            .moves_coming(held.iter().filter(|h| h.is_none()).count());
        let mut tasks = tokio::task::JoinSet::new();
        let mut reports: Vec<Option<Report>> = vec![None; moves.len()];
        let report_progress = |p: Progress| {
            if let Some(tx) = &progress {
                let _ = tx.send(p);
            }
        };
        for (index, mv) in moves.iter().enumerate() {
            if let Some(held) = &held[index] {
                let reason = format!("cancelled: {}", held.reason());
                reports[index] = Some(self.settle_cancelled(
                    run,
                    &mv.session,
                    &mv.target,
                    &reason,
                    &report_progress,
                ));
                continue;
            }
            let permit = tokio::select! {
                biased;
                _ = run.stop.stopped() => None,
                permit = self.permits.clone().acquire_owned() => {
                    Some(permit.expect("the semaphore is never closed"))
                }
            };
            let Some(permit) = permit else {
                let reason = stopped_reason(run);
                let report =
                    self.settle_cancelled(run, &mv.session, &mv.target, &reason, &report_progress);
                reports[index] = Some(self.unclaim(run, report).await);
                coming.one_done();
                continue;
            };
            let slot = self.pacer.reserve(Priority::Assign);
            let (this, run, mv, progress, coming) = (
                self.clone(),
                run.clone(),
                mv.clone(),
                progress.clone(),
                coming.clone(),
            );
            tasks.spawn(async move {
                let moving = this.assign_reserved(&run, &mv, progress.as_ref(), slot);
                let report = match caught(moving).await {
                    Ok(report) => report,
                    Err(what) => this.settle_panicked(&run, &mv, &what, progress.as_ref()),
                };
                drop(permit);
                coming.one_done();
                (index, this.unclaim(&run, report).await)
            });
            while let Some(Ok((i, report))) = tasks.try_join_next() {
                reports[i] = Some(report);
            }
        }
        while let Some(done) = tasks.join_next().await {
            // Every task catches its own panic; a task cancelled from outside leaves its report
            // to the line below.
            if let Ok((i, report)) = done {
                reports[i] = Some(report);
            }
        }
        store_watch.abort();
        reports
            .into_iter()
            .zip(moves)
            .map(|(r, mv)| {
                r.unwrap_or_else(|| {
                    Report::cancelled(&mv.session, &mv.target, "cancelled: its task ended")
                })
            })
            .collect()
    }

    /// Claims the run's sessions (none once it is stopped): for each, what holds it instead. Claims
    /// that cannot be read stop the run, as sending blind could send a session twice.
    async fn claim(&self, run: &Run, moves: &[Move]) -> Vec<Option<Held>> {
        let free = vec![None; moves.len()];
        let Some(claims) = self.claims.as_ref().filter(|_| !run.stop.is_stopped()) else {
            return free;
        };
        let sessions: Vec<String> = moves.iter().map(|m| m.session.clone()).collect();
        let overrides = |session: &str, mark: &crate::claims::Claim| {
            run.insist.covers(session) || run.undoes.as_deref() == Some(mark.run.as_str())
        };
        match claims.take(&run.id, &sessions, overrides).await {
            Ok(held) => held,
            Err(e) => {
                run.stop
                    .stop(format!("cannot read the claims ({}): {e}", claims.place()));
                free
            }
        }
    }

    /// Ends the run's claim on a settled session: a mark when it may have moved.
    async fn unclaim(&self, run: &Run, report: Report) -> Report {
        if let Some(claims) = &self.claims
            && let Err(e) = claims
                .settle(&run.id, &report.session, report.may_have_moved())
                .await
        {
            tracing::warn!(session = %report.session, "cannot settle the claim: {e}");
        }
        report
    }

    /// A move whose task panicked: the run stops, and the session is `unknown` on record, since
    /// its request may have left.
    fn settle_panicked(
        &self,
        run: &Run,
        mv: &Move,
        what: &str,
        progress: Option<&mpsc::UnboundedSender<Progress>>,
    ) -> Report {
        let message = format!("its task failed ({what}): it may have been sent");
        tracing::error!(session = %mv.session, "{message}");
        run.stop.stop(format!("a move's task failed: {what}"));
        let _ = self.audit.record(
            Some(&run.id),
            "outcome",
            &OutcomeLine {
                session: &mv.session,
                target: &mv.target,
                attempt: 0,
                outcome: Outcome::Unknown,
                http_status: None,
                message: &message,
                latency_ms: 0,
                response: &None,
            },
        );
        let report = Report {
            outcome: Some(Outcome::Unknown),
            message,
            // Counted as sent: it may have been.
            attempts: 1,
            ..Report::cancelled(&mv.session, &mv.target, "")
        };
        if let Some(tx) = progress {
            let _ = tx.send(Progress::Settled(report.clone()));
        }
        report
    }
}

/// Runs `future`, catching a panic in it: what it said, for the record, in place of its output.
async fn caught<T>(future: impl std::future::Future<Output = T>) -> Result<T, String> {
    futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(future))
        .await
        .map_err(|panic| {
            panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into())
        })
}

/// Why a never-sent session was cancelled.
fn stopped_reason(run: &Run) -> String {
    match run.stop.reason() {
        Some(why) => format!("cancelled: the run stopped ({why})"),
        None => "cancelled: the run stopped".into(),
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

    #[tokio::test]
    async fn a_panic_in_a_move_is_caught_with_what_it_said() {
        assert_eq!(caught(async { 7 }).await, Ok(7));
        let panicking = async {
            if std::hint::black_box(true) {
                panic!("index out of bounds");
            }
            7
        };
        assert_eq!(caught(panicking).await, Err("index out of bounds".into()));
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
