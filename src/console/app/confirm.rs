//! The one confirmation before anything is sent: it shows every session that will move and where,
//! with its warnings. Only `y` sends; a warned move takes a second `y` on a screen of its own.

use std::time::Duration;

use tokio::time::Instant;

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::claims::Held;
use crate::dispatch::{Insist, Move};
use crate::outcome::Outcome;
use crate::plan::{Planner, RECHECK_AFTER};
use crate::request::Target;

use crate::request::TargetKind;

use super::place::Spot;
use super::{App, Effect, Level, Mode, SendState, SessionItem, command};

// Enter, the key a hurried hand presses twice, sends nothing here.
pub(super) fn key(app: &mut App, mut confirm: Box<Confirm>, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Char('y') if confirm.warned() && !confirm.warning_acknowledged => {
            confirm.warning_acknowledged = true;
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
    /// The target's name and what is wrong (an agent not AVAILABLE or with no free capacity; a
    /// queue nobody AVAILABLE serves or closed now): the send asks twice.
    pub unfit_target: Option<(String, String)>,
    /// Sessions in the batch that were transferred before: sending them again asks twice.
    pub already_moved: Vec<String>,
    /// Sessions whose last outcome was `unknown`: they may already have moved; asks twice.
    pub maybe_moved: Vec<String>,
    /// The first yes to a warned move has been given.
    pub warning_acknowledged: bool,
    /// How many sessions were chosen (marked, or the highlighted one), moving or not: the
    /// headline counts the moves out of them. 0 for a plan, which chose its own.
    pub chosen: usize,
    /// Sessions already where they would go (waiting in the target queue, with the target agent):
    /// listed, never sent.
    pub already_there: Vec<(String, Target)>,
    /// AVAILABLE agents the moves take chats from while they are in them, with how many: asks twice.
    pub taken_from: Vec<(String, usize)>,
    /// The moves were checked for drift against live data read for them: where the server showed
    /// each session is where the plan expects it, so a move before is no warning.
    pub drift_checked: bool,
    /// The run a revert undoes: its recent moves are what is undone, no warning.
    pub undoes: Option<String>,
    /// Sessions another run (this console's too) moved a moment ago, each with what it says
    /// (`moved by run R 40s ago (user@host)`): sent only after the second `y`.
    pub recently_moved: Vec<(String, String)>,
    /// When it opened (the last tick), and where it showed each moving session: a `y` that comes
    /// more than `RECHECK_AFTER` later reads the live data again, and holds back what moved.
    pub opened: Option<Instant>,
    pub shown: Vec<(String, Spot)>,
    /// The fresh read after a slow `y` was made: the next `y` sends.
    pub rechecked: bool,
}

impl Confirm {
    /// Whether this move is warned, and so takes a second `y` on a screen of its own.
    pub fn warned(&self) -> bool {
        self.unfit_target.is_some()
            || !self.already_moved.is_empty()
            || !self.maybe_moved.is_empty()
            || !self.taken_from.is_empty()
            || !self.recently_moved.is_empty()
    }

    /// The headline: how many move, of how many chosen, to where, and how many stay and why.
    /// `name` gives a target's name as the panes know it.
    pub fn headline(&self, name: impl Fn(&Target) -> String) -> String {
        let n = self.moves.len();
        if n == 0 {
            return if self.drifted.is_empty() {
                format!("Nothing to send: {}", self.stays().join(", "))
            } else {
                format!(
                    "Nothing to send: every planned move drifted ({})",
                    self.drifted.len()
                )
            };
        }
        let verb = if self.retry { "Retry" } else { "Move" };
        let mut per_target: Vec<(&Target, usize)> = Vec::new();
        for (_, t) in &self.moves {
            tally(&mut per_target, t, 1);
        }
        let stays = self.stays();
        if per_target.len() == 1 && stays.is_empty() {
            let s = if n == 1 { "" } else { "s" };
            return format!("{verb} {n} session{s} to {}?", per_target[0].0);
        }
        let of = match self.chosen {
            c if c > n => format!(" of {c} marked"),
            _ => String::new(),
        };
        let to = per_target
            .iter()
            .map(|(t, count)| format!("{count} → {}", name(t)))
            .collect::<Vec<_>>()
            .join(", ");
        let stay_count = self.chosen.saturating_sub(n).max(
            self.left_out.len()
                + self.already_there.len()
                + self.skipped_in_flight
                + self.drifted.len(),
        );
        let stay = if stays.is_empty() {
            String::new()
        } else {
            format!(" · {stay_count} stay ({})", stays.join(", "))
        };
        format!("{verb} {n}{of}: {to}{stay}")
    }

    /// Why the sessions not moving stay, counted: `94 no AVAILABLE agent has free liveChat capacity`.
    fn stays(&self) -> Vec<String> {
        let mut why: Vec<(String, usize)> = Vec::new();
        for (_, reason) in &self.left_out {
            tally(&mut why, crate::format::one_line(reason), 1);
        }
        tally(&mut why, "already there".into(), self.already_there.len());
        tally(&mut why, "in flight".into(), self.skipped_in_flight);
        tally(&mut why, "drifted".into(), self.drifted.len());
        // One reason needs no count of its own: the headline's count is its.
        if why.len() == 1 {
            return why.into_iter().map(|(reason, _)| reason).collect();
        }
        why.into_iter()
            .map(|(reason, n)| format!("{n} {reason}"))
            .collect()
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
            chosen: busy.len() + free.len(),
            ..Confirm::default()
        },
    );
}

/// Opens the confirmation for its moves with their warnings, whoever made them (the panes, a
/// retry, a spread, a plan, a revert): a session transferred before or whose last outcome was
/// `unknown`, and a target agent who cannot take them, each ask for the second `y`.
pub(super) fn open_moves(app: &mut App, mut confirm: Confirm) {
    // A session already where it would go is left out: sending it moves nothing, or worse.
    let (there, moves): (Vec<_>, Vec<_>) = std::mem::take(&mut confirm.moves)
        .into_iter()
        .partition(|(id, target)| {
            app.sessions
                .by_id(id)
                .is_some_and(|s| is_at(app, &s.spot(), target))
        });
    confirm.moves = moves;
    confirm.already_there.extend(there);
    // An inactive queue is never a target: its moves are left out, with why.
    let (inactive, moves): (Vec<_>, Vec<_>) = std::mem::take(&mut confirm.moves)
        .into_iter()
        .partition(|(_, target)| {
            target.kind == TargetKind::Queue
                && live_queue(app, target).is_some_and(|q| q.refusal().is_some())
        });
    confirm.moves = moves;
    confirm
        .left_out
        .extend(inactive.into_iter().map(|(session, target)| {
            let why = live_queue(app, &target)
                .and_then(|q| q.refusal())
                .unwrap_or_default();
            (session, why)
        }));
    let sessions: Vec<&SessionItem> = confirm
        .moves
        .iter()
        .filter_map(|(id, _)| app.sessions.by_id(id))
        .collect();
    // A plan checked against a read made for it knows where each session is: a move before is
    // what put it there, not a warning.
    if !confirm.drift_checked {
        confirm.already_moved = sessions
            .iter()
            .filter(|s| s.state.ever_transferred)
            .map(|s| s.row.id.clone())
            .collect();
        confirm.maybe_moved = maybe_moved(sessions.iter().copied());
    }
    confirm.taken_from = taken_from(app, &sessions);
    confirm.opened = app.now;
    confirm.shown = sessions
        .iter()
        .map(|s| (s.row.id.clone(), s.spot().into_owned()))
        .collect();
    hold_claimed(app, &mut confirm);
    let mut targets: Vec<&Target> = confirm.moves.iter().map(|(_, t)| t).collect();
    targets.dedup();
    confirm.unfit_target = targets.into_iter().find_map(|t| unfit_target(app, t));
    app.mode = Mode::Confirm(Box::new(confirm));
}

/// Fresh live data came: a send waiting for a read asked after its `y` is checked against it. What
/// moved since the confirmation showed it (or is gone) is held back and said; the rest is sent. A
/// read that failed sends nothing and puts the confirmation back.
pub(super) fn on_fresh_live(app: &mut App, at: String, asked: Instant) -> Vec<Effect> {
    let Some((mut confirm, since)) = app.pending_send.take() else {
        return vec![];
    };
    if since.is_some_and(|since| asked < since) {
        // A read that left before the `y`: its own is still to come.
        app.pending_send = Some((confirm, since));
        app.live.refreshing = true;
        return vec![];
    }
    if let Some((_, why)) = &app.live.failure {
        let why = format!(
            "nothing sent: the live data could not be read again ({why}); y tries again, Esc cancels"
        );
        app.note(Level::Warn, why);
        app.mode = Mode::Confirm(confirm);
        return vec![];
    }
    let Some(snapshot) = app.snapshot.clone() else {
        app.mode = Mode::Confirm(confirm);
        return vec![];
    };
    let mut held: Vec<String> = Vec::new();
    let shown = std::mem::take(&mut confirm.shown);
    confirm.moves.retain(|(session, _)| {
        let then = shown
            .iter()
            .find(|(s, _)| s == session)
            .map(|(_, spot)| spot);
        let now = snapshot
            .conversations
            .iter()
            .find(|c| &c.session == session)
            .map(Spot::of);
        let moved = match (then, &now) {
            (_, None) => Some("no longer open".to_string()),
            (Some(then), Some(now))
                if then.queue_id != now.queue_id || then.agent_user != now.agent_user =>
            {
                Some(match (&now.agent, &now.queue) {
                    (Some(agent), _) => format!("now with {agent}"),
                    (None, Some(queue)) => format!("now waiting in {queue}"),
                    (None, None) => "moved".to_string(),
                })
            }
            _ => None,
        };
        if let Some(why) = &moved {
            held.push(format!("{session} ({why})"));
        }
        moved.is_none()
    });
    if !held.is_empty() {
        let text = format!(
            "held back {} that moved while the confirmation waited: {}",
            held.len(),
            held.join(", ")
        );
        app.log(at, None, super::ActivityKind::Note { text: text.clone() });
        app.note(Level::Warn, text);
    }
    confirm.rechecked = true;
    send(app, confirm)
}

/// What the account's claims hold (as last looked at): a session another run is moving now is
/// left out, with who moves it; one moved a moment ago (by any run but the one a revert undoes)
/// asks for the second `y`, unless the confirmation already warns it was moved.
fn hold_claimed(app: &App, confirm: &mut Confirm) {
    let mut claimed: Vec<(String, String)> = Vec::new();
    let mut moves = std::mem::take(&mut confirm.moves);
    moves.retain(|(session, _)| match app.claims.get(session) {
        Some((held @ Held::Claimed { .. }, _)) => {
            // This console's own run holds what is in flight: left out as in flight already.
            if !app
                .sessions
                .by_id(session)
                .is_some_and(|s| s.state.in_flight)
            {
                claimed.push((session.clone(), held.reason()));
            }
            false
        }
        _ => true,
    });
    confirm.moves = moves;
    confirm.left_out.extend(claimed);
    let warned_already: std::collections::HashSet<&String> = confirm
        .already_moved
        .iter()
        .chain(&confirm.maybe_moved)
        .collect();
    confirm.recently_moved = confirm
        .moves
        .iter()
        .filter(|(session, _)| !warned_already.contains(session))
        .filter_map(|(session, _)| match app.claims.get(session) {
            Some((held @ Held::Moved { .. }, run))
                if confirm.undoes.as_deref() != Some(run.as_str()) =>
            {
                Some((session.clone(), held.reason()))
            }
            _ => None,
        })
        .collect();
}

/// The sessions the supervisor insists on by the second `y`: those the confirmation warned were
/// moved before (here, by another run, or with an unknown outcome).
fn insisted(confirm: &Confirm) -> Insist {
    let sessions: std::collections::HashSet<String> = confirm
        .already_moved
        .iter()
        .chain(&confirm.maybe_moved)
        .cloned()
        .chain(confirm.recently_moved.iter().map(|(s, _)| s.clone()))
        .collect();
    if sessions.is_empty() {
        Insist::None
    } else {
        Insist::Only(sessions)
    }
}

/// Whether a session at `spot` is already where `target` would put it.
fn is_at(app: &App, spot: &Spot, target: &Target) -> bool {
    match target.kind {
        TargetKind::Queue => {
            (!spot.has_agent() && spot.queue_id.as_deref() == Some(target.id.as_str()))
                || app
                    .queues
                    .by_id(&target.id)
                    .is_some_and(|q| spot.is_waiting_in(q))
        }
        TargetKind::Agent => {
            spot.agent_id.as_deref() == Some(target.id.as_str())
                || app
                    .agents
                    .by_id(&target.id)
                    .is_some_and(|a| spot.is_with(a))
        }
    }
}

/// The AVAILABLE agents the sessions are with now, and how many each would lose: taking a chat
/// from an agent who is in it is a warned move.
fn taken_from(app: &App, sessions: &[&SessionItem]) -> Vec<(String, usize)> {
    let mut taken: Vec<(String, usize)> = Vec::new();
    for s in sessions {
        let Some(agent) = app.agents.rows().iter().find(|a| s.spot().is_with(a)) else {
            continue;
        };
        let available = agent
            .status
            .as_deref()
            .and_then(crate::live::Availability::parse)
            .is_some_and(|a| a.is_available());
        if !available {
            continue;
        }
        let name = if agent.name.trim().is_empty() {
            agent.id.clone()
        } else {
            agent.name.clone()
        };
        tally(&mut taken, name, 1);
    }
    taken
}

/// Where the moving sessions are now, counted: `3 with Alice Agent, 3 waiting in Billing`; empty
/// when nothing is known of where any of them is.
pub fn whereabouts(app: &App, confirm: &Confirm) -> String {
    let mut places: Vec<(String, usize)> = Vec::new();
    for (id, _) in &confirm.moves {
        let spot = app.sessions.by_id(id).map(|s| s.spot().into_owned());
        let place = match spot {
            Some(s) if s.has_agent() => format!(
                "with {}",
                s.agent.or(s.agent_id).or(s.agent_user).unwrap_or_default()
            ),
            Some(Spot { queue: Some(q), .. }) => format!("waiting in {q}"),
            _ => "where unknown".to_string(),
        };
        tally(&mut places, place, 1);
    }
    // Nothing known of any (sessions typed or loaded without queue or agent): nothing to say.
    if places.iter().all(|(p, _)| p == "where unknown") {
        return String::new();
    }
    places
        .into_iter()
        .map(|(place, n)| format!("{n} {place}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Counts `by` more for `key`, in the order keys first came (a count of 0 adds nothing).
fn tally<K: PartialEq>(counts: &mut Vec<(K, usize)>, key: K, by: usize) {
    if by == 0 {
        return;
    }
    match counts.iter_mut().find(|(seen, _)| *seen == key) {
        Some((_, n)) => *n += by,
        None => counts.push((key, by)),
    }
}

/// The sessions whose last outcome was `unknown`: the platform may have moved them already.
fn maybe_moved<'a>(sessions: impl Iterator<Item = &'a SessionItem>) -> Vec<String> {
    sessions
        .filter(|s| s.state.outcome == Some(Some(Outcome::Unknown)))
        .map(|s| s.row.id.clone())
        .collect()
}

/// The target's name and what is wrong: an agent shown as anything but AVAILABLE (OFFLINE, BUSY,
/// AWAY, or a presence Kore does not document such as System Busy) or with no free capacity; a
/// queue nobody AVAILABLE serves, or closed now by its Hours of Operation.
fn unfit_target(app: &App, target: &Target) -> Option<(String, String)> {
    if target.kind != crate::request::TargetKind::Agent {
        // A queue nobody AVAILABLE serves, as the last Queue Size showed it, or closed now by
        // its Hours of Operation.
        let queue = live_queue(app, target)?;
        let nobody = match queue.health() {
            crate::live::QueueHealth::NobodyAvailable(who) => {
                Some(format!("has nobody AVAILABLE serving it ({who})"))
            }
            _ => None,
        };
        let closed = app.opening.closed_warning(&queue.id);
        let why: Vec<String> = nobody.into_iter().chain(closed).collect();
        return (!why.is_empty()).then(|| (queue.name.clone(), why.join(", and ")));
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
    match (app.moving.chats_of(agent), agent.max_chats) {
        (Some(now), Some(most)) if now >= most => {
            Some((name, format!("has no free capacity ({now}/{most} chats)")))
        }
        _ => None,
    }
}

/// The queue `target` names, as the last live data showed it.
fn live_queue<'a>(app: &'a App, target: &Target) -> Option<&'a crate::live::LiveQueue> {
    app.snapshot
        .as_deref()?
        .queues
        .iter()
        .find(|q| q.id == target.id)
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
fn send(app: &mut App, confirm: Box<Confirm>) -> Vec<Effect> {
    if let Some(reason) = &app.ctx.read_only {
        let reason = format!("{reason} (:plan save PATH writes these moves as a plan)");
        app.mode = Mode::Confirm(confirm);
        app.note(Level::Warn, reason);
        return vec![];
    }
    if confirm.moves.is_empty() {
        let why = if confirm.drifted.is_empty() {
            "every chosen session is already there".to_string()
        } else {
            format!(
                "all {} move(s) drifted since the plan was made",
                confirm.drifted.len()
            )
        };
        app.note(Level::Warn, format!("nothing sent: {why}"));
        return vec![];
    }
    // A slow `y`: what the confirmation showed may be old. Read again before anything leaves.
    let waited = match (confirm.opened, app.now) {
        (Some(opened), Some(now)) => now.saturating_duration_since(opened),
        _ => Duration::ZERO,
    };
    if app.live.enabled && !confirm.rechecked && waited > RECHECK_AFTER {
        app.note(
            Level::Info,
            format!(
                "the confirmation waited {}: reading the live data again before sending…",
                crate::format::duration(waited)
            ),
        );
        app.pending_send = Some((confirm, app.now));
        app.live.refreshing = true;
        return vec![Effect::Refresh];
    }
    let (insist, undoes) = (insisted(&confirm), confirm.undoes.clone());
    // Where each session is now, for its attempt line (and so for a revert).
    let planner = app.snapshot.as_deref().map(Planner::new);
    let mut moves = Vec::with_capacity(confirm.moves.len());
    for (session, target) in confirm.moves {
        let target_name = app.name_of(&target);
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
            target_name,
        });
    }
    if moves.is_empty() {
        app.note(
            Level::Warn,
            "nothing sent: every session is already in flight",
        );
        return vec![];
    }
    // The marks were for this batch: they go, so the next move cannot take it along by accident
    // (the agents a spread went over too). `'` marks it again.
    app.unmark_all();
    app.agents.unmark_all();
    app.last_batch = moves.iter().map(|m| m.session.clone()).collect();
    app.note(
        Level::Info,
        format!(
            "sending {} request(s); marks cleared (' marks this batch again)",
            moves.len()
        ),
    );
    vec![Effect::Send {
        moves,
        insist,
        undoes,
    }]
}
