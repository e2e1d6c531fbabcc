//! Forms (`n` adds a row, `o` loads a file): Enter moves to the next field and submits from the
//! last; Esc drops the form.

use std::path::PathBuf;

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::ids::IdKind;
use crate::input::{AgentRow, QueueRow, SessionRow};

use super::{App, Effect, Level, Mode, Pane, SessionItem};

pub(super) fn key(app: &mut App, mut form: Form, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Esc => vec![],
        KeyCode::Enter if form.focus + 1 < form.fields.len() => {
            form.focus += 1;
            app.mode = Mode::Form(form);
            vec![]
        }
        KeyCode::Enter => submit_form(app, form),
        _ => {
            let i = form.focus;
            form.fields[i].1.handle_event(&Event::Key(key));
            app.mode = Mode::Form(form);
            vec![]
        }
    }
}

/// `o`: a one-field form for the file to load into the focused pane.
pub(super) fn load_form(app: &mut App) {
    if app.focus == Pane::Activity {
        return app.note(
            Level::Warn,
            "files load into Sessions, Agents or Queues; `:export PATH` saves the activity",
        );
    }
    app.mode = Mode::Form(Form {
        purpose: FormPurpose::Load(app.focus),
        fields: vec![("file", Input::default())],
        focus: 0,
    });
}

/// A form of text fields (`n`, `o`): Enter moves to the next field and submits from the last.
#[derive(Debug, Clone)]
pub struct Form {
    pub purpose: FormPurpose,
    pub fields: Vec<(&'static str, Input)>,
    pub focus: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormPurpose {
    Add(Pane),
    Load(Pane),
}

pub(super) fn add_form(app: &mut App) {
    let fields = match app.focus {
        Pane::Sessions => vec![("botSessionId", Input::default())],
        Pane::Agents => vec![
            ("agent id (a-…)", Input::default()),
            ("name", Input::default()),
        ],
        Pane::Queues => vec![
            ("queue id (qu-…)", Input::default()),
            ("name", Input::default()),
        ],
        Pane::Activity => {
            return app.note(
                Level::Warn,
                "the activity pane fills itself; add to Sessions, Agents or Queues",
            );
        }
    };
    app.mode = Mode::Form(Form {
        purpose: FormPurpose::Add(app.focus),
        fields,
        focus: 0,
    });
}

fn submit_form(app: &mut App, form: Form) -> Vec<Effect> {
    let value = |i: usize| {
        form.fields
            .get(i)
            .map(|(_, input)| input.value().trim().to_string())
            .unwrap_or_default()
    };
    match form.purpose {
        FormPurpose::Load(pane) => {
            let path = value(0);
            if path.is_empty() {
                app.note(Level::Warn, "no file given: nothing loaded");
                return vec![];
            }
            vec![Effect::Load {
                pane,
                path: PathBuf::from(path),
            }]
        }
        FormPurpose::Add(pane) => {
            let id = value(0);
            if id.is_empty() {
                app.note(Level::Warn, "an id is needed: nothing added");
                return vec![];
            }
            let kind = match pane {
                Pane::Agents => IdKind::Agent,
                Pane::Queues => IdKind::Queue,
                _ => IdKind::Session,
            };
            if let Some(why) = kind.refusal(&id) {
                app.note(Level::Error, format!("not added: {why}"));
                return vec![];
            }
            let warning = kind.warning(&id);
            let mut matcher = app.matcher.borrow_mut();
            let pushed = match pane {
                Pane::Sessions => app
                    .sessions
                    .push(
                        SessionItem::new(SessionRow {
                            id: id.clone(),
                            extra: Vec::new(),
                        }),
                        &mut matcher,
                    )
                    .map_err(|(_, i)| i),
                Pane::Agents => app
                    .agents
                    .push(
                        AgentRow {
                            id: id.clone(),
                            name: value(1),
                            ..AgentRow::default()
                        },
                        &mut matcher,
                    )
                    .map_err(|(_, i)| i),
                Pane::Queues => app
                    .queues
                    .push(
                        QueueRow {
                            id: id.clone(),
                            name: value(1),
                            ..QueueRow::default()
                        },
                        &mut matcher,
                    )
                    .map_err(|(_, i)| i),
                Pane::Activity => return vec![],
            };
            drop(matcher);
            match (pushed, warning) {
                (Err(_), _) => {
                    app.note(Level::Warn, format!("{id} is already in {}", pane.title()))
                }
                (Ok(_), Some(w)) => app.note(Level::Warn, format!("added, but {w}")),
                (Ok(_), None) => app.note(Level::Info, format!("added {id}")),
            }
            vec![]
        }
    }
}
