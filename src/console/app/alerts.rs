//! What needs a supervisor now, from what the console already shows — as Kore's own supervisor
//! screen raises threshold alerts: an agent OFFLINE or AWAY who still holds chats, a queue with
//! sessions waiting and nobody AVAILABLE (or inactive), conversations OVERDUE. Each alert offers the
//! command that acts on it; `!` lists them; one can be snoozed.

use std::time::Duration;

use super::super::columns::SessionColumn;
use super::{App, Level, Mode};

/// How long `z` snoozes an alert.
pub const SNOOZE: Duration = Duration::from_secs(15 * 60);

/// When an alert is raised (profile keys `alert_offline_chats`, `alert_queue_waiting`,
/// `alert_overdue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Chats an OFFLINE or AWAY agent holds.
    pub offline_chats: u64,
    /// Sessions waiting in a queue nobody AVAILABLE serves.
    pub queue_waiting: u64,
    /// Conversations OVERDUE.
    pub overdue: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            offline_chats: 1,
            queue_waiting: 1,
            overdue: 1,
        }
    }
}

/// One thing that needs a supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// What it is about, for snoozing: `agent a-…`, `queue qu-…`, `overdue`.
    pub key: String,
    pub text: String,
    /// The `:` command that acts on it.
    pub command: String,
}

impl Alert {
    /// `Erin went OFFLINE holding 25 chats — :select agent Erin`.
    pub fn line(&self) -> String {
        format!("{} — :{}", self.text, self.command)
    }
}

/// Every alert the console's data raises now, snoozed ones left out, the most chats first.
pub fn alerts(app: &App) -> Vec<Alert> {
    let t = app.ctx.alerts;
    let now = app.now;
    let snoozed = |key: &str| {
        app.snoozed
            .get(key)
            .is_some_and(|until| now.is_some_and(|now| now < *until))
    };
    let mut out: Vec<(u64, Alert)> = Vec::new();
    for agent in app.agents.rows() {
        let status = agent.status.as_deref().unwrap_or("").to_uppercase();
        if status != "OFFLINE" && status != "AWAY" {
            continue;
        }
        let chats = app
            .moving
            .chats_of(agent)
            .or(agent.active_chats)
            .unwrap_or(0);
        if chats >= t.offline_chats.max(1) {
            let name = if agent.name.trim().is_empty() {
                agent.id.clone()
            } else {
                agent.name.clone()
            };
            let verb = if status == "OFFLINE" {
                "went OFFLINE"
            } else {
                "is AWAY"
            };
            out.push((
                chats,
                Alert {
                    key: format!("agent {}", agent.id),
                    text: format!("{name} {verb} holding {chats} chats"),
                    command: format!(
                        "select agent {}",
                        by_name(
                            &agent.id,
                            &agent.name,
                            app.agents
                                .rows()
                                .iter()
                                .map(|a| (a.id.as_str(), a.name.as_str()))
                        )
                    ),
                },
            ));
        }
    }
    for queue in app.queues.rows() {
        let waiting = app.moving.waiting_in(queue).unwrap_or(0);
        let nobody = queue.active == Some(false) || queue.available == Some(0);
        if nobody && waiting >= t.queue_waiting.max(1) {
            let mut why = if queue.active == Some(false) {
                "is inactive".to_string()
            } else {
                "has nobody AVAILABLE".to_string()
            };
            if app.opening.closed_warning(&queue.id).is_some() {
                why = format!("is closed now, {why}");
            }
            out.push((
                waiting,
                Alert {
                    key: format!("queue {}", queue.id),
                    text: format!("{} {why} and {waiting} waiting", queue.name),
                    command: format!(
                        "select queue {}",
                        by_name(
                            &queue.id,
                            &queue.name,
                            app.queues
                                .rows()
                                .iter()
                                .map(|q| (q.id.as_str(), q.name.as_str()))
                        )
                    ),
                },
            ));
        }
    }
    let overdue = app
        .sessions
        .rows()
        .iter()
        .filter(|s| {
            s.column(SessionColumn::Status)
                .is_some_and(|v| v.eq_ignore_ascii_case("OVERDUE"))
        })
        .count();
    if overdue >= t.overdue.max(1) {
        out.push((
            overdue as u64,
            Alert {
                key: "overdue".into(),
                text: format!("{overdue} conversation(s) OVERDUE"),
                command: "select status OVERDUE".into(),
            },
        ));
    }
    // A queue this console left raised: the longest first, after the rest.
    out.extend(super::priority::alerts(app).into_iter().map(|a| (0, a)));
    out.retain(|(_, a)| !snoozed(&a.key));
    out.sort_by_key(|(count, _)| std::cmp::Reverse(*count));
    // (A stable sort: the raised queues keep their order at the end.)
    out.into_iter().map(|(_, a)| a).collect()
}

/// What a command names an agent or a queue by: its name when the name picks it and nothing else
/// (as a supervisor would type it), else its id.
pub(super) fn by_name<'a>(
    id: &'a str,
    name: &'a str,
    all: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
) -> &'a str {
    let picks_it = !name.trim().is_empty()
        && crate::names::resolve(name, all.clone())
            .ok()
            .and_then(|i| all.into_iter().nth(i))
            .is_some_and(|(found, _)| found == id);
    if picks_it { name } else { id }
}

/// `!`: the alerts, to act on one (Enter) or snooze it (`z`).
pub(super) fn open(app: &mut App) {
    if alerts(app).is_empty() {
        return app.note(Level::Info, "no alerts: nothing needs you now");
    }
    app.mode = Mode::Alerts { selected: 0 };
}

/// A key in the list of alerts.
pub(super) fn key(
    app: &mut App,
    selected: usize,
    key: ratatui::crossterm::event::KeyEvent,
) -> Vec<super::Effect> {
    use ratatui::crossterm::event::KeyCode;
    let list = alerts(app);
    let selected = selected.min(list.len().saturating_sub(1));
    match key.code {
        KeyCode::Char('j') | KeyCode::Down => {
            app.mode = Mode::Alerts {
                selected: (selected + 1).min(list.len().saturating_sub(1)),
            }
        }
        KeyCode::Char('k') | KeyCode::Up => {
            app.mode = Mode::Alerts {
                selected: selected.saturating_sub(1),
            }
        }
        KeyCode::Char('z') => {
            if let (Some(alert), Some(now)) = (list.get(selected), app.now) {
                app.snoozed.insert(alert.key.clone(), now + SNOOZE);
                app.note(
                    Level::Info,
                    format!("snoozed for 15 minutes: {}", alert.text),
                );
            }
            if !alerts(app).is_empty() {
                app.mode = Mode::Alerts { selected };
            }
        }
        KeyCode::Enter => {
            if let Some(alert) = list.get(selected) {
                return super::command::run(app, &alert.command);
            }
        }
        _ => {}
    }
    vec![]
}
