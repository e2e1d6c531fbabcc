//! What comes back from the world: progress and answers of moves, live data, loaded files,
//! verifications due.

use crate::picture::SharedEvent;
use std::time::Duration;

use nucleo::Matcher;
use tokio::time::Instant;

use crate::dispatch::{Progress, Report};
use crate::listener::CallbackState;
use crate::live::LiveSnapshot;
use crate::outcome::Outcome;
use crate::request::{Preview, Target, TargetKind};

use super::super::activity::{ActivityEntry, ActivityKind};
use super::super::live;
use super::super::table::{Row, Table};
use super::place::{self, Spot};
use super::{App, Effect, Level, LoadedRows, SessionItem};

/// With live data on, moves that settled as `transferred` (or `unknown`) are checked with the server
/// once their callback came or `VERIFY_AFTER` after the answer, in one batch per tick.
pub(super) fn verifications_due(app: &mut App, now: Instant) -> Vec<Effect> {
    if !app.live.enabled {
        return vec![];
    }
    let mut moves = Vec::new();
    for s in app.sessions.rows_mut() {
        let heard = s.state.callback.is_some_and(CallbackState::came);
        let waited = s
            .state
            .settled_at
            .is_some_and(|t| now.saturating_duration_since(t) >= VERIFY_AFTER);
        if s.state.wants_verifying()
            && (heard || waited)
            && let Some(target) = s.state.target.clone()
        {
            s.state.verifying = true;
            moves.push((s.row.id.clone(), target));
        }
    }
    if moves.is_empty() {
        return vec![];
    }
    let users = app
        .agents
        .rows()
        .iter()
        .filter_map(|a| a.user_id.clone().map(|u| (a.id.clone(), u)))
        .collect();
    vec![Effect::Verify { moves, users }]
}

pub(super) fn on_progress(app: &mut App, at: String, now: Instant, progress: Progress) {
    match progress {
        Progress::Attempting {
            session,
            target,
            attempt,
        } => {
            let preview = Preview::new(&app.ctx.endpoint, &app.ctx.callbacks, &session, &target);
            if let Some(s) = app.sessions.by_id_mut(&session) {
                s.state.attempt = attempt;
                s.state.retrying = false;
                s.state.on_wire = true;
            }
            app.seq += 1;
            let entry = ActivityEntry::request(app.seq, at, &session, &target, attempt, &preview);
            app.push_activity(entry);
        }
        Progress::Attempted {
            session,
            target,
            attempt,
            summary,
            retry_in,
        } => {
            if let Some(s) = app.sessions.by_id_mut(&session) {
                s.state.retrying = retry_in.is_some();
                s.state.on_wire = false;
            }
            let kind = ActivityKind::Response {
                target,
                attempt,
                outcome: summary.outcome,
                http_status: summary.http_status,
                message: summary.message,
                latency_ms: summary.latency_ms,
                response: summary.response,
                retry_in_ms: retry_in.map(|d| d.as_millis() as u64),
            };
            app.log(at, Some(session), kind);
        }
        Progress::Settled(report) => on_settled(app, at, now, report),
    }
}

/// Asks for live data now: the `R` key and `:load live`.
pub(super) fn refresh_now(app: &mut App) -> Vec<Effect> {
    app.live.enabled = true;
    if app.live.refreshing {
        app.note(Level::Info, "a refresh of the live data is already running");
        return vec![];
    }
    app.live.refreshing = true;
    app.note(
        Level::Info,
        "refreshing the live data (behind any assignments)",
    );
    // What the refresh finds is the answer to this: it may take the line.
    app.status_from_background = true;
    vec![Effect::Refresh]
}

pub(super) fn on_live(
    app: &mut App,
    at: String,
    asked: Instant,
    now: Instant,
    result: Result<LiveSnapshot, String>,
) {
    app.live.refreshing = false;
    app.live.next_due = Some(now + app.live.every);
    match result {
        Ok(snapshot) => {
            let snapshot = std::sync::Arc::new(snapshot);
            app.snapshot = Some(snapshot.clone());
            let merged = {
                let mut matcher = app.matcher.borrow_mut();
                live::merge(
                    &mut app.sessions,
                    &mut app.agents,
                    &mut app.queues,
                    &snapshot,
                    asked,
                    &mut matcher,
                )
            };
            place::recount(app);
            app.trends.record(asked, &snapshot);
            if !snapshot.conversations.is_empty() {
                app.session_columns.note(&live::live_column_names());
            }
            let first = app.live.last_ok.is_none();
            // The data is as old as the moment it was asked for, not as the last page's arrival.
            app.live.last_ok = Some(asked);
            app.live.last_cost = Some(snapshot.calls);
            app.live.failure = None;
            if !snapshot.warnings.is_empty() {
                let text = format!("live data read, but: {}", snapshot.warnings.join("; "));
                app.background_note(Level::Warn, text.clone());
                app.log(at, None, ActivityKind::Note { text });
            } else if first {
                app.background_note(
                    Level::Info,
                    format!(
                        "live: {} open conversations, {} agents, {} queues ({} calls)",
                        snapshot.conversations.len(),
                        snapshot.agents.len(),
                        snapshot.queues.len(),
                        snapshot.calls
                    ),
                );
            }
            if merged.sessions_gone > 0 || merged.sessions_added > 0 {
                tracing::debug!(
                    added = merged.sessions_added,
                    gone = merged.sessions_gone,
                    "live sessions merged"
                );
            }
        }
        Err(why) => {
            // The cause first and short on screen; the whole chain (the lines after the first)
            // in the Activity entry, one Enter away.
            let short = why.lines().next().unwrap_or_default().to_string();
            app.live.failure = Some((now, short.clone()));
            app.background_note(
                Level::Error,
                format!("live data not refreshed, the panes show the last data: {short}"),
            );
            app.log(
                at,
                None,
                ActivityKind::Note {
                    text: format!("live data not refreshed: {why}"),
                },
            );
        }
    }
}

pub(super) fn on_settled(app: &mut App, at: String, now: Instant, report: Report) {
    if report.outcome == Some(Outcome::Cancelled) {
        app.log(
            at,
            Some(report.session.clone()),
            ActivityKind::NotSent {
                target: report.target.clone(),
                reason: report.message.clone(),
            },
        );
    }
    let Some(i) = app.sessions.find(&report.session) else {
        return;
    };
    if let Some(s) = app.sessions.by_id_mut(&report.session) {
        s.state.in_flight = false;
        s.state.on_wire = false;
        s.state.retrying = false;
        s.state.outcome = Some(report.outcome);
        s.state.history.push(report.outcome);
        s.state.ever_transferred |= report.outcome == Some(Outcome::Transferred);
        s.state.message = report.message;
        s.state.attempt = report.attempts;
        s.state.settled_at = Some(now);
        s.state.target = Some(report.target.clone());
        // A new answer: what the server showed of an earlier move no longer speaks for this one.
        s.state.verified = None;
        // A callback can beat the answer; keep it. Otherwise wait for one where one may come.
        let arrived = s.state.callback.is_some_and(CallbackState::came);
        if !arrived {
            s.state.callback = match report.outcome {
                Some(Outcome::Transferred | Outcome::Unknown) => Some(CallbackState::Waiting),
                _ => Some(CallbackState::None),
            };
        }
    }
    if report.outcome == Some(Outcome::Transferred) {
        let spot = target_spot(app, &report.session, &report.target);
        if let Some(s) = app.sessions.by_id_mut(&report.session) {
            s.moved_to(spot, now);
        }
        place::recount(app);
    }
    app.sessions.refresh(i);
}

/// Another supervisor's event, from the shared store: it goes in Activity under their name, and a
/// move they made shows on its row at once (until a read shows it), as one of ours does.
pub(super) fn on_shared(app: &mut App, at: String, now: Instant, event: SharedEvent) {
    let text = event.describe();
    if event.event == "outcome"
        && event.outcome.as_deref() == Some("transferred")
        && let (Some(session), Some(target)) = (&event.session, &event.target)
    {
        let spot = target_spot(app, session, target);
        if let Some(i) = app.sessions.find(session) {
            if let Some(s) = app.sessions.by_id_mut(session) {
                s.moved_to(spot, now);
            }
            app.sessions.refresh(i);
            place::recount(app);
        }
    }
    // A queue another supervisor raised is watched here too, for the alert that offers to lower it.
    if event.event == crate::priority::EVENT
        && matches!(event.outcome.as_deref(), Some("set" | "unknown"))
        && let (Some(target), Some(priority)) = (&event.target, event.priority)
    {
        let change = crate::priority::Change {
            queue: target.id.clone(),
            queue_name: app.name_of(target),
            priority,
            was: event.was,
        };
        app.raised.note(&change, now);
    }
    app.log(at, event.session.clone(), ActivityKind::Note { text });
}

/// Where a move to `target` puts a session: a queue move, that queue and no agent; an agent move,
/// that agent (in the queue it was in).
fn target_spot(app: &App, session: &str, target: &Target) -> Spot {
    let name = app.name_of(target).unwrap_or_else(|| target.id.clone());
    match target.kind {
        TargetKind::Queue => Spot {
            queue_id: Some(target.id.clone()),
            queue: Some(name),
            ..Spot::default()
        },
        TargetKind::Agent => {
            let was = app
                .sessions
                .by_id(session)
                .map(|s| s.spot().into_owned())
                .unwrap_or_default();
            Spot {
                queue_id: was.queue_id,
                queue: was.queue,
                agent_user: app.agents.by_id(&target.id).and_then(|a| a.user_id.clone()),
                agent_id: Some(target.id.clone()),
                agent: Some(name),
            }
        }
    }
}

pub(super) fn on_loaded(app: &mut App, source: &str, result: Result<LoadedRows, String>) {
    let loaded = match result {
        Ok(l) => l,
        Err(e) => return app.note(Level::Error, e),
    };
    let mut matcher = app.matcher.borrow_mut();
    let (noun, added, merged, warnings) = match loaded {
        LoadedRows::Sessions(l) => {
            let (mut added, mut merged) = (0, 0);
            for row in l.rows {
                app.session_columns.note(row.extra.iter().map(|(k, _)| k));
                let item = SessionItem::new(row);
                match app.sessions.push(item, &mut matcher) {
                    Ok(_) => added += 1,
                    Err((item, existing)) => {
                        merged += 1;
                        if let Some(s) = app.sessions.by_id_mut(&item.row.id) {
                            for (k, v) in item.row.extra {
                                if let Some(slot) = s.row.extra.iter_mut().find(|(ek, _)| *ek == k)
                                {
                                    slot.1 = v;
                                } else {
                                    s.row.extra.push((k, v));
                                }
                            }
                        }
                        app.sessions.refresh(existing);
                    }
                }
            }
            ("sessions", added, merged, l.warnings.len())
        }
        LoadedRows::Agents(l) => {
            let (added, merged) = upsert_all(&mut app.agents, l.rows, &mut matcher);
            ("agents", added, merged, l.warnings.len())
        }
        LoadedRows::Queues(l) => {
            let (added, merged) = upsert_all(&mut app.queues, l.rows, &mut matcher);
            ("queues", added, merged, l.warnings.len())
        }
    };
    drop(matcher);
    let mut text = format!("loaded {added} {noun} from {source}");
    if merged > 0 {
        text.push_str(&format!(", {merged} already here (merged)"));
    }
    if warnings > 0 {
        text.push_str(&format!(", {warnings} duplicate(s) in the file merged"));
    }
    app.note(
        if merged + warnings > 0 {
            Level::Warn
        } else {
            Level::Info
        },
        text,
    );
}

/// Adds rows; a row whose id is already there is replaced in place.
fn upsert_all<T: Row>(table: &mut Table<T>, rows: Vec<T>, matcher: &mut Matcher) -> (usize, usize) {
    let total = rows.len();
    let mut added = 0;
    for row in rows {
        added += usize::from(table.upsert(row, matcher));
    }
    if added < total {
        table.reapply_filter(matcher);
    }
    (added, total - added)
}

/// How long after the answer a move without a callback is checked with the server.
pub const VERIFY_AFTER: Duration = Duration::from_secs(3);
