//! The console's key map (SPEC §6): one table of actions and their keys, rebindable in `[keys]`. The
//! footer hints and the `?` help are both read from it, so they can never disagree with what a key does.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything a key can do in normal mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    NextPane,
    PrevPane,
    FocusSessions,
    FocusAgents,
    FocusQueues,
    FocusActivity,
    Down,
    Up,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Mark,
    MarkVisible,
    UnmarkAll,
    MarkLast,
    Stop,
    Filter,
    Sort,
    Select,
    Retry,
    Add,
    Delete,
    Load,
    Command,
    Refresh,
    Help,
    Alerts,
    Quit,
}

impl Action {
    pub const ALL: [Action; 29] = [
        Action::NextPane,
        Action::PrevPane,
        Action::FocusSessions,
        Action::FocusAgents,
        Action::FocusQueues,
        Action::FocusActivity,
        Action::Down,
        Action::Up,
        Action::Top,
        Action::Bottom,
        Action::PageUp,
        Action::PageDown,
        Action::Mark,
        Action::MarkVisible,
        Action::UnmarkAll,
        Action::MarkLast,
        Action::Stop,
        Action::Filter,
        Action::Sort,
        Action::Select,
        Action::Retry,
        Action::Add,
        Action::Delete,
        Action::Load,
        Action::Command,
        Action::Refresh,
        Action::Help,
        Action::Alerts,
        Action::Quit,
    ];

    /// The name in `[keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Action::NextPane => "next_pane",
            Action::PrevPane => "prev_pane",
            Action::FocusSessions => "focus_sessions",
            Action::FocusAgents => "focus_agents",
            Action::FocusQueues => "focus_queues",
            Action::FocusActivity => "focus_activity",
            Action::Down => "down",
            Action::Up => "up",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Mark => "mark",
            Action::MarkVisible => "mark_visible",
            Action::UnmarkAll => "unmark_all",
            Action::MarkLast => "mark_last",
            Action::Stop => "stop",
            Action::Filter => "filter",
            Action::Sort => "sort",
            Action::Select => "select",
            Action::Retry => "retry",
            Action::Add => "add",
            Action::Delete => "delete",
            Action::Load => "load",
            Action::Command => "command",
            Action::Refresh => "refresh",
            Action::Help => "help",
            Action::Alerts => "alerts",
            Action::Quit => "quit",
        }
    }

    /// A few words for the footer and the help.
    pub fn label(self) -> &'static str {
        match self {
            Action::NextPane => "next pane",
            Action::PrevPane => "previous pane",
            Action::FocusSessions => "sessions",
            Action::FocusAgents => "agents",
            Action::FocusQueues => "queues",
            Action::FocusActivity => "activity",
            Action::Down => "down",
            Action::Up => "up",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Mark => "mark",
            Action::MarkVisible => "mark visible",
            Action::UnmarkAll => "unmark all",
            Action::MarkLast => "mark last batch",
            Action::Stop => "stop the run",
            Action::Filter => "filter",
            Action::Sort => "order",
            Action::Select => "assign / details",
            Action::Retry => "retry",
            Action::Add => "add",
            Action::Delete => "delete",
            Action::Load => "load file",
            Action::Command => "command",
            Action::Refresh => "refresh",
            Action::Help => "help",
            Action::Alerts => "alerts",
            Action::Quit => "quit",
        }
    }

    /// What the help says it does.
    pub fn describe(self) -> &'static str {
        match self {
            Action::NextPane => "focus the next pane",
            Action::PrevPane => "focus the previous pane",
            Action::FocusSessions => "focus Sessions",
            Action::FocusAgents => "focus Agents",
            Action::FocusQueues => "focus Queues",
            Action::FocusActivity => "focus Activity",
            Action::Down => "move down",
            Action::Up => "move up",
            Action::Top => "go to the first row",
            Action::Bottom => "go to the last row",
            Action::PageUp => "a page up",
            Action::PageDown => "a page down",
            Action::Mark => "mark or unmark the row (session, agent or queue), and move down",
            Action::MarkVisible => "mark every row the focused pane shows",
            Action::UnmarkAll => "unmark every row of the focused pane",
            Action::MarkLast => {
                "mark the last confirmed batch again, to inspect or retry it (also :select last)"
            }
            Action::Stop => {
                "stop the run: moves not yet sent are cancelled at once and on record; requests on the wire settle"
            }
            Action::Filter => {
                "filter the focused pane (Enter keeps it, Esc clears it); words, and agent: queue: status: channel: customer: wait>5m wait<30s"
            }
            Action::Sort => {
                "order Sessions: as loaded → longest waiting → highest priority → most negative sentiment"
            }
            Action::Select => {
                "on an agent or queue: assign the marked (or highlighted) sessions there; on a session: its detail and history; on activity: full bodies"
            }
            Action::Retry => {
                "retry the marked or highlighted sessions whose last outcome was not transferred"
            }
            Action::Add => "add a row to the focused pane",
            Action::Delete => "delete the highlighted row",
            Action::Load => "load a file into the focused pane",
            Action::Command => "command line: load, assign, export, quit",
            Action::Refresh => {
                "read the live data again now (it also refreshes every refresh_secs)"
            }
            Action::Help => "this help",
            Action::Alerts => {
                "the alerts: agents OFFLINE or AWAY holding chats, queues nobody AVAILABLE serves with sessions waiting, conversations OVERDUE (Enter acts, z snoozes)"
            }
            Action::Quit => "quit (asks while requests are in flight); Ctrl-C always quits",
        }
    }

    fn default_keys(self) -> &'static [&'static str] {
        match self {
            Action::NextPane => &["tab"],
            Action::PrevPane => &["shift-tab"],
            Action::FocusSessions => &["1"],
            Action::FocusAgents => &["2"],
            Action::FocusQueues => &["3"],
            Action::FocusActivity => &["4"],
            Action::Down => &["j", "down"],
            Action::Up => &["k", "up"],
            Action::Top => &["g", "home"],
            Action::Bottom => &["G", "end"],
            Action::PageUp => &["pageup"],
            Action::PageDown => &["pagedown"],
            Action::Mark => &["space"],
            Action::MarkVisible => &["*"],
            Action::UnmarkAll => &["u"],
            Action::MarkLast => &["'"],
            Action::Stop => &["x"],
            Action::Filter => &["/"],
            Action::Sort => &["s"],
            Action::Select => &["enter"],
            Action::Retry => &["r"],
            Action::Add => &["n"],
            Action::Delete => &["d"],
            Action::Load => &["o"],
            Action::Command => &[":"],
            Action::Refresh => &["R"],
            Action::Help => &["?"],
            Action::Alerts => &["!"],
            Action::Quit => &["q"],
        }
    }
}

/// A key with its modifiers, normalised so that `G` and `shift-g` are the same chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chord {
    code: KeyCode,
    ctrl: bool,
    alt: bool,
}

impl Chord {
    pub fn from_event(event: &KeyEvent) -> Chord {
        let code = match event.code {
            KeyCode::Char(c) if event.modifiers.contains(KeyModifiers::SHIFT) => {
                KeyCode::Char(c.to_ascii_uppercase())
            }
            KeyCode::Tab if event.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            other => other,
        };
        Chord {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parses `j`, `G`, `ctrl-r`, `alt-x`, `shift-tab`, `enter`, `space`, `pagedown`, `f2`…
    pub fn parse(text: &str) -> Result<Chord, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = text.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower
                .strip_prefix("ctrl-")
                .or_else(|| lower.strip_prefix("c-"))
            {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower
                .strip_prefix("alt-")
                .or_else(|| lower.strip_prefix("m-"))
            {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower
                .strip_prefix("shift-")
                .or_else(|| lower.strip_prefix("s-"))
            {
                shift = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "tab" if shift => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().expect("checked"))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if shift => KeyCode::Char(c.to_ascii_uppercase()),
                    (Some(c), None) => KeyCode::Char(c),
                    _ => {
                        return Err(format!(
                            "{text:?} is not a key (try \"x\", \"ctrl-r\", \"shift-tab\", \"enter\", \"f2\")"
                        ));
                    }
                }
            }
        };
        Ok(Chord { code, ctrl, alt })
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct KeyMap {
    by_chord: HashMap<Chord, Action>,
    by_action: BTreeMap<Action, Vec<Chord>>,
}

impl KeyMap {
    pub fn defaults() -> KeyMap {
        let mut map = KeyMap {
            by_chord: HashMap::new(),
            by_action: BTreeMap::new(),
        };
        for action in Action::ALL {
            let chords = action
                .default_keys()
                .iter()
                .map(|k| Chord::parse(k).expect("default keys parse"))
                .collect();
            map.bind(action, chords);
        }
        map
    }

    /// The defaults with `[keys]` applied: each entry replaces its action's keys; a key taken from
    /// another action is taken away from it, with a warning. An unknown action or key is an error
    /// naming the file and line.
    pub fn with_overrides(
        overrides: &[(String, String, usize)],
        file: &str,
    ) -> Result<(KeyMap, Vec<String>), String> {
        let mut map = KeyMap::defaults();
        let mut warnings = Vec::new();
        for (name, keys, line) in overrides {
            let Some(action) = Action::ALL.iter().copied().find(|a| a.name() == name) else {
                let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
                return Err(format!(
                    "{file} line {line}: [keys] has no action `{name}`; actions: {}",
                    names.join(", ")
                ));
            };
            let chords = keys
                .split(',')
                .map(|k| {
                    Chord::parse(k).map_err(|e| format!("{file} line {line}: [keys] {name}: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            for chord in &chords {
                if let Some(previous) = map.by_chord.get(chord).copied().filter(|p| *p != action) {
                    warnings.push(format!(
                        "[keys] {name} takes {chord} from {}",
                        previous.name()
                    ));
                    if let Some(list) = map.by_action.get_mut(&previous) {
                        list.retain(|c| c != chord);
                    }
                }
            }
            if let Some(old) = map.by_action.remove(&action) {
                for chord in old {
                    map.by_chord.remove(&chord);
                }
            }
            map.bind(action, chords);
        }
        Ok((map, warnings))
    }

    fn bind(&mut self, action: Action, chords: Vec<Chord>) {
        for chord in &chords {
            self.by_chord.insert(*chord, action);
        }
        self.by_action.insert(action, chords);
    }

    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        self.by_chord.get(&Chord::from_event(event)).copied()
    }

    /// The keys of an action as the footer and help show them: `j/↓`.
    pub fn keys_of(&self, action: Action) -> String {
        let keys: Vec<String> = self
            .by_action
            .get(&action)
            .into_iter()
            .flatten()
            .map(|c| c.to_string())
            .collect();
        if keys.is_empty() {
            "(unbound)".into()
        } else {
            keys.join("/")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn defaults_follow_the_spec() {
        let map = KeyMap::defaults();
        assert_eq!(
            map.action(&key(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(
            map.action(&key(KeyCode::Down, KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            map.action(&key(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::PrevPane)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char(' '), KeyModifiers::NONE)),
            Some(Action::Mark)
        );
        assert_eq!(map.keys_of(Action::Down), "j/↓");
        for action in Action::ALL {
            assert_ne!(map.keys_of(action), "(unbound)", "{action:?}");
        }
    }

    #[test]
    fn overrides_replace_and_steal() {
        let (map, warnings) = KeyMap::with_overrides(
            &[
                ("retry".into(), "ctrl-r, f5".into(), 3),
                ("add".into(), "a".into(), 4),
            ],
            "c.toml",
        )
        .unwrap();
        assert_eq!(
            map.action(&key(KeyCode::Char('r'), KeyModifiers::CONTROL)),
            Some(Action::Retry)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('r'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(map.keys_of(Action::Retry), "Ctrl-r/F5");
        assert!(warnings.is_empty(), "{warnings:?}");
        let (map, warnings) =
            KeyMap::with_overrides(&[("quit".into(), "j".into(), 2)], "c.toml").unwrap();
        assert_eq!(
            map.action(&key(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
        assert_eq!(map.keys_of(Action::Down), "↓");
        assert_eq!(warnings, ["[keys] quit takes j from down"]);
    }

    #[test]
    fn bad_overrides_name_file_and_line() {
        let e = KeyMap::with_overrides(&[("fly".into(), "f".into(), 7)], "c.toml").unwrap_err();
        assert!(
            e.starts_with("c.toml line 7: [keys] has no action `fly`"),
            "{e}"
        );
        let e =
            KeyMap::with_overrides(&[("quit".into(), "ctrl-".into(), 8)], "c.toml").unwrap_err();
        assert!(e.starts_with("c.toml line 8"), "{e}");
    }
}
