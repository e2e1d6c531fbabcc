//! `:queue priority QUEUE N` in the console: the queue by name or id from the Queues pane, the value
//! it replaces from the audit log (read off the keyboard's path), one confirmation with the exact
//! call where only `y` sends, and what came of it in Activity. A queue this console raised stays
//! on watch: after `RAISED_ALERT` it becomes an alert offering to lower it again.

use std::collections::HashMap;
use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tokio::time::Instant;

use crate::priority::{self, Change, Outcome};

use super::super::activity::ActivityKind;
use super::alerts::Alert;
use super::{App, Effect, Level, Mode};

/// How long a raised queue may stay raised before it is an alert.
pub const RAISED_ALERT: Duration = Duration::from_secs(30 * 60);

/// The confirmation of priority changes: what it shows, and the changes `y` sends.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityConfirm {
    pub changes: Vec<Change>,
    /// Each change, the exact call and what no call can check, as `priority::confirmation` says.
    pub lines: Vec<String>,
}

/// The queues this console raised, each with the change and when it was set.
#[derive(Debug, Default)]
pub struct Raised(HashMap<String, (Change, Instant)>);

impl Raised {
    /// A change that was (or may have been) applied: a raise is watched, a lowering ends the
    /// watch.
    pub(super) fn note(&mut self, change: &Change, at: Instant) {
        if change.raises() {
            self.0.insert(change.queue.clone(), (change.clone(), at));
        } else {
            self.0.remove(&change.queue);
        }
    }
}

/// `:queue priority QUEUE N`: the queue by name or id, the number 1 to 10. The value it replaces is
/// read next (`Effect::PreparePriority`), then the confirmation opens.
pub(super) fn command(app: &mut App, rest: &str) -> Vec<Effect> {
    let Some((queue, n)) = rest.trim().rsplit_once(char::is_whitespace) else {
        app.note(
            Level::Error,
            "queue priority QUEUE N: give a queue and a number from 1 to 10",
        );
        return vec![];
    };
    if let Some(why) = &app.ctx.read_only {
        app.note(Level::Error, format!("not sent: {why}"));
        return vec![];
    }
    let priority = match priority::parse_priority(n) {
        Ok(p) => p,
        Err(e) => {
            app.note(Level::Error, format!("queue priority: N: {e}"));
            return vec![];
        }
    };
    let target = match super::select::target_named(app, "queue", queue) {
        Ok((target, _)) => target,
        Err(why) => {
            app.note(Level::Error, format!("queue priority: QUEUE: {why}"));
            return vec![];
        }
    };
    vec![Effect::PreparePriority {
        changes: vec![Change {
            queue_name: app.name_of(&target),
            queue: target.id,
            priority,
            was: None,
        }],
    }]
}

/// The changes are ready to confirm (their earlier values read, the call written out).
pub(super) fn open(app: &mut App, changes: Vec<Change>, lines: Vec<String>) {
    if changes.is_empty() {
        return;
    }
    app.mode = Mode::ConfirmPriority(Box::new(PriorityConfirm { changes, lines }));
}

pub(super) fn key(app: &mut App, confirm: Box<PriorityConfirm>, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Char('y') => {
            if let Some(why) = &app.ctx.read_only {
                app.note(Level::Error, format!("not sent: {why}"));
                return vec![];
            }
            app.note(
                Level::Info,
                format!(
                    "sending the priority change: {}",
                    describe_all(&confirm.changes)
                ),
            );
            vec![Effect::SetPriority {
                changes: confirm.changes,
            }]
        }
        KeyCode::Esc | KeyCode::Char('n' | 'q') => {
            app.note(Level::Info, "priority change cancelled: nothing was sent");
            vec![]
        }
        _ => {
            app.note(Level::Warn, "y sends the priority change; Esc cancels");
            app.mode = Mode::ConfirmPriority(confirm);
            vec![]
        }
    }
}

fn describe_all(changes: &[Change]) -> String {
    changes
        .iter()
        .map(Change::describe)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What came of a change: said, in Activity, and watched when it raised a queue. A change that
/// could not be sent at all (the audit log refused it) is an error and changes nothing.
pub(super) fn on_set(
    app: &mut App,
    at: String,
    now: Instant,
    run: String,
    changes: Vec<Change>,
    result: Result<Vec<Outcome>, String>,
) {
    let outcomes = match result {
        Ok(outcomes) => outcomes,
        Err(why) => {
            let text = format!("priority change not sent: {why}");
            app.note(Level::Error, text.clone());
            app.log(at, None, ActivityKind::Note { text });
            return;
        }
    };
    let mut all_set = true;
    for (change, outcome) in changes.iter().zip(&outcomes) {
        all_set &= *outcome == Outcome::Set;
        if *outcome != Outcome::Set && !matches!(outcome, Outcome::Unknown { .. }) {
            continue;
        }
        app.raised.note(change, now);
    }
    let text = format!(
        "queue priority (run {run}): {}",
        changes
            .iter()
            .zip(&outcomes)
            .map(|(c, o)| format!("{}: {}", c.describe(), o.describe()))
            .collect::<Vec<_>>()
            .join("; ")
    );
    app.note(
        if all_set { Level::Info } else { Level::Warn },
        text.clone(),
    );
    app.log(at, None, ActivityKind::Note { text });
    app.last_run = Some(run);
}

/// A queue left raised for `RAISED_ALERT`, offering to lower it: back to what it replaced when
/// that is known, else to the lowest (the confirmation says what it replaces either way).
pub(super) fn alerts(app: &App) -> Vec<Alert> {
    let Some(now) = app.now else {
        return vec![];
    };
    let mut out: Vec<(Duration, Alert)> = app
        .raised
        .0
        .values()
        .filter_map(|(change, since)| {
            let up = now.saturating_duration_since(*since);
            (up >= RAISED_ALERT).then(|| {
                let back = change.was.unwrap_or(priority::LOWEST);
                (
                    up,
                    Alert {
                        key: format!("priority {}", change.queue),
                        text: format!(
                            "{} raised to {} for {}",
                            change.queue_label(),
                            change.priority,
                            crate::format::duration(up)
                        ),
                        command: format!(
                            "queue priority {} {back}",
                            super::alerts::by_name(
                                &change.queue,
                                change.queue_name.as_deref().unwrap_or_default(),
                                app.queues
                                    .rows()
                                    .iter()
                                    .map(|q| (q.id.as_str(), q.name.as_str()))
                            )
                        ),
                    },
                )
            })
        })
        .collect();
    out.sort_by_key(|(up, _)| std::cmp::Reverse(*up));
    out.into_iter().map(|(_, a)| a).collect()
}
