//! The command line (`:`): `load`, `assign`, `select last`, `export`, `quit`, with a history on
//! Up and Down.

use std::path::PathBuf;

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::ids::IdKind;

use super::select::{self, SelectBy};
use super::{App, Effect, Level, Mode, Pane, confirm, events, normal, plans, priority};

pub(super) fn open(app: &mut App) {
    app.mode = Mode::Command {
        input: Input::default(),
        history_pos: None,
    };
}

pub(super) fn key(
    app: &mut App,
    mut input: Input,
    history_pos: Option<usize>,
    key: KeyEvent,
) -> Vec<Effect> {
    match key.code {
        KeyCode::Enter => {
            let line = input.value().trim().to_string();
            if !line.is_empty() && app.history.last() != Some(&line) {
                app.history.push(line.clone());
            }
            let effects = run(app, &line);
            // A confirmation put aside for a command comes back, unless the command replaced it.
            if let Some(confirm) = app.held_confirm.take()
                && matches!(app.mode, Mode::Normal)
            {
                app.mode = Mode::Confirm(confirm);
            }
            effects
        }
        KeyCode::Esc => {
            // Back to the confirmation `:` was opened over, if any.
            if let Some(confirm) = app.held_confirm.take() {
                app.mode = Mode::Confirm(confirm);
            }
            vec![]
        }
        KeyCode::Up | KeyCode::Down => {
            let pos = step_history(app.history.len(), history_pos, key.code == KeyCode::Up);
            input = Input::new(pos.map(|p| app.history[p].clone()).unwrap_or_default());
            app.mode = Mode::Command {
                input,
                history_pos: pos,
            };
            vec![]
        }
        _ => {
            input.handle_event(&Event::Key(key));
            app.mode = Mode::Command { input, history_pos };
            vec![]
        }
    }
}

fn step_history(len: usize, pos: Option<usize>, older: bool) -> Option<usize> {
    match (pos, older) {
        (_, _) if len == 0 => None,
        (None, true) => Some(len - 1),
        (Some(p), true) => Some(p.saturating_sub(1)),
        (None, false) => None,
        (Some(p), false) if p + 1 < len => Some(p + 1),
        (Some(_), false) => None,
    }
}

pub(super) fn run(app: &mut App, line: &str) -> Vec<Effect> {
    let mut words = line.split_whitespace();
    let (verb, first) = (words.next(), words.next());
    let rest: Vec<&str> = words.collect();
    let rest = rest.join(" ");
    match (verb, first) {
        (None, _) => vec![],
        (Some("load"), Some("live")) if rest.is_empty() => events::refresh_now(app),
        (Some("load"), Some(what)) if !rest.is_empty() => {
            let pane = match what {
                "sessions" => Pane::Sessions,
                "agents" => Pane::Agents,
                "queues" => Pane::Queues,
                _ => {
                    app.note(
                        Level::Error,
                        format!("load what? {what:?}: sessions, agents or queues"),
                    );
                    return vec![];
                }
            };
            vec![Effect::Load {
                pane,
                path: PathBuf::from(rest),
            }]
        }
        (Some("assign"), Some(kind @ ("agent" | "queue"))) if !rest.is_empty() => {
            let (target, typed) = match select::target_named(app, kind, &rest) {
                Ok(found) => found,
                Err(why) => {
                    app.note(Level::Error, format!("assign {kind}: {why}"));
                    return vec![];
                }
            };
            let shape = if kind == "agent" {
                IdKind::Agent
            } else {
                IdKind::Queue
            };
            confirm::open(app, target);
            if let (true, Some(w), Mode::Confirm(_)) = (typed, shape.warning(&rest), &app.mode) {
                app.note(Level::Warn, w);
            }
            vec![]
        }
        (Some("export"), Some("activity")) if !rest.is_empty() => {
            let mut lines = String::new();
            for entry in app.activity.rows() {
                lines.push_str(&serde_json::to_string(entry).expect("activity serializes"));
                lines.push('\n');
            }
            vec![Effect::Export {
                path: PathBuf::from(rest),
                lines,
            }]
        }
        // The incident report of this console's runs, as `audit report` writes it.
        (Some("export"), Some(_)) => vec![Effect::ExportReport {
            path: PathBuf::from(line["export".len()..].trim()),
        }],
        (Some("plan"), Some("save")) if !rest.is_empty() => plans::save(app, &rest),
        (Some("plan"), Some("open")) if !rest.is_empty() => vec![Effect::OpenPlan {
            path: PathBuf::from(rest),
        }],
        (Some("revert"), Some("last")) if rest.is_empty() => plans::revert_last(app),
        (Some("queue"), Some("priority")) if !rest.is_empty() => priority::command(app, &rest),
        (Some("select"), Some("last")) if rest.is_empty() => {
            normal::mark_last_batch(app);
            vec![]
        }
        (Some("select"), Some(by @ ("agent" | "queue" | "status"))) if !rest.is_empty() => {
            let by = match by {
                "agent" => SelectBy::Agent,
                "queue" => SelectBy::Queue,
                _ => SelectBy::Status,
            };
            select::select(app, by, &rest);
            vec![]
        }
        (Some("quit" | "q"), None) => {
            if app.in_flight() > 0 {
                app.mode = Mode::QuitConfirm;
                vec![]
            } else {
                vec![Effect::Quit]
            }
        }
        _ => {
            app.note(
                Level::Error,
                format!("unknown command {line:?}; commands: {}", command_list()),
            );
            vec![]
        }
    }
}

/// Every `:` command, as typed and what it does: the help lists them, and an unknown command
/// names them.
pub const COMMANDS: [(&str, &str); 15] = [
    (
        "load sessions|agents|queues PATH",
        "load a file into a pane",
    ),
    ("load live", "read Kore's live data now"),
    (
        "assign agent|queue NAME|ID",
        "move the marked (or highlighted) sessions there, through the confirmation",
    ),
    (
        "select agent NAME|a-ID",
        "mark every session the agent holds now (the marks are replaced)",
    ),
    (
        "select queue NAME|qu-ID",
        "mark every session waiting in the queue with no agent",
    ),
    ("select status STATUS", "mark every session of that status"),
    (
        "select last",
        "mark the last confirmed batch again (as ' does)",
    ),
    (
        "plan save PATH",
        "in the confirmation: write its moves as a plan instead of sending",
    ),
    (
        "plan open PATH",
        "check a plan against fresh live data, into the confirmation",
    ),
    (
        "revert last",
        "the plan that undoes the last run, checked the same way",
    ),
    (
        "queue priority QUEUE N",
        "raise or lower a queue (1-10), through its own confirmation",
    ),
    (
        "export PATH",
        "this console's runs as a report (.md, .csv or .json, by the name)",
    ),
    ("export activity PATH", "the Activity pane as JSON Lines"),
    ("quit", "quit (asks while requests are in flight)"),
    ("q", "the same"),
];

/// The commands as one line, for an error.
pub fn command_list() -> String {
    COMMANDS
        .iter()
        .map(|(usage, _)| *usage)
        .collect::<Vec<_>>()
        .join(" · ")
}
