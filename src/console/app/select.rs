//! `:select agent|queue|status`: marks sessions by what they are, not by what a filter happens to
//! match — every session an agent holds now, every session waiting in a queue with no agent, every
//! session of a status. The marks are replaced, so the next move takes exactly what was said.
//! And the agent or queue a command names (`:assign`, `:queue priority`), by name or id.

use crate::names;
use crate::request::Target;

use super::super::columns::SessionColumn;
use super::{App, Level, Pane};

/// What `:select` marks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectBy {
    Agent,
    Queue,
    Status,
}

pub(super) fn select(app: &mut App, by: SelectBy, name: &str) {
    let (what, rows): (String, Vec<usize>) = match by {
        SelectBy::Agent => {
            let agents = app.agents.rows();
            let found = names::resolve(
                name,
                agents.iter().map(|a| (a.id.as_str(), a.name.as_str())),
            );
            let agent = match found {
                Ok(i) => &agents[i],
                Err(e) => return app.note(Level::Error, format!("select agent: {e}")),
            };
            let rows = matching(app, |s| s.spot().is_with(agent));
            (format!("{} holds", agent.name), rows)
        }
        SelectBy::Queue => {
            let queues = app.queues.rows();
            let found = names::resolve(
                name,
                queues.iter().map(|q| (q.id.as_str(), q.name.as_str())),
            );
            let queue = match found {
                Ok(i) => &queues[i],
                Err(e) => return app.note(Level::Error, format!("select queue: {e}")),
            };
            let rows = matching(app, |s| s.spot().is_waiting_in(queue));
            (format!("waiting in {} with no agent", queue.name), rows)
        }
        SelectBy::Status => {
            let wanted = name.trim();
            let rows = matching(app, |s| {
                s.column(SessionColumn::Status)
                    .is_some_and(|v| v.eq_ignore_ascii_case(wanted))
            });
            (format!("of status {}", wanted.to_uppercase()), rows)
        }
    };
    app.unmark_all();
    for &i in &rows {
        app.sessions.set_mark(i, true);
    }
    app.focus = Pane::Sessions;
    let level = if rows.is_empty() {
        Level::Warn
    } else {
        Level::Info
    };
    app.note(level, format!("marked {} session(s) {what}", rows.len()));
}

/// The agent or queue (`kind`) a command names: by name or id from the Agents or Queues pane (a whole
/// name, or a first or last name that picks one), or an id the pane does not show yet, taken as
/// typed (`true`: its shape is checked).
pub(super) fn target_named(app: &App, kind: &str, typed: &str) -> Result<(Target, bool), String> {
    let (found, prefixes, pane) = if kind == "agent" {
        let rows = app.agents.rows();
        let found =
            crate::names::resolve(typed, rows.iter().map(|a| (a.id.as_str(), a.name.as_str())))
                .map(|i| Target::agent(rows[i].id.clone()));
        (found, &["a-", "u-"][..], "Agents")
    } else {
        let rows = app.queues.rows();
        let found =
            crate::names::resolve(typed, rows.iter().map(|q| (q.id.as_str(), q.name.as_str())))
                .map(|i| Target::queue(rows[i].id.clone()));
        (found, &["qu-"][..], "Queues")
    };
    match found {
        Ok(target) => Ok((target, false)),
        Err(_) if prefixes.iter().any(|p| typed.trim().starts_with(p)) => {
            let id = typed.trim().to_string();
            Ok((
                if kind == "agent" {
                    Target::agent(id)
                } else {
                    Target::queue(id)
                },
                true,
            ))
        }
        Err(e) => Err(format!("{e}; the {pane} pane lists them (`:load live`)")),
    }
}

fn matching(app: &App, keep: impl Fn(&super::SessionItem) -> bool) -> Vec<usize> {
    app.sessions
        .rows()
        .iter()
        .enumerate()
        .filter(|(_, s)| keep(s))
        .map(|(i, _)| i)
        .collect()
}
