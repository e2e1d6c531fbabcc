//! The console's state and its one transition function, `update(&mut App, Msg) -> Vec<Effect>`. It is
//! pure: no IO and no clock (messages carry the time), so every key and every answer can be tested
//! by feeding messages in and reading effects out. Only the runner (`console::run`) does IO.

pub mod alerts;
mod command;
mod confirm;
mod detail;
mod events;
mod filter;
mod form;
mod normal;
pub mod opening;
mod place;
mod plans;
pub mod priority;
mod select;
mod session;
pub mod transcript;
pub mod trend;

use std::collections::HashMap;

use crate::claims::{Claim, Held};
use crate::dispatch::Insist;
use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

use nucleo::Matcher;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::time::Instant;
use tui_input::Input;

use crate::dispatch::{Move, Progress, Report};
use crate::input::{AgentRow, Loaded, QueueRow, SessionRow};
use crate::listener::{CallbackEvent, CallbackState};
use crate::live::LiveSnapshot;
use crate::outcome::Outcome;
use crate::pacer::PacerStatus;
use crate::plan::Plan;
use crate::request::{CallbackRoute, Endpoint, Preview, Target, TargetKind};
use crate::verify::{Verification, Verified};

use super::activity::{ActivityEntry, ActivityKind};
use super::columns::SessionColumns;
use super::keys::{self, KeyMap};
use super::live::LiveState;
use super::table::{Ranked, Ranking, Row, Table};

pub use command::COMMANDS;
pub use confirm::{Confirm, whereabouts};
pub use detail::DetailOf;
pub use events::VERIFY_AFTER;
pub use form::{Form, FormPurpose};
pub use place::{Moving, Place, Spot};
pub use session::{SendState, SessionItem};

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
    /// The zone times are shown in: the operator's own (the records keep UTC).
    pub zone: jiff::tz::TimeZone,
    /// Why nothing can be sent, when the process is read-only: the header says READ-ONLY and `y`
    /// in the confirmation says this instead of sending.
    pub read_only: Option<String>,
    /// When the console raises an alert.
    pub alerts: alerts::Thresholds,
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

#[derive(Debug, Clone)]
pub enum Mode {
    Normal,
    Filter(Input),
    Command {
        input: Input,
        history_pos: Option<usize>,
    },
    Form(Form),
    Confirm(Box<Confirm>),
    /// The confirmation of a queue's priority change (`:queue priority`, a revert of one).
    ConfirmPriority(Box<priority::PriorityConfirm>),
    Help {
        scroll: u16,
    },
    Detail {
        of: DetailOf,
        scroll: u16,
    },
    QuitConfirm,
    /// `!`: what needs a supervisor now, the highlighted one acted on with Enter or snoozed with z.
    Alerts {
        selected: usize,
    },
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
    /// The account's claims and marks as they stand (every second), with the time they were read.
    Claims {
        claims: Vec<Claim>,
        now_ms: u64,
    },
    /// Another supervisor's move, callback or verification, from the shared store.
    Shared {
        at: String,
        now: Instant,
        event: crate::picture::SharedEvent,
    },
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
        /// What was counted: `activity entries`, `run(s)`.
        what: &'static str,
        result: Result<usize, String>,
    },
    /// A refresh of live data came back.
    Live {
        at: String,
        /// When the read was asked for: what it shows is the truth as of then.
        asked: Instant,
        now: Instant,
        result: Result<LiveSnapshot, String>,
    },
    /// Queues' Hours of Operation were read: each queue's, or why not, as of the wall clock `wall`.
    Hours {
        now: Instant,
        wall: jiff::Timestamp,
        read: Vec<(String, Result<crate::hours::Hours, String>)>,
    },
    /// A session's last messages were read, or why not.
    Messages {
        session: String,
        result: Result<Vec<crate::history::Message>, String>,
    },
    /// Queues this machine's runs left raised, from the audit log at start, each with when.
    RaisedOnRecord {
        raised: Vec<(crate::priority::Change, Instant)>,
    },
    /// Priority changes are ready to confirm: their earlier values read, the call written out.
    PriorityReady {
        changes: Vec<crate::priority::Change>,
        lines: Vec<String>,
    },
    /// Priority changes were sent as run `run`: each one's outcome, or why none was sent.
    PrioritySet {
        at: String,
        now: Instant,
        run: String,
        changes: Vec<crate::priority::Change>,
        result: Result<Vec<crate::priority::Outcome>, String>,
    },
    /// A run (one confirmed batch) ended: every session settled or was cancelled.
    RunDone {
        at: String,
        /// The run's id, as its audit lines carry it.
        run: String,
        reports: Vec<Report>,
        /// Why it was stopped, when it was.
        stopped: Option<String>,
    },
    /// What the server showed of moved sessions.
    Verified {
        at: String,
        /// When the answer came: where it puts each session was learned then.
        now: Instant,
        results: Vec<(String, Verification)>,
    },
    /// A plan was read (`:plan open`) or made from a run (`:revert last`), to confirm.
    PlanRead {
        source: String,
        result: Result<Plan, String>,
    },
    /// A plan was written (`:plan save`): how many moves, or why not.
    PlanSaved {
        path: String,
        result: Result<usize, String>,
    },
    /// A pane's filter was ranked on the filter's thread.
    Ranked {
        pane: Pane,
        ranked: Ranked,
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
        moves: Vec<Move>,
        /// The sessions sent although another run moved them a moment ago (the second `y`).
        insist: Insist,
        /// The run a revert undoes.
        undoes: Option<String>,
    },
    /// Write this plan (`:plan save`).
    SavePlan {
        path: PathBuf,
        plan: Box<Plan>,
    },
    /// Read a plan to confirm (`:plan open`).
    OpenPlan {
        path: PathBuf,
    },
    /// Make the plan that undoes a run from the audit log (`:revert last`).
    OpenRevert {
        run: String,
        audit: PathBuf,
        /// What the plan names as its profile, host, account and stream.
        profile: String,
        endpoint: Endpoint,
    },
    Export {
        path: PathBuf,
        lines: String,
    },
    /// Write the incident report of this process's runs, from the audit log, in the format the
    /// file's name asks for.
    ExportReport {
        path: PathBuf,
    },
    /// Read the live data again (through the pacer, behind any assignments).
    Refresh,
    /// Read what switchboard last set for these queues' priorities (the audit log), and write out
    /// the call, for the confirmation.
    PreparePriority {
        changes: Vec<crate::priority::Change>,
    },
    /// Send these priority changes, confirmed, as one run.
    SetPriority {
        changes: Vec<crate::priority::Change>,
    },
    /// Read a session's last messages (Conversation History, the automation APIs' budget).
    ReadMessages {
        session: String,
    },
    /// Read these queues' Hours of Operation (through the pacer).
    ReadHours {
        queues: Vec<String>,
    },
    /// Rank a pane's filter on the filter's thread (a big pane: never where frames are drawn).
    Rank {
        pane: Pane,
        ranking: Ranking,
    },
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
    pub history: Vec<String>,
    /// The sessions of the last confirmed batch, for `'` (mark them again).
    pub last_batch: Vec<String>,
    /// What the account's claims hold, as last looked at (every second): each session with what
    /// holds it and the run that does.
    pub claims: HashMap<String, (Held, String)>,
    /// Alerts snoozed (`z` in the list), each until when.
    pub snoozed: HashMap<String, Instant>,
    /// Each queue's waiting count over the last refreshes, for the Queues pane's sparkline.
    pub trends: trend::Trends,
    /// Whether each queue is open now, by its Hours of Operation.
    pub opening: opening::Opening,
    /// The queues this console raised, watched for the alert that offers to lower them.
    pub raised: priority::Raised,
    /// Sessions' last messages, read on demand (`t` in a session's detail).
    pub transcripts: transcript::Transcripts,
    /// The filter line opened on a kept query, still selected: the first key typed replaces it.
    pub filter_fresh: bool,
    /// The status line holds a background message, which the next one may replace.
    pub status_from_background: bool,
    /// Rows a page holds; the view sets it as it draws.
    pub page: std::cell::Cell<usize>,
    pub matcher: RefCell<Matcher>,
    pub live: LiveState,
    /// The session columns that have had a value: they show, in fixed places.
    pub session_columns: SessionColumns,
    /// What moves not yet seen by a read change in the Agents and Queues panes' counts.
    pub moving: Moving,
    /// The time of the last tick, for ages on screen.
    pub now: Option<Instant>,
    /// Rank big panes' filters on the filter's thread (the console does; a test may not).
    pub filter_off_thread: bool,
    /// The last live data, whole: what a spread, a plan and a drift check are made from.
    pub snapshot: Option<std::sync::Arc<LiveSnapshot>>,
    /// The id of the last run that ended, for `:revert last`.
    pub last_run: Option<String>,
    /// The order the Sessions pane is read in (`s`).
    pub order: crate::triage::SessionOrder,
    /// The confirmation put aside while `:` takes a command (`:plan save` writes it).
    held_confirm: Option<Box<Confirm>>,
    /// A plan waiting for fresh live data to be checked against, and how many refreshes that
    /// began before it to let pass first.
    pending_plan: Option<(String, Plan, usize)>,
    /// A confirmed send waiting for a read asked after its `y` (the confirmation waited long).
    pending_send: Option<(Box<Confirm>, Option<Instant>)>,
    seq: usize,
}

impl App {
    /// Clears every session's mark.
    pub fn unmark_all(&mut self) {
        self.sessions.unmark_all();
        for s in self.sessions.rows_mut() {
            s.marked_with_batch = false;
        }
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
            history: Vec::new(),
            last_batch: Vec::new(),
            claims: HashMap::new(),
            snoozed: HashMap::new(),
            trends: trend::Trends::default(),
            opening: opening::Opening::default(),
            raised: priority::Raised::default(),
            transcripts: transcript::Transcripts::default(),
            filter_fresh: false,
            status_from_background: false,
            page: std::cell::Cell::new(10),
            matcher: RefCell::new(Matcher::new(nucleo::Config::DEFAULT)),
            live: LiveState::new(refresh_every),
            session_columns: SessionColumns::default(),
            moving: Moving::default(),
            now: None,
            filter_off_thread: false,
            snapshot: None,
            last_run: None,
            order: crate::triage::SessionOrder::default(),
            held_confirm: None,
            pending_plan: None,
            pending_send: None,
            seq: 0,
        }
    }

    /// Marked sessions.
    pub fn marked(&self) -> usize {
        self.sessions.marked()
    }

    /// Moves confirmed and not settled: on the wire, or waiting for a pacer slot. Derived from
    /// the rows' states, never counted beside them.
    pub fn in_flight(&self) -> usize {
        self.sessions
            .rows()
            .iter()
            .filter(|s| s.state.in_flight)
            .count()
    }

    /// Moves whose request is on the wire now.
    pub fn sending(&self) -> usize {
        self.sessions
            .rows()
            .iter()
            .filter(|s| s.state.in_flight && s.state.on_wire)
            .count()
    }

    /// How long the moves still in flight will take at the pacer's rate.
    pub fn eta(&self) -> Duration {
        crate::pacer::Pacer::eta_at(self.ctx.per_minute, self.in_flight() + 1)
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
        self.push_activity(entry);
    }

    /// Adds an entry to Activity, naming its move's agent or queue as the panes know it.
    fn push_activity(&mut self, mut entry: ActivityEntry) {
        if let ActivityKind::Request { target, .. }
        | ActivityKind::Response { target, .. }
        | ActivityKind::NotSent { target, .. } = &entry.kind
        {
            entry.target_name = self.name_of(target);
        }
        let _ = self.activity.push(entry, &mut self.matcher.borrow_mut());
    }

    /// The name the Agents or Queues pane gives a target, if it has one.
    pub fn name_of(&self, target: &Target) -> Option<String> {
        let name = match target.kind {
            TargetKind::Agent => self.agents.by_id(&target.id).map(|a| a.name.as_str()),
            TargetKind::Queue => self.queues.by_id(&target.id).map(|q| q.name.as_str()),
        };
        name.filter(|n| !n.trim().is_empty()).map(str::to_owned)
    }

    fn with_focused<R>(&mut self, f: impl FnOnce(&mut dyn Cursor) -> R) -> R {
        f(self.pane(self.focus).0)
    }

    /// A pane's table, and the matcher its filter ranks with.
    fn pane(&mut self, pane: Pane) -> (&mut dyn Cursor, &RefCell<Matcher>) {
        let table: &mut dyn Cursor = match pane {
            Pane::Sessions => &mut self.sessions,
            Pane::Agents => &mut self.agents,
            Pane::Queues => &mut self.queues,
            Pane::Activity => &mut self.activity,
        };
        (table, &self.matcher)
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

    /// Filters the focused pane: a small one at once; a big one's ranking goes to the filter's
    /// thread (`Effect::Rank`), and the pane keeps what it shows until the result comes.
    fn set_filter(&mut self, query: &str) -> Vec<Effect> {
        let (pane, off_thread) = (self.focus, self.filter_off_thread);
        let (table, matcher) = self.pane(pane);
        let ranking = table.filter(query, off_thread, &mut matcher.borrow_mut());
        ranking
            .map(|ranking| Effect::Rank { pane, ranking })
            .into_iter()
            .collect()
    }

    /// A ranking done on the filter's thread: shown if it is still the one wanted (a newer
    /// keystroke, or rows that changed meanwhile, ask for another).
    fn ranked(&mut self, pane: Pane, ranked: Ranked) -> Vec<Effect> {
        let again = self.pane(pane).0.finish_filter(ranked);
        again
            .map(|ranking| Effect::Rank { pane, ranking })
            .into_iter()
            .collect()
    }

    /// Before a key acts on what the focused pane shows (`*`), a ranking still on its way is done
    /// here and now: the key takes what the query matches, not what the last keystroke showed.
    pub(super) fn settle_filter(&mut self) {
        let (table, matcher) = self.pane(self.focus);
        table.settle_filter(&mut matcher.borrow_mut());
    }

    /// The sessions a move applies to: every marked one (filtered out or not), else the highlighted.
    fn chosen_sessions(&self) -> Vec<usize> {
        if self.sessions.marked() > 0 {
            self.sessions.marked_rows()
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

/// Rows from which a pane's filter is ranked on the filter's thread: fewer rank in a few
/// milliseconds, and at once is simpler.
pub const OFF_THREAD_ROWS: usize = 20_000;

/// Cursor moves, marks and the filter, whatever the pane's rows.
trait Cursor {
    fn move_by(&mut self, delta: isize);
    fn top(&mut self);
    fn bottom(&mut self);
    fn toggle_selected_mark(&mut self);
    fn mark_visible(&mut self) -> usize;
    /// How many shown rows match the filter only fuzzily (`*` leaves them).
    fn fuzzy(&self) -> usize;
    fn unmark_all(&mut self);
    /// Filters: a small pane (or any, when not `off_thread`) at once; a big one's ranking is
    /// handed out to run on the filter's thread.
    fn filter(&mut self, query: &str, off_thread: bool, matcher: &mut Matcher) -> Option<Ranking>;
    fn finish_filter(&mut self, ranked: Ranked) -> Option<Ranking>;
    /// A ranking still out is done here and now.
    fn settle_filter(&mut self, matcher: &mut Matcher);
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
    fn toggle_selected_mark(&mut self) {
        if let Some(i) = self.selected() {
            let on = !self.is_marked(i);
            self.set_mark(i, on);
        }
    }
    fn mark_visible(&mut self) -> usize {
        Table::mark_visible(self)
    }
    fn fuzzy(&self) -> usize {
        Table::fuzzy(self)
    }
    fn unmark_all(&mut self) {
        Table::unmark_all(self)
    }
    fn filter(&mut self, query: &str, off_thread: bool, matcher: &mut Matcher) -> Option<Ranking> {
        if off_thread && self.len() >= OFF_THREAD_ROWS {
            self.start_filter(query)
        } else {
            self.set_filter(query, matcher);
            None
        }
    }
    fn finish_filter(&mut self, ranked: Ranked) -> Option<Ranking> {
        Table::finish_filter(self, ranked)
    }
    fn settle_filter(&mut self, matcher: &mut Matcher) {
        if self.filtering() {
            let query = self.query().to_string();
            self.set_filter(&query, matcher);
        }
    }
}

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(app, key),
        Msg::Shared { at, now, event } => {
            events::on_shared(app, at, now, event);
            vec![]
        }
        Msg::Claims { claims, now_ms } => {
            app.claims = claims
                .into_iter()
                .map(|c| (c.session.clone(), (c.held(now_ms), c.run)))
                .collect();
            vec![]
        }
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
            let mut effects = events::verifications_due(app, now);
            if app.live.due(now) {
                app.live.refreshing = true;
                effects.push(Effect::Refresh);
            }
            app.opening.tick(now);
            if let Some(snapshot) = app.snapshot.as_deref() {
                let queues = app
                    .opening
                    .due(now, snapshot.queues.iter().map(|q| q.id.as_str()));
                if !queues.is_empty() {
                    effects.push(Effect::ReadHours { queues });
                }
            }
            effects
        }
        Msg::Hours { now, wall, read } => {
            app.opening.on_read(now, wall, read);
            vec![]
        }
        Msg::RunDone {
            at,
            run,
            reports,
            stopped,
        } => {
            app.last_run = Some(run);
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
        Msg::Verified { at, now, results } => {
            for (session, result) in results {
                let detail = format!("{session} {}: {}", result.verified, result.detail);
                if let Some(s) = app.sessions.by_id_mut(&session) {
                    s.state.verifying = false;
                    // The server's word settles where the row says it is: verified, where it went;
                    // not moved, back where the server shows it.
                    match (&result.seen, result.verified) {
                        (Some(c), Verified::Verified | Verified::NotMoved) => {
                            s.seen_at(Spot::of(c), now)
                        }
                        (None, Verified::Verified) => {
                            let moved = s.spot().into_owned();
                            s.seen_at(moved, now)
                        }
                        (None, Verified::NotMoved) => s.not_moved(now),
                        (_, Verified::Unverified) => {}
                    }
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
            place::recount(app);
            vec![]
        }
        Msg::Live {
            at,
            asked,
            now,
            result,
        } => {
            events::on_live(app, at.clone(), asked, now, result);
            plans::on_fresh_live(app);
            confirm::on_fresh_live(app, at, asked)
        }
        Msg::PlanRead { source, result } => plans::on_plan_read(app, &source, result),
        Msg::Messages { session, result } => {
            transcript::on_read(app, session, result);
            vec![]
        }
        Msg::RaisedOnRecord { raised } => {
            for (change, since) in raised {
                app.raised.note(&change, since);
            }
            vec![]
        }
        Msg::PriorityReady { changes, lines } => {
            priority::open(app, changes, lines);
            vec![]
        }
        Msg::PrioritySet {
            at,
            now,
            run,
            changes,
            result,
        } => {
            priority::on_set(app, at, now, run, changes, result);
            vec![]
        }
        Msg::PlanSaved { path, result } => {
            match result {
                Ok(n) => app.note(
                    Level::Info,
                    format!(
                        "wrote the plan {path} ({n} move(s)); nothing was sent; marks cleared (' marks them again)"
                    ),
                ),
                Err(e) => app.note(Level::Error, e),
            }
            vec![]
        }
        Msg::Loaded { source, result } => {
            events::on_loaded(app, &source, result);
            vec![]
        }
        Msg::Progress { at, now, progress } => {
            events::on_progress(app, at, now, progress);
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
        Msg::Ranked { pane, ranked } => app.ranked(pane, ranked),
        Msg::Exported { path, what, result } => {
            match result {
                Ok(n) => app.note(Level::Info, format!("exported {n} {what} to {path}")),
                Err(e) => app.note(Level::Error, format!("export to {path} failed: {e}")),
            }
            vec![]
        }
    }
}

fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C'))
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if is_ctrl_c(&key) {
        // No question, but the record kept: a run in flight stops through the same shutdown as `q`.
        return vec![if app.in_flight() > 0 {
            Effect::StopAndQuit
        } else {
            Effect::Quit
        }];
    }
    let mode = std::mem::replace(&mut app.mode, Mode::Normal);
    match mode {
        Mode::Normal => {
            app.status = None;
            normal::key(app, key)
        }
        Mode::Filter(input) => filter::key(app, input, key),
        Mode::Command { input, history_pos } => command::key(app, input, history_pos, key),
        Mode::Form(form) => form::key(app, form, key),
        Mode::Confirm(confirm) => confirm::key(app, confirm, key),
        Mode::ConfirmPriority(confirm) => priority::key(app, confirm, key),
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
        Mode::Detail { of, scroll } => detail::key(app, of, scroll, key),
        Mode::Alerts { selected } => {
            if matches!(
                key.code,
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('!')
            ) {
                return vec![];
            }
            alerts::key(app, selected, key)
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
