//! The detail view (`Enter` on a session or an Activity entry): everything about one thing,
//! scrolled with j/k and PgUp/PgDn, closed with Esc, q or Enter.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::{App, Effect, Mode};

/// What a detail view shows.
#[derive(Debug, Clone, PartialEq)]
pub enum DetailOf {
    /// One Activity entry, with its full bodies.
    Entry(usize),
    /// One session: every column, its state now, and its whole history.
    Session(String),
}

pub(super) fn open(app: &mut App, of: DetailOf) {
    app.mode = Mode::Detail { of, scroll: 0 };
}

pub(super) fn key(app: &mut App, of: DetailOf, scroll: u16, key: KeyEvent) -> Vec<Effect> {
    let scroll = match key.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter => return vec![],
        KeyCode::Char('t') => {
            let effects = match &of {
                DetailOf::Session(id) => super::transcript::read(app, id),
                DetailOf::Entry(_) => vec![],
            };
            app.mode = Mode::Detail { of, scroll };
            return effects;
        }
        KeyCode::Char('j') | KeyCode::Down => scroll.saturating_add(1),
        KeyCode::Char('k') | KeyCode::Up => scroll.saturating_sub(1),
        KeyCode::PageDown => scroll.saturating_add(10),
        KeyCode::PageUp => scroll.saturating_sub(10),
        _ => scroll,
    };
    app.mode = Mode::Detail { of, scroll };
    vec![]
}
