//! The filter line (`/`): each key narrows the focused pane at once; the table ranks the matches
//! and keeps the cursor on the best one.

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::{App, Effect, Mode};

/// `/` opens on the kept query, selected: the first key typed replaces it.
pub(super) fn open(app: &mut App) {
    let kept = app.focused_query().to_string();
    app.filter_fresh = !kept.is_empty();
    app.mode = Mode::Filter(Input::new(kept));
}

pub(super) fn key(app: &mut App, mut input: Input, key: KeyEvent) -> Vec<Effect> {
    let fresh = std::mem::take(&mut app.filter_fresh);
    match key.code {
        // Enter keeps the filter; Esc drops it.
        KeyCode::Enter => vec![],
        KeyCode::Esc => app.set_filter(""),
        _ => {
            let edits = matches!(
                key.code,
                KeyCode::Char(_) | KeyCode::Backspace | KeyCode::Delete
            );
            if fresh && edits {
                input = Input::default();
            }
            // Backspace on a selected query deletes all of it, and nothing more.
            if !(fresh && matches!(key.code, KeyCode::Backspace | KeyCode::Delete)) {
                input.handle_event(&Event::Key(key));
            }
            let query = input.value().to_string();
            app.mode = Mode::Filter(input);
            app.set_filter(&query)
        }
    }
}
