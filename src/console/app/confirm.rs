//! The one confirmation before anything is sent: it shows every session that will move and where,
//! with its warnings. Only `y` sends; a warned move takes a second `y` on a screen of its own.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::dispatch::Move;
use crate::outcome::Outcome;
use crate::plan::Planner;
use crate::request::Target;

use super::{App, Effect, Level, Mode, SendState, SessionItem, command};

// Enter, the key a hurried hand presses twice, sends nothing here.
pub(super) fn key(app: &mut App, mut confirm: Confirm, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Char('y') if confirm.warned() && !confirm.offline_acknowledged => {
            confirm.offline_acknowledged = true;
            confirm.scroll = 0;
            app.mode = Mode::Confirm(confirm);
            vec![]
        }
        KeyCode::Char('y') => send(app, confirm),
        // A command over the confirmation: `:plan save PATH` writes it instead of sending.
        KeyCode::Char(':') => {
            app.held_confirm = Some(confirm);
            command::open(app);
            vec![]
        }
        KeyCode::Enter => {
            app.mode = Mode::Confirm(confirm);
            app.note(Level::Warn, "press y to send; n or Esc sends nothing");
            vec![]
        }
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
            app.note(Level::Info, "cancelled: nothing was sent");
            vec![]
        }
        KeyCode::Char('j') | KeyCode::Down => {
            confirm.scroll = confirm.scroll.saturating_add(1);
            app.mode = Mode::Confirm(confirm);
            vec![]
        }
        KeyCode::Char('k') | KeyCode::Up => {
            confirm.scroll = confirm.scroll.saturating_sub(1);
            app.mode = Mode::Confirm(confirm);
            vec![]
        }
        _ => {
            app.mode = Mode::Confirm(confirm);
            vec![]
        }
    }
}

/// The one confirmation before anything is sent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Confirm {
    pub moves: Vec<(String, Target)>,
    /// Where the moves came from when not from the panes: `plan FILE`, `revert of run …`.
    pub source: Option<String>,
    /// A plan's moves that drifted since it was made: shown apart, never sent from here.
    pub drifted: Vec<(String, Target, String)>,
    /// Sessions the moves leave where they are, and why (no agent has room, origin unknown).
    pub left_out: Vec<(String, String)>,
    /// What the reader should know first: each agent's load after a spread.
    pub notes: Vec<String>,
    /// Sessions left out because a request for them is in flight.
    pub skipped_in_flight: usize,
    pub retry: bool,
    pub scroll: u16,
    /// The target agent's name and what is wrong (not AVAILABLE, or no free capacity): the send
    /// asks twice.
    pub offline_agent: Option<(String, String)>,
    /// Sessions in the batch that were transferred before: sending them again asks twice.
    pub already_moved: Vec<String>,
    /// Sessions whose last outcome was `unknown`: they may already have moved; asks twice.
    pub maybe_moved: Vec<String>,
    /// The first yes to a warned move has been given.
    pub offline_acknowledged: bool,
}

impl Confirm {
    /// Whether this move is warned, and so takes a second `y` on a screen of its own.
    pub fn warned(&self) -> bool {
        self.offline_agent.is_some()
            || !self.already_moved.is_empty()
            || !self.maybe_moved.is_empty()
    }
}

/// Opens the confirmation for moving the chosen sessions to `target`, leaving out any in flight.
pub(super) fn open(app: &mut App, target: Target) {
    if let Some(why) = target.refusal() {
        return app.note(Level::Error, format!("not sent: {why}"));
    }
    let chosen = app.chosen_sessions();
    if chosen.is_empty() {
        return app.note(
            Level::Warn,
            "no session to move: load or add sessions, and mark them with Space",
        );
    }
    let (busy, free): (Vec<usize>, Vec<usize>) = chosen
        .into_iter()
        .partition(|&i| app.sessions.get(i).is_some_and(|s| s.state.in_flight));
    if free.is_empty() {
        return app.note(
            Level::Warn,
            "every chosen session has a request in flight; wait for it to settle",
        );
    }
    let moves = free
        .iter()
        .filter_map(|&i| app.sessions.get(i))
        .map(|s| (s.row.id.clone(), target.clone()))
        .collect();
    open_moves(
        app,
        Confirm {
            moves,
            skipped_in_flight: busy.len(),
            ..Confirm::default()
        },
    );
}

/// Opens the confirmation for its moves with their warnings, whoever made them (the panes, a
/// retry, a spread, a plan, a revert): a session transferred before or whose last outcome was
/// `unknown`, and a target agent who cannot take them, each ask for the second `y`.
pub(super) fn open_moves(app: &mut App, mut confirm: Confirm) {
    let sessions: Vec<&SessionItem> = confirm
        .moves
        .iter()
        .filter_map(|(id, _)| app.sessions.find(id).and_then(|i| app.sessions.get(i)))
        .collect();
    confirm.already_moved = sessions
        .iter()
        .filter(|s| s.state.ever_transferred)
        .map(|s| s.row.id.clone())
        .collect();
    confirm.maybe_moved = maybe_moved(sessions.into_iter());
    let mut targets: Vec<&Target> = confirm.moves.iter().map(|(_, t)| t).collect();
    targets.dedup();
    confirm.offline_agent = targets.into_iter().find_map(|t| offline_agent(app, t));
    app.mode = Mode::Confirm(confirm);
}

/// The sessions whose last outcome was `unknown`: the platform may have moved them already.
fn maybe_moved<'a>(sessions: impl Iterator<Item = &'a SessionItem>) -> Vec<String> {
    sessions
        .filter(|s| s.state.outcome == Some(Some(Outcome::Unknown)))
        .map(|s| s.row.id.clone())
        .collect()
}

/// The agent's name and what is wrong, when the target is an agent shown as anything but
/// AVAILABLE (OFFLINE, BUSY, AWAY, or a presence Kore does not document such as System Busy), or
/// with no free capacity.
fn offline_agent(app: &App, target: &Target) -> Option<(String, String)> {
    if target.kind != crate::request::TargetKind::Agent {
        return None;
    }
    let agent = app
        .agents
        .find(&target.id)
        .and_then(|i| app.agents.get(i))?;
    let name = if agent.name.is_empty() {
        agent.id.clone()
    } else {
        agent.name.clone()
    };
    if let Some(status) = agent.status.as_deref().filter(|s| !s.trim().is_empty())
        && !crate::live::Availability::parse(status).is_some_and(|a| a.is_available())
    {
        return Some((name, format!("is {status}, not AVAILABLE")));
    }
    match (agent.active_chats, agent.max_chats) {
        (Some(now), Some(most)) if now >= most => {
            Some((name, format!("has no free capacity ({now}/{most} chats)")))
        }
        _ => None,
    }
}

/// `r`: the chosen sessions that were never `transferred` go again where they were sent. One that
/// was ever transferred is left out unless it is explicitly marked; then it goes, with a warning
/// and a second `y`.
pub(super) fn retry(app: &mut App) {
    let chosen = app.chosen_sessions();
    let mut moves = Vec::new();
    let (mut skipped, mut left_out) = (0, 0);
    for i in chosen {
        let Some(s) = app.sessions.get(i) else {
            continue;
        };
        if s.state.in_flight {
            skipped += 1;
            continue;
        }
        let Some(target) = s.state.target.clone().filter(|_| s.state.outcome.is_some()) else {
            continue;
        };
        if s.state.ever_transferred {
            // Marked on its own: it goes, and the confirmation warns it was transferred before.
            if !app.sessions.is_marked(i) || s.marked_with_batch {
                left_out += 1;
                continue;
            }
        }
        moves.push((s.row.id.clone(), target));
    }
    if moves.is_empty() {
        return app.note(
            Level::Warn,
            if left_out > 0 {
                "nothing to retry: it was transferred before; mark it with Space to send it again"
            } else {
                "nothing to retry: no chosen session was sent and not transferred"
            },
        );
    }
    // A retry goes where each session was sent before; an offline agent among them asks twice.
    open_moves(
        app,
        Confirm {
            moves,
            skipped_in_flight: skipped,
            retry: true,
            ..Confirm::default()
        },
    );
}

/// `y` in the confirmation: exactly one `Send` of exactly the moves shown.
fn send(app: &mut App, confirm: Confirm) -> Vec<Effect> {
    if let Some(reason) = &app.ctx.read_only {
        let reason = format!("{reason} (:plan save PATH writes these moves as a plan)");
        app.mode = Mode::Confirm(confirm);
        app.note(Level::Warn, reason);
        return vec![];
    }
    if confirm.moves.is_empty() {
        app.note(
            Level::Warn,
            format!(
                "nothing sent: all {} move(s) drifted since the plan was made",
                confirm.drifted.len()
            ),
        );
        return vec![];
    }
    // Where each session is now, for its attempt line (and so for a revert).
    let planner = app.snapshot.as_deref().map(Planner::new);
    let mut moves = Vec::with_capacity(confirm.moves.len());
    for (session, target) in confirm.moves {
        let Some(s) = app.sessions.by_id_mut(&session) else {
            continue;
        };
        // A session that went in flight since the confirmation opened is not sent twice.
        if s.state.in_flight {
            continue;
        }
        // A new send starts a new state, but the session's history stays.
        s.state = SendState {
            in_flight: true,
            target: Some(target.clone()),
            callback: None,
            ever_transferred: s.state.ever_transferred,
            history: std::mem::take(&mut s.state.history),
            ..SendState::default()
        };
        let from = planner.as_ref().and_then(|p| p.origin(&session));
        moves.push(Move {
            session,
            target,
            from,
        });
    }
    if moves.is_empty() {
        app.note(
            Level::Warn,
            "nothing sent: every session is already in flight",
        );
        return vec![];
    }
    app.in_flight += moves.len();
    // The marks were for this batch: they go, so the next move cannot take it along by accident.
    // `'` marks it again.
    app.unmark_all();
    app.last_batch = moves.iter().map(|m| m.session.clone()).collect();
    app.note(
        Level::Info,
        format!(
            "sending {} request(s); marks cleared (' marks this batch again)",
            moves.len()
        ),
    );
    vec![Effect::Send { moves }]
}
