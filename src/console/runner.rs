//! The console's controller: it owns the terminal, turns keys, answers, callbacks and ticks into
//! messages, hands each to `update`, and carries out the effects that come back. It is the only part
//! of the console that does IO, and the network never runs on its path: every request is a task that
//! reports back through the message queue.

use crate::signals::Signals;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{Event, EventStream, KeyEventKind};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::audit::AuditLog;
use crate::config::Settings;
use crate::dispatch::{Dispatcher, RetryPolicy, Run};
use crate::live::LiveClient;
use crate::outcome::Outcome;
use crate::plan::{Plan, revert};
use crate::verify::{self, Verified, Verifier, VerifyPolicy};
use crate::{engine, input, listener, output};

use super::app::{App, Context, Effect, Level, LoadedRows, Msg, Pane, Status, update};
use super::keys::KeyMap;
use super::view::{self, Theme};

/// What the console starts with besides its settings.
#[derive(Default)]
pub struct Startup {
    /// Files to load into panes as the console opens (`--sessions`, `--agents`, `--queues`).
    pub files: Vec<(Pane, PathBuf)>,
    /// Rows already in hand (the demo's sample data), with the name to show for them.
    pub preloaded: Vec<(String, LoadedRows)>,
    pub policy: RetryPolicy,
    /// A line for the status bar at start.
    pub greeting: Option<String>,
    /// The header's name for this run, when it is not a profile's (the demo).
    pub label: Option<String>,
    /// Fill the panes from live data at start, whatever the profile says.
    pub live: bool,
}

/// What carries out the console's effects: the dispatcher for moves, the live client for reads.
/// They share the process's one pacer.
pub struct Workers {
    pub dispatcher: Dispatcher,
    pub live: Arc<LiveClient>,
    /// Reads conversations' messages, through the automation APIs' own budget.
    pub history: Arc<LiveClient>,
    /// Checks moves with the server, behind assignments.
    pub verifier: Arc<Verifier>,
    /// The runs going now, each with the task that ends when its last session has settled.
    runs: Arc<Mutex<Vec<Going>>>,
    /// The filter's own thread.
    ranker: super::ranker::Ranker,
    /// The files switchboard keeps: `:export` and `:plan save` never write over them.
    pub kept: Arc<Vec<(&'static str, std::path::PathBuf)>>,
}

/// A run going, and the task that ends when its last session has settled.
type Going = (Run, tokio::task::JoinHandle<()>);

impl Workers {
    /// `automation` paces the automation APIs (Conversation History), apart from the live reads.
    pub fn new(
        dispatcher: Dispatcher,
        live: Arc<LiveClient>,
        automation: crate::pacer::Pacer,
    ) -> Workers {
        let verifier = Arc::new(Verifier::new(&live, VerifyPolicy::default()));
        let history = Arc::new(LiveClient::new(live.api().clone(), automation));
        Workers {
            dispatcher,
            live,
            history,
            verifier,
            runs: Arc::default(),
            ranker: super::ranker::Ranker::new(),
            kept: Arc::default(),
        }
    }

    /// Stops every run going: what waits is cancelled at once (and on record); the wire settles.
    pub fn stop_all(&self, reason: &str) {
        let mut runs = self.runs.lock().expect("runs");
        runs.retain(|(_, task)| !task.is_finished());
        for (run, _) in runs.iter() {
            run.stop.stop(reason);
        }
    }

    /// Stops every run and waits until each has ended (its cancelled on record, its requests on the
    /// wire answered), at most `wait`.
    pub async fn stop_all_and_wait(&self, reason: &str, wait: Duration) {
        self.stop_all(reason);
        let tasks: Vec<_> = self
            .runs
            .lock()
            .expect("runs")
            .drain(..)
            .map(|(_, task)| task)
            .collect();
        let _ = tokio::time::timeout(wait, futures_util::future::join_all(tasks)).await;
    }
}

/// Writes the report of this process's runs (0600), as `audit report` would; how many runs.
fn export_report(audit: &AuditLog, to: &Path) -> Result<usize, String> {
    use crate::audit::report::{self, Filter, Format};
    let filter = Filter {
        process: Some(audit.process().to_string()),
        ..Filter::default()
    };
    report::write_report_file(audit.path(), &filter, Format::for_path(to), to)
        .map(|read| read.runs)
        .map_err(|e| format!("from the audit log {}: {e}", audit.path().display()))
}

/// Sets everything up (any failure is an error before the terminal is touched), runs the console
/// until the operator quits, and restores the terminal however it ends.
pub async fn run(settings: &Settings, startup: Startup) -> Result<ExitCode, String> {
    let config_path = settings.config_path.display().to_string();
    let (keys, key_warnings) = KeyMap::with_overrides(&settings.key_bindings, &config_path)?;
    let audit = engine::audit_log(settings)?;
    let token = engine::callback_token(settings);
    let bind = settings.listen().map_err(|e| e.0)?;
    let mut callbacks = listener::start(bind, token.clone(), Some(audit.clone()))
        .await
        .map_err(|e| listener::bind_error(bind, &e))?;
    let route = engine::callback_route(settings, callbacks.addr, token).map_err(|e| e.0)?;
    let unreachable = engine::unreachable_callbacks(settings, &route);
    let client = engine::client(settings, route.clone()).map_err(|e| e.0)?;
    let endpoint = client.endpoint().clone();
    let read_only = client.api().read_only_reason();
    let pacer = engine::pacer(settings).map_err(|e| e.0)?;
    let live = Arc::new(LiveClient::new(client.api().clone(), pacer.clone()));
    let dispatcher = engine::dispatcher(settings, client, audit.clone(), pacer, startup.policy)
        .map_err(|e| e.0)?;
    let automation = engine::automation_pacer(settings).map_err(|e| e.0)?;
    let mut workers = Workers::new(dispatcher, live, automation);
    workers.kept = Arc::new(crate::output::kept_files(settings));
    let ctx = Context {
        profile: startup
            .label
            .clone()
            .unwrap_or_else(|| settings.profile_label().to_string()),
        host: endpoint.host.clone(),
        listener: callbacks.addr.to_string(),
        config_path,
        log_path: settings
            .log_file()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(none)".into()),
        audit_path: audit.path().display().to_string(),
        endpoint,
        callbacks: route,
        per_minute: settings.rate_per_minute().map_err(|e| e.0)?,
        callback_wait: settings.callback_wait().map_err(|e| e.0)?,
        refresh_every: settings.refresh_every().map_err(|e| e.0)?,
        zone: jiff::tz::TimeZone::system(),
        read_only,
        alerts: {
            let (offline_chats, queue_waiting, overdue) =
                settings.alert_thresholds().map_err(|e| e.0)?;
            crate::console::app::alerts::Thresholds {
                offline_chats,
                queue_waiting,
                overdue: overdue as usize,
            }
        },
    };
    let mut app = App::new(ctx, keys);
    app.filter_off_thread = true;
    app.live.enabled = startup.live || settings.live().map_err(|e| e.0)?;
    let (tx, rx) = mpsc::unbounded_channel();

    let mut events = std::mem::replace(&mut callbacks.events, mpsc::unbounded_channel().1);
    let callback_tx = tx.clone();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if callback_tx
                .send(Msg::Callback {
                    at: timestamp(),
                    event,
                })
                .is_err()
            {
                break;
            }
        }
    });
    // What the account's runs hold, looked at every second off the runtime: a confirmation shows
    // it, and sends nothing another run is moving.
    if let Some(claims) = workers.dispatcher.claims().cloned() {
        let claims_tx = tx.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                let Ok((claims, now_ms)) = claims.list().await else {
                    continue;
                };
                if claims_tx.send(Msg::Claims { claims, now_ms }).is_err() {
                    break;
                }
            }
        });
    }
    // The account's other supervisors: what they do shows in Activity and on the rows.
    // Callbacks for our moves that reached another supervisor's listener come here too.
    if let Some(store) = settings.store().cloned() {
        let (others_tx, mut others) = mpsc::unbounded_channel();
        crate::picture::follow_others(store, audit.clone(), callbacks.injector(), Some(others_tx));
        let shared_tx = tx.clone();
        tokio::spawn(async move {
            while let Some(event) = others.recv().await {
                let msg = Msg::Shared {
                    at: timestamp(),
                    now: Instant::now(),
                    event,
                };
                if shared_tx.send(msg).is_err() {
                    break;
                }
            }
        });
    }
    for (source, rows) in startup.preloaded {
        update(
            &mut app,
            Msg::Loaded {
                source,
                result: Ok(rows),
            },
        );
    }
    for (pane, path) in startup.files {
        run_effect(Effect::Load { pane, path }, &workers, &tx);
    }
    // Queues left raised by this machine's runs, before this console or by it before a restart:
    // their 30-minute alert counts from when they were raised.
    {
        let tx = tx.clone();
        let path = audit.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let Ok(records) = crate::priority::on_record(&path) else {
                return;
            };
            let (now, wall) = (Instant::now(), jiff::Timestamp::now());
            let raised = records
                .into_values()
                .filter(|r| r.change.raises())
                .filter_map(|r| {
                    let ago = wall.duration_since(r.at.parse().ok()?);
                    let ago = Duration::try_from(ago).unwrap_or_default();
                    Some((r.change, now.checked_sub(ago).unwrap_or(now)))
                })
                .collect();
            let _ = tx.send(Msg::RaisedOnRecord { raised });
        });
    }
    if let Some(text) = startup.greeting {
        app.status = Some(Status {
            level: Level::Info,
            text,
        });
    }
    // Said at the start, where the operator looks first, and kept in the log.
    if let Some(text) = unreachable {
        tracing::warn!("{text}");
        app.status = Some(Status {
            level: Level::Warn,
            text,
        });
    }
    if !key_warnings.is_empty() {
        app.status = Some(Status {
            level: Level::Warn,
            text: key_warnings.join("; "),
        });
    }

    let theme = Theme {
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    // The signals that end a console from outside: its terminal closed (SIGHUP), `kill` (SIGTERM),
    // an interrupt not typed at its keyboard (SIGINT). Taken before the terminal is, so none can
    // leave it raw.
    let signals = Signals::new().map_err(|e| format!("cannot watch for signals: {e}"))?;
    // `init` also installs a panic hook that restores the terminal before the panic is printed.
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, &mut app, theme, &workers, &tx, rx, signals).await;
    ratatui::restore();
    let _ = ratatui::crossterm::execute!(std::io::stdout(), ratatui::crossterm::cursor::Show);
    drop(callbacks);
    if let Ok(Some(signal)) = result {
        // 128 + its number, as a shell reports a process a signal ended.
        return Ok(ExitCode::from(128 + signal as u8));
    }
    result.map_err(|e| format!("terminal error: {e}"))?;
    // One verdict with `assign`: anything not transferred, or transferred and then shown not
    // moved by the server, is a failure.
    let not_transferred = app.sessions.rows().iter().any(|s| {
        matches!(s.state.outcome, Some(o) if o != Some(Outcome::Transferred))
            || matches!(&s.state.verified, Some(v) if v.verified == Verified::NotMoved)
    });
    Ok(if not_transferred {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Most messages handled between two frames: a flood of answers must not starve the keyboard.
const MAX_BATCH: usize = 1024;

/// Runs until the operator quits (`Ok(None)`) or a signal ends the console (`Ok(Some(number))`):
/// then, as on a stop, what waits is cancelled and on record, and the wire settles.
async fn event_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    theme: Theme,
    workers: &Workers,
    tx: &mpsc::UnboundedSender<Msg>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    mut signals: Signals,
) -> std::io::Result<Option<i32>> {
    let mut keyboard = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        terminal.draw(|frame| view::draw(frame, app, theme))?;
        let first = tokio::select! {
            (number, name) = signals.next() => {
                // The terminal may be gone (SIGHUP): nothing more is drawn.
                shutdown(app, workers, &mut rx, &format!("{name} received")).await;
                return Ok(Some(number));
            }
            event = keyboard.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind == KeyEventKind::Press => Some(Msg::Key(key)),
                Some(Ok(_)) => None,
                Some(Err(e)) => return Err(e),
                None => return Ok(None),
            },
            Some(msg) = rx.recv() => Some(msg),
            _ = tick.tick() => Some(Msg::Tick { now: Instant::now(), pacer: workers.dispatcher.pacer().status() }),
        };
        let mut batch: VecDeque<Msg> = first.into_iter().collect();
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(msg) => batch.push_back(msg),
                Err(_) => break,
            }
        }
        for msg in batch {
            for effect in update(app, msg) {
                match effect {
                    Effect::Quit => return Ok(None),
                    Effect::StopAndQuit => {
                        // The unsent are cancelled and on record before the console goes; requests
                        // on the wire get their answer, up to the HTTP timeout.
                        app.status = Some(Status {
                            level: Level::Warn,
                            text: "stopping: recording the cancelled, letting the wire settle…"
                                .into(),
                        });
                        // A terminal that cannot be drawn on any more does not stop the record.
                        let _ = terminal.draw(|frame| view::draw(frame, app, theme));
                        shutdown(app, workers, &mut rx, "quit during the run").await;
                        return Ok(None);
                    }
                    effect => run_effect(effect, workers, tx),
                }
            }
        }
    }
}

/// The one way a console with a run ends, whatever ended it (`q`, Ctrl-C, a signal): the run
/// stops, what was not sent is `cancelled` on record, and requests on the wire get their answer (or
/// `unknown`), up to the HTTP timeout and 2 s more.
/// What the runs said on the way out is taken in, so the exit code counts it.
async fn shutdown(
    app: &mut App,
    workers: &Workers,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    reason: &str,
) {
    let wait = workers.dispatcher.client().api().timeout() + Duration::from_secs(2);
    workers.stop_all_and_wait(reason, wait).await;
    while let Ok(msg) = rx.try_recv() {
        // Nothing more is started: the effects of these last messages are dropped.
        let _ = update(app, msg);
    }
}

fn timestamp() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The confirmation of priority changes: the value each replaces, as switchboard last set it (the
/// audit log, read here, off the keyboard's path), and the exact call.
fn prepare_priority(
    live: &LiveClient,
    audit: &Path,
    mut changes: Vec<crate::priority::Change>,
) -> Msg {
    let last = crate::priority::last_set(audit).unwrap_or_default();
    for change in &mut changes {
        if let Some(was) = last.get(&change.queue) {
            change.was = *was;
        }
    }
    let lines = crate::priority::confirmation(live.api(), &changes);
    Msg::PriorityReady { changes, lines }
}

/// `~/x` as the shell would read it.
fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

pub fn run_effect(effect: Effect, workers: &Workers, tx: &mpsc::UnboundedSender<Msg>) {
    let tx = tx.clone();
    match effect {
        Effect::Quit => {}
        Effect::Rank { pane, ranking } => workers.ranker.rank(pane, ranking, tx),
        Effect::Refresh => {
            let live = workers.live.clone();
            let asked = Instant::now();
            tokio::spawn(async move {
                // The short cause for the status line, the whole chain after it for Activity.
                let result = live.snapshot().await.map_err(|e| e.with_chain());
                let _ = tx.send(Msg::Live {
                    at: timestamp(),
                    asked,
                    now: Instant::now(),
                    result,
                });
            });
        }
        Effect::PreparePriority { changes } => {
            let live = workers.live.clone();
            let audit = workers.dispatcher.audit().path().to_path_buf();
            tokio::task::spawn_blocking(move || {
                let _ = tx.send(prepare_priority(&live, &audit, changes));
            });
        }
        Effect::SetPriority { changes } => {
            let live = workers.live.clone();
            let audit = workers.dispatcher.audit().clone();
            tokio::spawn(async move {
                let run = Run::new().id;
                let result = crate::priority::send(&live, &audit, &run, &changes).await;
                let _ = tx.send(Msg::PrioritySet {
                    at: timestamp(),
                    now: Instant::now(),
                    run,
                    changes,
                    result,
                });
            });
        }
        Effect::ReadMessages { session } => {
            let history = workers.history.clone();
            tokio::spawn(async move {
                let result = history
                    .messages(&session, &mut 0)
                    .await
                    .map_err(|e| crate::history::why_unread(&e));
                let _ = tx.send(Msg::Messages { session, result });
            });
        }
        Effect::ReadHours { queues } => {
            let live = workers.live.clone();
            tokio::spawn(async move {
                let mut calls = 0;
                let mut read = Vec::with_capacity(queues.len());
                for queue in queues {
                    let hours = live.hours(&queue, &mut calls).await;
                    read.push((queue, hours.map_err(|e| e.to_string())));
                }
                let _ = tx.send(Msg::Hours {
                    now: Instant::now(),
                    wall: jiff::Timestamp::now(),
                    read,
                });
            });
        }
        Effect::Verify { moves, users } => {
            let verifier = workers.verifier.clone();
            let audit = workers.dispatcher.audit().clone();
            tokio::spawn(async move {
                verifier.know_users(users.iter().map(|(a, u)| (a.as_str(), u.as_str())));
                let results = verifier.verify_all(&moves).await;
                for ((session, target), result) in moves.iter().zip(&results) {
                    let _ = verify::record(&audit, session, target, result);
                }
                let _ = tx.send(Msg::Verified {
                    at: timestamp(),
                    now: Instant::now(),
                    results: moves.into_iter().map(|(s, _)| s).zip(results).collect(),
                });
            });
        }
        Effect::Load { pane, path } => {
            tokio::task::spawn_blocking(move || {
                let path = expand_home(&path);
                let result = match pane {
                    Pane::Sessions => input::load_sessions(&path).map(LoadedRows::Sessions),
                    Pane::Agents => input::load_agents(&path).map(LoadedRows::Agents),
                    Pane::Queues => input::load_queues(&path).map(LoadedRows::Queues),
                    Pane::Activity => return,
                };
                let _ = tx.send(Msg::Loaded {
                    source: path.display().to_string(),
                    result: result.map_err(|e| e.to_string()),
                });
            });
        }
        Effect::Export { path, lines } => {
            let kept = workers.kept.clone();
            tokio::task::spawn_blocking(move || {
                let path = expand_home(&path);
                let count = lines.lines().count();
                let result = output::refuse_kept(&path, &kept).and_then(|()| {
                    output::write_whole(&path, lines.as_bytes())
                        .map(|_| count)
                        .map_err(|e| e.to_string())
                });
                let _ = tx.send(Msg::Exported {
                    path: path.display().to_string(),
                    what: "activity entries",
                    result,
                });
            });
        }
        Effect::ExportReport { path } => {
            let audit = workers.dispatcher.audit().clone();
            let kept = workers.kept.clone();
            tokio::task::spawn_blocking(move || {
                let path = expand_home(&path);
                let result =
                    output::refuse_kept(&path, &kept).and_then(|()| export_report(&audit, &path));
                let _ = tx.send(Msg::Exported {
                    path: path.display().to_string(),
                    what: "run(s)",
                    result,
                });
            });
        }
        Effect::Send {
            moves,
            insist,
            undoes,
        } => {
            // One confirmed batch is one run, whatever its targets: one id, one stop, in the
            // order confirmed, sharing the pacer and the process-wide limit on requests in flight.
            let run = Run::new().insisting(insist).undoing(undoes);
            let dispatcher = workers.dispatcher.clone();
            let this_run = run.clone();
            let task = tokio::spawn(async move {
                let (progress_tx, mut progress_rx) = mpsc::unbounded_channel();
                let forward_tx = tx.clone();
                let forward = tokio::spawn(async move {
                    while let Some(p) = progress_rx.recv().await {
                        let msg = Msg::Progress {
                            at: timestamp(),
                            now: Instant::now(),
                            progress: p,
                        };
                        if forward_tx.send(msg).is_err() {
                            break;
                        }
                    }
                });
                let reports = dispatcher
                    .assign_moves(&this_run, &moves, Some(progress_tx))
                    .await;
                let _ = forward.await;
                let _ = tx.send(Msg::RunDone {
                    at: timestamp(),
                    run: this_run.id.clone(),
                    reports,
                    stopped: this_run.stop.reason(),
                });
            });
            let mut runs = workers.runs.lock().expect("runs");
            runs.retain(|(_, task)| !task.is_finished());
            runs.push((run, task));
        }
        Effect::SavePlan { path, plan } => {
            let kept = workers.kept.clone();
            tokio::task::spawn_blocking(move || {
                let path = expand_home(&path);
                let result = output::refuse_kept(&path, &kept)
                    .and_then(|()| plan.write(&path).map(|()| plan.moves.len()));
                let _ = tx.send(Msg::PlanSaved {
                    path: path.display().to_string(),
                    result,
                });
            });
        }
        Effect::OpenPlan { path } => {
            tokio::task::spawn_blocking(move || {
                let path = expand_home(&path);
                let result = Plan::read(&path);
                // An old plan says so where the confirmation names it.
                let age = result
                    .as_ref()
                    .ok()
                    .and_then(|p| p.age_warning(jiff::Timestamp::now()))
                    .map(|w| format!(" — {w}"))
                    .unwrap_or_default();
                let _ = tx.send(Msg::PlanRead {
                    source: format!("plan {}{age}", path.display()),
                    result,
                });
            });
        }
        Effect::OpenRevert {
            run,
            audit,
            profile,
            endpoint,
        } => {
            tokio::task::spawn_blocking(move || {
                // Only a whole chain is trusted: a break before the run's end opens nothing.
                let result = revert::read_checked(&audit, &run, false)
                    .map_err(|e| e.to_string())
                    .map(|(record, _)| {
                        let plan = revert::plan(&run, &record, &profile, &endpoint.host);
                        if plan.host == endpoint.host {
                            plan.for_endpoint(&endpoint)
                        } else {
                            plan
                        }
                    });
                let _ = tx.send(Msg::PlanRead {
                    source: format!("revert of run {run}"),
                    result,
                });
            });
        }
        Effect::Stop => workers.stop_all("x pressed"),
        Effect::StopAndQuit => workers.stop_all("quit during the run"),
    }
}
