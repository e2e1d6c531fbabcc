//! Normal mode: moving about the panes, marking, and the keys that open every other mode.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::request::Target;
use crate::triage::SessionOrder;

use super::super::table::OrderKey;
use super::SessionItem;

use super::keys::Action;
use super::{
    App, Effect, Level, Mode, Pane, command, confirm, detail, events, filter, form, plans,
};

pub(super) fn key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if key.code == KeyCode::Esc {
        // Esc clears a kept filter.
        if !app.focused_query().is_empty() {
            app.set_filter("");
            app.note(Level::Info, "filter cleared");
        }
        return vec![];
    }
    let Some(action) = app.keys.action(&key) else {
        return vec![];
    };
    let page = app.page.get().max(1) as isize;
    match action {
        Action::NextPane => app.focus = app.focus.step(1),
        Action::PrevPane => app.focus = app.focus.step(-1),
        Action::FocusSessions => app.focus = Pane::Sessions,
        Action::FocusAgents => app.focus = Pane::Agents,
        Action::FocusQueues => app.focus = Pane::Queues,
        Action::FocusActivity => app.focus = Pane::Activity,
        Action::Down => app.with_focused(|t| t.move_by(1)),
        Action::Up => app.with_focused(|t| t.move_by(-1)),
        Action::PageDown => app.with_focused(|t| t.move_by(page)),
        Action::PageUp => app.with_focused(|t| t.move_by(-page)),
        Action::Top => app.with_focused(|t| t.top()),
        Action::Bottom => app.with_focused(|t| t.bottom()),
        Action::Mark => mark_selected(app),
        Action::MarkLast => mark_last_batch(app),
        Action::Stop => {
            if app.in_flight() == 0 {
                app.note(Level::Info, "no run is going: nothing to stop");
            } else {
                app.note(
                    Level::Warn,
                    "stopping: what waits is cancelled, what is on the wire settles",
                );
                return vec![Effect::Stop];
            }
        }
        Action::MarkVisible => mark_visible(app),
        Action::UnmarkAll => unmark_focused(app),
        Action::Filter => filter::open(app),
        Action::Sort => sort(app),
        Action::Select => return select(app),
        Action::Retry => confirm::retry(app),
        Action::Add => form::add_form(app),
        Action::Delete => delete(app),
        Action::Load => form::load_form(app),
        Action::Command => command::open(app),
        Action::Help => app.mode = Mode::Help { scroll: 0 },
        Action::Alerts => super::alerts::open(app),
        Action::Refresh => return events::refresh_now(app),
        Action::Quit => {
            if app.in_flight() > 0 {
                app.mode = Mode::QuitConfirm;
            } else {
                return vec![Effect::Quit];
            }
        }
    }
    vec![]
}

/// Space: marks or unmarks the highlighted row of the focused pane, and moves down (Activity
/// entries are not marked: Space only moves down there).
fn mark_selected(app: &mut App) {
    if app.focus == Pane::Sessions
        && let Some(s) = app.sessions.selected_row().map(|s| s.row.id.clone())
        && let Some(s) = app.sessions.by_id_mut(&s)
    {
        // Chosen by hand now, not as part of the last batch.
        s.marked_with_batch = false;
    }
    let marks = app.focus != Pane::Activity;
    app.with_focused(|t| {
        if marks {
            t.toggle_selected_mark();
        }
        t.move_by(1);
    });
}

/// `'` or `:select last`: marks the last confirmed batch again (and nothing else), to look at it
/// or to retry it.
pub(super) fn mark_last_batch(app: &mut App) {
    if app.last_batch.is_empty() {
        return app.note(Level::Warn, "no batch was sent yet");
    }
    app.unmark_all();
    let ids = app.last_batch.clone();
    let mut found = 0;
    for id in &ids {
        if let Some(i) = app.sessions.find(id) {
            app.sessions.set_mark(i, true);
            if let Some(s) = app.sessions.by_id_mut(id) {
                s.marked_with_batch = true;
            }
            found += 1;
        }
    }
    app.focus = Pane::Sessions;
    app.note(
        Level::Info,
        format!("marked the last batch again: {found} session(s)"),
    );
}

/// `*`: marks every row the focused pane's filter shows.
fn mark_visible(app: &mut App) {
    if app.focus == Pane::Activity {
        return app.note(Level::Warn, "Activity entries are not marked");
    }
    app.settle_filter();
    let added = app.with_focused(|t| t.mark_visible());
    let fuzzy = app.with_focused(|t| t.fuzzy());
    let skipped = if fuzzy > 0 {
        format!(" ({fuzzy} fuzzy match(es) not marked: type more, or mark them with Space)")
    } else {
        String::new()
    };
    app.note(
        Level::Info,
        format!("marked {added} more {}{skipped}", app.focus.noun()),
    );
}

/// `s`: the next order of the Sessions pane; the cursor stays on the same session.
fn sort(app: &mut App) {
    app.order = app.order.next();
    let order = app.order;
    let key: Option<OrderKey<SessionItem>> = (order != SessionOrder::AsLoaded).then(|| {
        Box::new(move |s: &SessionItem| order.key(s.wait(), s.triage())) as OrderKey<SessionItem>
    });
    app.sessions.set_order(key, &mut app.matcher.borrow_mut());
    app.focus = Pane::Sessions;
    app.note(Level::Info, format!("sessions: {}", order.describe()));
}

/// `u`: clears the focused pane's marks.
fn unmark_focused(app: &mut App) {
    if app.focus == Pane::Sessions {
        app.unmark_all();
    } else {
        app.with_focused(|t| t.unmark_all());
    }
}

fn select(app: &mut App) -> Vec<Effect> {
    match app.focus {
        Pane::Agents => {
            // Enter on a marked agent spreads over every marked agent by free capacity; on an
            // unmarked one, it targets that agent alone.
            match app.agents.selected() {
                Some(i) if app.agents.is_marked(i) => {
                    let ids = app
                        .agents
                        .marked_rows()
                        .into_iter()
                        .filter_map(|i| app.agents.get(i).map(|a| a.id.clone()))
                        .collect();
                    plans::open_spread(app, ids);
                }
                Some(i) => {
                    if let Some(agent) = app.agents.get(i) {
                        let target = Target::agent(agent.id.clone());
                        confirm::open(app, target);
                    }
                }
                None => {}
            }
        }
        Pane::Queues => {
            if let Some(queue) = app.queues.selected_row() {
                let target = Target::queue(queue.id.clone());
                confirm::open(app, target);
            }
        }
        Pane::Activity => {
            if let Some(entry) = app.activity.selected() {
                detail::open(app, detail::DetailOf::Entry(entry));
            }
        }
        Pane::Sessions => {
            if let Some(s) = app.sessions.selected_row() {
                let id = s.row.id.clone();
                detail::open(app, detail::DetailOf::Session(id));
            }
        }
    }
    vec![]
}

fn delete(app: &mut App) {
    match app.focus {
        Pane::Sessions => {
            let Some(i) = app.sessions.selected() else {
                return;
            };
            if app.sessions.get(i).is_some_and(|s| s.state.in_flight) {
                return app.note(
                    Level::Warn,
                    "that session has a request in flight; wait for it to settle",
                );
            }
            let removed = app.sessions.remove(i);
            app.note(Level::Info, format!("removed {}", removed.row.id));
        }
        Pane::Agents => {
            if let Some(i) = app.agents.selected() {
                let removed = app.agents.remove(i);
                app.note(Level::Info, format!("removed {}", removed.id));
            }
        }
        Pane::Queues => {
            if let Some(i) = app.queues.selected() {
                let removed = app.queues.remove(i);
                app.note(Level::Info, format!("removed {}", removed.id));
            }
        }
        Pane::Activity => app.note(
            Level::Warn,
            "the activity is the record of this run; it cannot be deleted",
        ),
    }
}
