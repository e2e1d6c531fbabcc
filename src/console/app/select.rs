//! `:select agent|queue|status`: marks sessions by what they are, not by what a filter happens to
//! match — every session an agent holds now, every session waiting in a queue with no agent, every
//! session of a status. The marks are replaced, so the next move takes exactly what was said.

use crate::names;

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

fn matching(app: &App, keep: impl Fn(&super::SessionItem) -> bool) -> Vec<usize> {
    app.sessions
        .rows()
        .iter()
        .enumerate()
        .filter(|(_, s)| keep(s))
        .map(|(i, _)| i)
        .collect()
}
