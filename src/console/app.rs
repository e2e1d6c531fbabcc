//! The console's state and its one transition function, `update(&mut App, Msg) -> Vec<Effect>`. It is
//! pure: no IO and no clock (messages carry the time), so every key and every answer can be tested
//! by feeding messages in and reading effects out. Only the runner (`console::run`) does IO.

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

use nucleo::Matcher;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::time::Instant;
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::dispatch::{Progress, Report};
use crate::ids::IdKind;
use crate::input::{AgentRow, Loaded, QueueRow, SessionRow};
use crate::listener::{CallbackEvent, CallbackState};
use crate::live::LiveSnapshot;
use crate::outcome::Outcome;
use crate::pacer::PacerStatus;
use crate::request::{CallbackRoute, Endpoint, Preview, Target};
use crate::verify::Verification;

use super::activity::{ActivityEntry, ActivityKind};
use super::keys::{Action, KeyMap};
use super::live::{self, LiveState};
use super::table::{Row, Table};

/// What the console shows of its run and needs to restate a call; fixed for the run.
#[derive(Debug, Clone)]
pub struct Context {
    pub profile: String,
    pub host: String,
    pub listener: String,
    pub config_path: String,
    pub log_path: String,
    pub audit_path: String,
    pub endpoint: Endpoint,
    pub callbacks: CallbackRoute,
    pub per_minute: u32,
    pub callback_wait: Duration,
    pub refresh_every: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Sessions,
    Agents,
    Queues,
    Activity,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::Sessions, Pane::Agents, Pane::Queues, Pane::Activity];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Sessions => "Sessions",
            Pane::Agents => "Agents",
            Pane::Queues => "Queues",
            Pane::Activity => "Activity",
        }
    }

    /// The word `load` and the files use.
    pub fn noun(self) -> &'static str {
        match self {
            Pane::Sessions => "sessions",
            Pane::Agents => "agents",
            Pane::Queues => "queues",
            Pane::Activity => "activity",
        }
    }

    fn step(self, by: isize) -> Pane {
        let i = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0) as isize;
        Pane::ALL[(i + by).rem_euclid(Pane::ALL.len() as isize) as usize]
    }
}

/// Where a session's last move stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SendState {
    /// Confirmed and not yet settled: it cannot be sent again until it is.
    pub in_flight: bool,
    /// Its request is on the wire now (in flight, and past the pacer).
    pub on_wire: bool,
    pub attempt: u32,
    pub retrying: bool,
    /// The last settled move: `Some(None)` when it was not sent at all.
    pub outcome: Option<Option<Outcome>>,
    pub message: String,
    pub target: Option<Target>,
    pub callback: Option<CallbackState>,
    pub settled_at: Option<Instant>,
    /// It was `transferred` at some point: a later attempt does not undo that.
    pub ever_transferred: bool,
    /// Every settled attempt's outcome, oldest first (the Activity pane has the bodies).
    pub history: Vec<Option<Outcome>>,
    /// What the server showed after the move (with live data on).
    pub verified: Option<Verification>,
    /// A verification is under way.
    pub verifying: bool,
}

impl SendState {
    /// The word in the row's outcome column.
    pub fn word(&self) -> &'static str {
        match (self.in_flight, self.outcome) {
            // Only a request on the wire is `sending`; the rest wait for a slot.
            (true, _) if self.on_wire => "sending",
            (true, _) => "queued",
            (false, Some(Some(o))) => o.as_str(),
            (false, Some(None)) => "not sent",
            (false, None) => "",
        }
    }

    /// The row's outcome cell: the outcome, and when it was ever transferred before a later
    /// attempt that was not, both (`transferred · then rejected`).
    pub fn outcome_cell(&self) -> String {
        let word = self.word();
        if self.ever_transferred && word != "transferred" && !word.is_empty() {
            format!("transferred · then {word}")
        } else {
            word.to_string()
        }
    }

    /// The server's word on the move, when it was checked: `verified`, `not moved`, `unverified`.
    pub fn verified_word(&self) -> Option<&'static str> {
        self.verified.as_ref().map(|v| v.verified.as_str())
    }

    /// Whether the server's view can say where it went: it may have moved, and is not checked yet.
    fn wants_verifying(&self) -> bool {
        !self.in_flight
            && !self.verifying
            && self.verified.is_none()
            && matches!(
                self.outcome,
                Some(Some(Outcome::Transferred | Outcome::Unknown))
            )
    }

    pub fn callback_word(&self) -> &'static str {
        self.callback.unwrap_or(CallbackState::None).as_str()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionItem {
    pub row: SessionRow,
    pub marked: bool,
    /// Marked by `'` with the rest of its batch, not chosen on its own: `r` then leaves it out if
    /// it was ever transferred.
    pub marked_with_batch: bool,
    pub state: SendState,
    /// It is in the live data now (and its live columns are kept up to date).
    pub live: bool,
    /// It came from live data, not from a file or a form: it goes when the conversation ends.
    pub from_live: bool,
}

impl SessionItem {
    /// A session as a file or a form gives it: unmarked, never sent.
    pub fn new(row: SessionRow) -> SessionItem {
        SessionItem {
            row,
            marked: false,
            marked_with_batch: false,
            state: SendState::default(),
            live: false,
            from_live: false,
        }
    }
}

impl Row for SessionItem {
    fn id(&self) -> &str {
        &self.row.id
    }

    fn haystack(&self) -> String {
        let mut h = self.row.id.clone();
        for (_, v) in &self.row.extra {
            h.push(' ');
            h.push_str(v);
        }
        h
    }
}

impl Row for AgentRow {
    fn id(&self) -> &str {
        &self.id
    }

    fn haystack(&self) -> String {
        [
            Some(self.id.as_str()),
            Some(self.name.as_str()),
            self.status.as_deref(),
            self.queues.as_deref(),
            self.skills.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    }
}

impl Row for QueueRow {
    fn id(&self) -> &str {
        &self.id
    }

    fn haystack(&self) -> String {
        format!("{} {}", self.id, self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub level: Level,
    pub text: String,
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

/// The one confirmation before anything is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub moves: Vec<(String, Target)>,
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

#[derive(Debug, Clone)]
pub enum Mode {
    Normal,
    Filter(Input),
    Command {
        input: Input,
        history_pos: Option<usize>,
    },
    Form(Form),
    Confirm(Confirm),
    Help {
        scroll: u16,
    },
    Detail {
        of: DetailOf,
        scroll: u16,
    },
    QuitConfirm,
}

/// What a detail view shows.
#[derive(Debug, Clone, PartialEq)]
pub enum DetailOf {
    /// One Activity entry, with its full bodies.
    Entry(usize),
    /// One session: every column, its state now, and its whole history.
    Session(String),
}

/// Rows of any pane, as a loaded file gives them.
#[derive(Debug, Clone)]
pub enum LoadedRows {
    Sessions(Loaded<SessionRow>),
    Agents(Loaded<AgentRow>),
    Queues(Loaded<QueueRow>),
}

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// The clock and the pacer, every quarter second.
    Tick {
        now: Instant,
        pacer: PacerStatus,
    },
    Loaded {
        source: String,
        result: Result<LoadedRows, String>,
    },
    /// What a move reports as it goes, stamped when it arrived.
    Progress {
        at: String,
        now: Instant,
        progress: Progress,
    },
    Callback {
        at: String,
        event: CallbackEvent,
    },
    Exported {
        path: String,
        result: Result<usize, String>,
    },
    /// A refresh of live data came back.
    Live {
        at: String,
        now: Instant,
        result: Result<LiveSnapshot, String>,
    },
    /// A run (one confirmed batch) ended: every session settled or was cancelled.
    RunDone {
        at: String,
        reports: Vec<Report>,
        /// Why it was stopped, when it was.
        stopped: Option<String>,
    },
    /// What the server showed of moved sessions.
    Verified {
        at: String,
        results: Vec<(String, Verification)>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Load {
        pane: Pane,
        path: PathBuf,
    },
    /// Send these moves, through the pacer, as one confirmed batch.
    Send {
        moves: Vec<(String, Target)>,
    },
    Export {
        path: PathBuf,
        lines: String,
    },
    /// Read the live data again (through the pacer, behind any assignments).
    Refresh,
    /// Stop every run: what waits is cancelled at once; what is on the wire settles.
    Stop,
    /// Stop every run, wait for the cancelled to be on record and the wire to settle, then quit.
    StopAndQuit,
    /// Ask the server where these moved sessions are now; `users` maps the target agents' `a-` ids
    /// to the `u-` ids conversations name them by, as far as the Agents pane knows.
    Verify {
        moves: Vec<(String, Target)>,
        users: Vec<(String, String)>,
    },
    Quit,
}

pub struct App {
    pub ctx: Context,
    pub keys: KeyMap,
    pub focus: Pane,
    pub sessions: Table<SessionItem>,
    pub agents: Table<AgentRow>,
    pub queues: Table<QueueRow>,
    pub activity: Table<ActivityEntry>,
    pub mode: Mode,
    pub status: Option<Status>,
    pub pacer: PacerStatus,
    pub in_flight: usize,
    pub history: Vec<String>,
    /// The sessions of the last confirmed batch, for `'` (mark them again).
    pub last_batch: Vec<String>,
    /// The filter line opened on a kept query, still selected: the first key typed replaces it.
    pub filter_fresh: bool,
    /// The status line holds a background message, which the next one may replace.
    pub status_from_background: bool,
    /// Rows a page holds; the view sets it as it draws.
    pub page: std::cell::Cell<usize>,
    pub matcher: RefCell<Matcher>,
    pub live: LiveState,
    /// The time of the last tick, for ages on screen.
    pub now: Option<Instant>,
    marked: usize,
    seq: usize,
}

impl App {
    /// Clears every session's mark.
    pub fn unmark_all(&mut self) {
        for s in self.sessions.rows_mut() {
            s.marked = false;
            s.marked_with_batch = false;
        }
        self.marked = 0;
    }

    pub fn new(ctx: Context, keys: KeyMap) -> App {
        let refresh_every = ctx.refresh_every;
        let pacer = PacerStatus {
            per_minute: ctx.per_minute,
            limit: ctx.per_minute,
            ..PacerStatus::default()
        };
        App {
            ctx,
            keys,
            focus: Pane::Sessions,
            sessions: Table::new(false),
            agents: Table::new(false),
            queues: Table::new(false),
            activity: Table::new(true),
            mode: Mode::Normal,
            status: None,
            pacer,
            in_flight: 0,
            history: Vec::new(),
            last_batch: Vec::new(),
            filter_fresh: false,
            status_from_background: false,
            page: std::cell::Cell::new(10),
            matcher: RefCell::new(Matcher::new(nucleo::Config::DEFAULT)),
            live: LiveState::new(refresh_every),
            now: None,
            marked: 0,
            seq: 0,
        }
    }

    pub fn marked(&self) -> usize {
        self.marked
    }

    /// How long the moves still in flight will take at the pacer's rate.
    pub fn eta(&self) -> Duration {
        crate::pacer::Pacer::eta_at(self.ctx.per_minute, self.in_flight + 1)
    }

    fn note(&mut self, level: Level, text: impl Into<String>) {
        self.status = Some(Status {
            level,
            text: text.into(),
        });
        self.status_from_background = false;
    }

    /// A message from background work (a refresh): it takes the status line only when that line
    /// is free or holds another background message, so the answer to what the operator just did
    /// stays. The Activity pane keeps every one.
    fn background_note(&mut self, level: Level, text: impl Into<String>) {
        if self.status.is_none() || self.status_from_background {
            self.note(level, text);
            self.status_from_background = true;
        }
    }

    fn log(&mut self, at: String, session: Option<String>, kind: ActivityKind) {
        self.seq += 1;
        let entry = ActivityEntry::new(self.seq, at, session, kind);
        let _ = self.activity.push(entry, &mut self.matcher.borrow_mut());
    }

    fn with_focused<R>(&mut self, f: impl FnOnce(&mut dyn Cursor) -> R) -> R {
        match self.focus {
            Pane::Sessions => f(&mut self.sessions),
            Pane::Agents => f(&mut self.agents),
            Pane::Queues => f(&mut self.queues),
            Pane::Activity => f(&mut self.activity),
        }
    }

    /// The focused pane's filter query.
    pub fn focused_query(&self) -> &str {
        match self.focus {
            Pane::Sessions => self.sessions.query(),
            Pane::Agents => self.agents.query(),
            Pane::Queues => self.queues.query(),
            Pane::Activity => self.activity.query(),
        }
    }

    fn set_filter(&mut self, query: &str) {
        let mut matcher = self.matcher.borrow_mut();
        match self.focus {
            Pane::Sessions => self.sessions.set_filter(query, &mut matcher),
            Pane::Agents => self.agents.set_filter(query, &mut matcher),
            Pane::Queues => self.queues.set_filter(query, &mut matcher),
            Pane::Activity => self.activity.set_filter(query, &mut matcher),
        }
    }

    /// The sessions a move applies to: every marked one (filtered out or not), else the highlighted.
    fn chosen_sessions(&self) -> Vec<usize> {
        if self.marked > 0 {
            self.sessions
                .rows()
                .iter()
                .enumerate()
                .filter(|(_, s)| s.marked)
                .map(|(i, _)| i)
                .collect()
        } else {
            self.sessions.selected().into_iter().collect()
        }
    }

    /// The calls a confirmation restates, redacted: one preview per move.
    pub fn previews(&self, confirm: &Confirm) -> Vec<Preview> {
        confirm
            .moves
            .iter()
            .map(|(session, target)| {
                Preview::new(&self.ctx.endpoint, &self.ctx.callbacks, session, target)
            })
            .collect()
    }
}

/// Cursor moves, whatever the pane's rows.
trait Cursor {
    fn move_by(&mut self, delta: isize);
    fn top(&mut self);
    fn bottom(&mut self);
}

impl<T: Row> Cursor for Table<T> {
    fn move_by(&mut self, delta: isize) {
        Table::move_by(self, delta)
    }
    fn top(&mut self) {
        Table::top(self)
    }
    fn bottom(&mut self) {
        Table::bottom(self)
    }
}

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(app, key),
        Msg::Tick { now, pacer } => {
            app.pacer = pacer;
            app.now = Some(now);
            let wait = app.ctx.callback_wait;
            for s in app.sessions.rows_mut() {
                if s.state.callback == Some(CallbackState::Waiting)
                    && s.state
                        .settled_at
                        .is_some_and(|t| now.saturating_duration_since(t) >= wait)
                {
                    s.state.callback = Some(CallbackState::Late);
                }
            }
            let mut effects = verifications_due(app, now);
            if app.live.due(now) {
                app.live.refreshing = true;
                effects.push(Effect::Refresh);
            }
            effects
        }
        Msg::RunDone {
            at,
            reports,
            stopped,
        } => {
            let summary = crate::dispatch::summarize(&reports, stopped.as_deref());
            let level = if reports
                .iter()
                .all(|r| r.outcome == Some(Outcome::Transferred))
            {
                Level::Info
            } else {
                Level::Warn
            };
            app.note(level, format!("run done: {summary}"));
            app.log(
                at,
                None,
                ActivityKind::Note {
                    text: format!("run done: {summary}"),
                },
            );
            vec![]
        }
        Msg::Verified { at, results } => {
            for (session, result) in results {
                let detail = format!("{session} {}: {}", result.verified, result.detail);
                if let Some(s) = app.sessions.by_id_mut(&session) {
                    s.state.verifying = false;
                    s.state.verified = Some(result);
                }
                if let Some(i) = app.sessions.find(&session) {
                    app.sessions.refresh(i);
                }
                app.log(
                    at.clone(),
                    Some(session),
                    ActivityKind::Note { text: detail },
                );
            }
            vec![]
        }
        Msg::Live { at, now, result } => {
            on_live(app, at, now, result);
            vec![]
        }
        Msg::Loaded { source, result } => {
            on_loaded(app, &source, result);
            vec![]
        }
        Msg::Progress { at, now, progress } => {
            on_progress(app, at, now, progress);
            vec![]
        }
        Msg::Callback { at, event } => {
            if event.accepted
                && let Some(session) = &event.session
                && let Some(s) = app.sessions.by_id_mut(session)
            {
                s.state.callback = Some(event.state());
            }
            let session = event.session.clone();
            app.log(at, session, ActivityKind::Callback { event });
            vec![]
        }
        Msg::Exported { path, result } => {
            match result {
                Ok(n) => app.note(
                    Level::Info,
                    format!("exported {n} activity entries to {path}"),
                ),
                Err(e) => app.note(Level::Error, format!("export to {path} failed: {e}")),
            }
            vec![]
        }
    }
}

/// With live data on, moves that settled as `transferred` (or `unknown`) are checked with the server
/// once their callback came or `VERIFY_AFTER` after the answer, in one batch per tick.
fn verifications_due(app: &mut App, now: Instant) -> Vec<Effect> {
    if !app.live.enabled {
        return vec![];
    }
    let mut moves = Vec::new();
    for s in app.sessions.rows_mut() {
        let heard = s.state.callback.is_some_and(CallbackState::came);
        let waited = s
            .state
            .settled_at
            .is_some_and(|t| now.saturating_duration_since(t) >= VERIFY_AFTER);
        if s.state.wants_verifying()
            && (heard || waited)
            && let Some(target) = s.state.target.clone()
        {
            s.state.verifying = true;
            moves.push((s.row.id.clone(), target));
        }
    }
    if moves.is_empty() {
        return vec![];
    }
    let users = app
        .agents
        .rows()
        .iter()
        .filter_map(|a| a.user_id.clone().map(|u| (a.id.clone(), u)))
        .collect();
    vec![Effect::Verify { moves, users }]
}

/// How long after the answer a move without a callback is checked with the server.
pub const VERIFY_AFTER: Duration = Duration::from_secs(3);

fn on_progress(app: &mut App, at: String, now: Instant, progress: Progress) {
    match progress {
        Progress::Attempting {
            session,
            target,
            attempt,
        } => {
            let preview = Preview::new(&app.ctx.endpoint, &app.ctx.callbacks, &session, &target);
            if let Some(s) = app.sessions.by_id_mut(&session) {
                s.state.attempt = attempt;
                s.state.retrying = false;
                s.state.on_wire = true;
            }
            app.seq += 1;
            let entry = ActivityEntry::request(app.seq, at, &session, &target, attempt, &preview);
            let _ = app.activity.push(entry, &mut app.matcher.borrow_mut());
        }
        Progress::Attempted {
            session,
            target,
            attempt,
            summary,
            retry_in,
        } => {
            if let Some(s) = app.sessions.by_id_mut(&session) {
                s.state.retrying = retry_in.is_some();
                s.state.on_wire = false;
            }
            let kind = ActivityKind::Response {
                target,
                attempt,
                outcome: summary.outcome,
                http_status: summary.http_status,
                message: summary.message,
                latency_ms: summary.latency_ms,
                response: summary.response,
                retry_in_ms: retry_in.map(|d| d.as_millis() as u64),
            };
            app.log(at, Some(session), kind);
        }
        Progress::Settled(report) => on_settled(app, at, now, report),
    }
}

/// Asks for live data now: the `R` key and `:load live`.
fn refresh_now(app: &mut App) -> Vec<Effect> {
    app.live.enabled = true;
    if app.live.refreshing {
        app.note(Level::Info, "a refresh of the live data is already running");
        return vec![];
    }
    app.live.refreshing = true;
    app.note(
        Level::Info,
        "refreshing the live data (behind any assignments)",
    );
    // What the refresh finds is the answer to this: it may take the line.
    app.status_from_background = true;
    vec![Effect::Refresh]
}

fn on_live(app: &mut App, at: String, now: Instant, result: Result<LiveSnapshot, String>) {
    app.live.refreshing = false;
    app.live.next_due = Some(now + app.live.every);
    match result {
        Ok(snapshot) => {
            let merged = {
                let mut matcher = app.matcher.borrow_mut();
                live::merge(
                    &mut app.sessions,
                    &mut app.agents,
                    &mut app.queues,
                    &snapshot,
                    &mut matcher,
                )
            };
            let first = app.live.last_ok.is_none();
            app.live.last_ok = Some(now);
            app.live.last_cost = Some(snapshot.calls);
            app.live.failure = None;
            if !snapshot.warnings.is_empty() {
                let text = format!("live data read, but: {}", snapshot.warnings.join("; "));
                app.background_note(Level::Warn, text.clone());
                app.log(at, None, ActivityKind::Note { text });
            } else if first {
                app.background_note(
                    Level::Info,
                    format!(
                        "live: {} open conversations, {} agents, {} queues ({} calls)",
                        snapshot.conversations.len(),
                        snapshot.agents.len(),
                        snapshot.queues.len(),
                        snapshot.calls
                    ),
                );
            }
            if merged.sessions_gone > 0 || merged.sessions_added > 0 {
                tracing::debug!(
                    added = merged.sessions_added,
                    gone = merged.sessions_gone,
                    "live sessions merged"
                );
            }
        }
        Err(why) => {
            // The cause first and short on screen; the whole chain (the lines after the first)
            // in the Activity entry, one Enter away.
            let short = why.lines().next().unwrap_or_default().to_string();
            app.live.failure = Some((now, short.clone()));
            app.background_note(
                Level::Error,
                format!("live data not refreshed, the panes show the last data: {short}"),
            );
            app.log(
                at,
                None,
                ActivityKind::Note {
                    text: format!("live data not refreshed: {why}"),
                },
            );
        }
    }
}

fn on_settled(app: &mut App, at: String, now: Instant, report: Report) {
    app.in_flight = app.in_flight.saturating_sub(1);
    if report.outcome == Some(Outcome::Cancelled) {
        app.log(
            at,
            Some(report.session.clone()),
            ActivityKind::NotSent {
                target: report.target.clone(),
                reason: report.message.clone(),
            },
        );
    }
    let Some(i) = app.sessions.find(&report.session) else {
        return;
    };
    if let Some(s) = app.sessions.by_id_mut(&report.session) {
        s.state.in_flight = false;
        s.state.on_wire = false;
        s.state.retrying = false;
        s.state.outcome = Some(report.outcome);
        s.state.history.push(report.outcome);
        s.state.ever_transferred |= report.outcome == Some(Outcome::Transferred);
        s.state.message = report.message;
        s.state.attempt = report.attempts;
        s.state.settled_at = Some(now);
        s.state.target = Some(report.target.clone());
        // A new answer: what the server showed of an earlier move no longer speaks for this one.
        s.state.verified = None;
        // A callback can beat the answer; keep it. Otherwise wait for one where one may come.
        let arrived = s.state.callback.is_some_and(CallbackState::came);
        if !arrived {
            s.state.callback = match report.outcome {
                Some(Outcome::Transferred | Outcome::Unknown) => Some(CallbackState::Waiting),
                _ => Some(CallbackState::None),
            };
        }
    }
    app.sessions.refresh(i);
}

fn on_loaded(app: &mut App, source: &str, result: Result<LoadedRows, String>) {
    let loaded = match result {
        Ok(l) => l,
        Err(e) => return app.note(Level::Error, e),
    };
    let mut matcher = app.matcher.borrow_mut();
    let (noun, added, merged, warnings) = match loaded {
        LoadedRows::Sessions(l) => {
            let (mut added, mut merged) = (0, 0);
            for row in l.rows {
                let item = SessionItem::new(row);
                match app.sessions.push(item, &mut matcher) {
                    Ok(_) => added += 1,
                    Err((item, existing)) => {
                        merged += 1;
                        if let Some(s) = app.sessions.by_id_mut(&item.row.id) {
                            for (k, v) in item.row.extra {
                                if let Some(slot) = s.row.extra.iter_mut().find(|(ek, _)| *ek == k)
                                {
                                    slot.1 = v;
                                } else {
                                    s.row.extra.push((k, v));
                                }
                            }
                        }
                        app.sessions.refresh(existing);
                    }
                }
            }
            ("sessions", added, merged, l.warnings.len())
        }
        LoadedRows::Agents(l) => {
            let (added, merged) = upsert_all(&mut app.agents, l.rows, &mut matcher);
            ("agents", added, merged, l.warnings.len())
        }
        LoadedRows::Queues(l) => {
            let (added, merged) = upsert_all(&mut app.queues, l.rows, &mut matcher);
            ("queues", added, merged, l.warnings.len())
        }
    };
    drop(matcher);
    let mut text = format!("loaded {added} {noun} from {source}");
    if merged > 0 {
        text.push_str(&format!(", {merged} already here (merged)"));
    }
    if warnings > 0 {
        text.push_str(&format!(", {warnings} duplicate(s) in the file merged"));
    }
    app.note(
        if merged + warnings > 0 {
            Level::Warn
        } else {
            Level::Info
        },
        text,
    );
}

/// Adds rows; a row whose id is already there is replaced in place.
fn upsert_all<T: Row>(table: &mut Table<T>, rows: Vec<T>, matcher: &mut Matcher) -> (usize, usize) {
    let total = rows.len();
    let mut added = 0;
    for row in rows {
        added += usize::from(table.upsert(row, matcher));
    }
    if added < total {
        table.reapply_filter(matcher);
    }
    (added, total - added)
}

fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C'))
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if is_ctrl_c(&key) {
        return vec![Effect::Quit];
    }
    let mode = std::mem::replace(&mut app.mode, Mode::Normal);
    match mode {
        Mode::Normal => {
            app.status = None;
            normal_key(app, key)
        }
        Mode::Filter(mut input) => {
            // `/` opens on the kept query, selected: the first key typed replaces it.
            let fresh = std::mem::take(&mut app.filter_fresh);
            match key.code {
                KeyCode::Enter => {}
                KeyCode::Esc => app.set_filter(""),
                _ => {
                    if fresh
                        && matches!(
                            key.code,
                            KeyCode::Char(_) | KeyCode::Backspace | KeyCode::Delete
                        )
                    {
                        input = Input::default();
                    }
                    if !(fresh && matches!(key.code, KeyCode::Backspace | KeyCode::Delete)) {
                        input.handle_event(&ratatui::crossterm::event::Event::Key(key));
                    }
                    let query = input.value().to_string();
                    app.set_filter(&query);
                    app.mode = Mode::Filter(input);
                }
            }
            vec![]
        }
        Mode::Command {
            mut input,
            history_pos,
        } => match key.code {
            KeyCode::Enter => {
                let line = input.value().trim().to_string();
                if !line.is_empty() && app.history.last() != Some(&line) {
                    app.history.push(line.clone());
                }
                run_command(app, &line)
            }
            KeyCode::Esc => vec![],
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
                input.handle_event(&ratatui::crossterm::event::Event::Key(key));
                app.mode = Mode::Command { input, history_pos };
                vec![]
            }
        },
        Mode::Form(mut form) => match key.code {
            KeyCode::Esc => vec![],
            KeyCode::Enter if form.focus + 1 < form.fields.len() => {
                form.focus += 1;
                app.mode = Mode::Form(form);
                vec![]
            }
            KeyCode::Enter => submit_form(app, form),
            _ => {
                let i = form.focus;
                form.fields[i]
                    .1
                    .handle_event(&ratatui::crossterm::event::Event::Key(key));
                app.mode = Mode::Form(form);
                vec![]
            }
        },
        // Only `y` sends. Enter, the key a hurried hand presses twice, sends nothing here; a warned
        // move takes a second `y` on the warning's own screen.
        Mode::Confirm(mut confirm) => match key.code {
            KeyCode::Char('y') if confirm.warned() && !confirm.offline_acknowledged => {
                confirm.offline_acknowledged = true;
                confirm.scroll = 0;
                app.mode = Mode::Confirm(confirm);
                vec![]
            }
            KeyCode::Char('y') => send(app, confirm),
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
        },
        Mode::Help { scroll } => {
            app.mode = match key.code {
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') | KeyCode::Enter => {
                    Mode::Normal
                }
                KeyCode::Char('j') | KeyCode::Down => Mode::Help {
                    scroll: scroll.saturating_add(1),
                },
                KeyCode::Char('k') | KeyCode::Up => Mode::Help {
                    scroll: scroll.saturating_sub(1),
                },
                _ => Mode::Help { scroll },
            };
            vec![]
        }
        Mode::Detail { of, scroll } => {
            let scroll = match key.code {
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter => return vec![],
                KeyCode::Char('j') | KeyCode::Down => scroll.saturating_add(1),
                KeyCode::Char('k') | KeyCode::Up => scroll.saturating_sub(1),
                KeyCode::PageDown => scroll.saturating_add(10),
                KeyCode::PageUp => scroll.saturating_sub(10),
                _ => scroll,
            };
            app.mode = Mode::Detail { of, scroll };
            vec![]
        }
        Mode::QuitConfirm => match key.code {
            KeyCode::Char('y') => vec![Effect::StopAndQuit],
            _ => {
                app.note(Level::Info, "still running");
                vec![]
            }
        },
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

fn normal_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
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
        Action::Mark => {
            mark_selected(app);
            if app.focus == Pane::Sessions {
                app.sessions.move_by(1);
            }
        }
        Action::MarkLast => mark_last_batch(app),
        Action::Stop => {
            if app.in_flight == 0 {
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
        Action::UnmarkAll => app.unmark_all(),
        Action::Filter => {
            let kept = app.focused_query().to_string();
            app.filter_fresh = !kept.is_empty();
            app.mode = Mode::Filter(Input::new(kept));
        }
        Action::Select => return select(app),
        Action::Retry => retry(app),
        Action::Add => add_form(app),
        Action::Delete => delete(app),
        Action::Load => {
            if app.focus == Pane::Activity {
                app.note(
                    Level::Warn,
                    "files load into Sessions, Agents or Queues; `:export PATH` saves the activity",
                );
            } else {
                app.mode = Mode::Form(Form {
                    purpose: FormPurpose::Load(app.focus),
                    fields: vec![("file", Input::default())],
                    focus: 0,
                });
            }
        }
        Action::Command => {
            app.mode = Mode::Command {
                input: Input::default(),
                history_pos: None,
            }
        }
        Action::Help => app.mode = Mode::Help { scroll: 0 },
        Action::Refresh => return refresh_now(app),
        Action::Quit => {
            if app.in_flight > 0 {
                app.mode = Mode::QuitConfirm;
            } else {
                return vec![Effect::Quit];
            }
        }
    }
    vec![]
}

fn mark_selected(app: &mut App) {
    if app.focus != Pane::Sessions {
        return app.note(Level::Warn, "marks are for sessions: focus Sessions first");
    }
    let Some(i) = app.sessions.selected() else {
        return;
    };
    let id = app
        .sessions
        .get(i)
        .map(|s| s.row.id.clone())
        .unwrap_or_default();
    if let Some(s) = app.sessions.by_id_mut(&id) {
        s.marked = !s.marked;
        s.marked_with_batch = false;
        if s.marked {
            app.marked += 1;
        } else {
            app.marked -= 1;
        }
    }
}

/// `'` or `:select last`: marks the last confirmed batch again (and nothing else), to look at it
/// or to retry it.
fn mark_last_batch(app: &mut App) {
    if app.last_batch.is_empty() {
        return app.note(Level::Warn, "no batch was sent yet");
    }
    app.unmark_all();
    let ids = app.last_batch.clone();
    let mut found = 0;
    for id in &ids {
        if let Some(s) = app.sessions.by_id_mut(id) {
            s.marked = true;
            s.marked_with_batch = true;
            found += 1;
        }
    }
    app.marked = found;
    app.focus = Pane::Sessions;
    app.note(
        Level::Info,
        format!("marked the last batch again: {found} session(s)"),
    );
}

fn mark_visible(app: &mut App) {
    if app.focus != Pane::Sessions {
        return app.note(Level::Warn, "marks are for sessions: focus Sessions first");
    }
    let ids: Vec<String> = app
        .sessions
        .visible()
        .iter()
        .filter_map(|&i| app.sessions.get(i))
        .filter(|s| !s.marked)
        .map(|s| s.row.id.clone())
        .collect();
    for id in &ids {
        if let Some(s) = app.sessions.by_id_mut(id) {
            s.marked = true;
        }
    }
    app.marked += ids.len();
}

fn select(app: &mut App) -> Vec<Effect> {
    match app.focus {
        Pane::Agents => {
            if let Some(agent) = app.agents.selected_row() {
                let target = Target::agent(agent.id.clone());
                open_confirm(app, target);
            }
        }
        Pane::Queues => {
            if let Some(queue) = app.queues.selected_row() {
                let target = Target::queue(queue.id.clone());
                open_confirm(app, target);
            }
        }
        Pane::Activity => {
            if let Some(entry) = app.activity.selected() {
                app.mode = Mode::Detail {
                    of: DetailOf::Entry(entry),
                    scroll: 0,
                };
            }
        }
        Pane::Sessions => {
            if let Some(s) = app.sessions.selected_row() {
                app.mode = Mode::Detail {
                    of: DetailOf::Session(s.row.id.clone()),
                    scroll: 0,
                };
            }
        }
    }
    vec![]
}

/// Opens the confirmation for moving the chosen sessions to `target`, leaving out any in flight.
fn open_confirm(app: &mut App, target: Target) {
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
    let chosen: Vec<&SessionItem> = free.iter().filter_map(|&i| app.sessions.get(i)).collect();
    let moves = chosen
        .iter()
        .map(|s| (s.row.id.clone(), target.clone()))
        .collect();
    let already_moved = chosen
        .iter()
        .filter(|s| s.state.ever_transferred)
        .map(|s| s.row.id.clone())
        .collect();
    let maybe_moved = maybe_moved(chosen.iter().copied());
    let offline_agent = offline_agent(app, &target);
    app.mode = Mode::Confirm(Confirm {
        moves,
        skipped_in_flight: busy.len(),
        retry: false,
        scroll: 0,
        offline_agent,
        already_moved,
        maybe_moved,
        offline_acknowledged: false,
    });
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
fn retry(app: &mut App) {
    let chosen = app.chosen_sessions();
    let mut moves = Vec::new();
    let mut already_moved = Vec::new();
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
            if !s.marked || s.marked_with_batch {
                left_out += 1;
                continue;
            }
            already_moved.push(s.row.id.clone());
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
    let offline_agent = moves.iter().find_map(|(_, t)| offline_agent(app, t));
    let maybe_moved = maybe_moved(
        moves
            .iter()
            .filter_map(|(id, _)| app.sessions.find(id).and_then(|i| app.sessions.get(i))),
    );
    app.mode = Mode::Confirm(Confirm {
        moves,
        skipped_in_flight: skipped,
        retry: true,
        scroll: 0,
        offline_agent,
        already_moved,
        maybe_moved,
        offline_acknowledged: false,
    });
}

/// `y` in the confirmation: exactly one `Send` of exactly the moves shown.
fn send(app: &mut App, confirm: Confirm) -> Vec<Effect> {
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
        moves.push((session, target));
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
    app.last_batch = moves.iter().map(|(s, _)| s.clone()).collect();
    app.note(
        Level::Info,
        format!(
            "sending {} request(s); marks cleared (' marks this batch again)",
            moves.len()
        ),
    );
    vec![Effect::Send { moves }]
}

fn add_form(app: &mut App) {
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
            if removed.marked {
                app.marked -= 1;
            }
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

pub const COMMANDS: &str = "load sessions|agents|queues PATH · load live · assign agent|queue ID · select last · export PATH · quit";

fn run_command(app: &mut App, line: &str) -> Vec<Effect> {
    let mut words = line.split_whitespace();
    let (verb, first) = (words.next(), words.next());
    let rest: Vec<&str> = words.collect();
    let rest = rest.join(" ");
    match (verb, first) {
        (None, _) => vec![],
        (Some("load"), Some("live")) if rest.is_empty() => refresh_now(app),
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
            let target = if kind == "agent" {
                Target::agent(rest.clone())
            } else {
                Target::queue(rest.clone())
            };
            let shape = if kind == "agent" {
                IdKind::Agent
            } else {
                IdKind::Queue
            };
            open_confirm(app, target);
            if let (Some(w), Mode::Confirm(_)) = (shape.warning(&rest), &app.mode) {
                app.note(Level::Warn, w);
            }
            vec![]
        }
        (Some("export"), Some(_)) => {
            let path = line["export".len()..].trim();
            let mut lines = String::new();
            for entry in app.activity.rows() {
                lines.push_str(&serde_json::to_string(entry).expect("activity serializes"));
                lines.push('\n');
            }
            vec![Effect::Export {
                path: PathBuf::from(path),
                lines,
            }]
        }
        (Some("select"), Some("last")) if rest.is_empty() => {
            mark_last_batch(app);
            vec![]
        }
        (Some("quit" | "q"), None) => {
            if app.in_flight > 0 {
                app.mode = Mode::QuitConfirm;
                vec![]
            } else {
                vec![Effect::Quit]
            }
        }
        _ => {
            app.note(
                Level::Error,
                format!("unknown command {line:?}; commands: {COMMANDS}"),
            );
            vec![]
        }
    }
}
