//! `switchboard assign`: move sessions from the command line, print what came of each.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use switchboard::config::Settings;
use switchboard::dispatch::{
    Dispatcher, Insist, Move, Progress, Report, RetryPolicy, Run, StopSignal, summarize,
};
use switchboard::engine;
use switchboard::format;
use switchboard::ids::IdKind;
use switchboard::listener::{self, CallbackState};
use switchboard::live::LiveClient;
use switchboard::outcome::Outcome;
use switchboard::pacer::Pacer;
use switchboard::request::{Target, TargetKind};
use switchboard::signals::Signals;
use switchboard::verify::{self, Verified, Verifier, VerifyPolicy};

use super::{Failure, exit_for, select};
use crate::cli::{AssignArgs, RunArgs};

/// What to do besides sending.
pub(super) struct AssignOptions {
    pub dry_run: bool,
    pub json: bool,
    pub wait_callbacks: Option<Duration>,
    pub verify: bool,
    pub policy: RetryPolicy,
    /// Moves a plan held that are not sent (drifted): the exit is 1 whatever comes of the rest.
    pub held_back: usize,
    /// `--force`: sessions another run moved a moment ago are sent too.
    pub insist: bool,
    /// The run a revert's plan undoes: its marks hold nothing back.
    pub undoes: Option<String>,
}

impl AssignOptions {
    /// As the flags say; `held_back` moves of a plan that are not sent.
    pub fn new(run: &RunArgs, held_back: usize, insist: bool) -> AssignOptions {
        AssignOptions {
            dry_run: run.dry_run,
            json: run.json,
            wait_callbacks: run.wait_callbacks.map(Duration::from_secs),
            verify: !run.no_verify,
            policy: RetryPolicy::default(),
            held_back,
            insist,
            undoes: None,
        }
    }
}

pub async fn run(settings: &Settings, mut args: AssignArgs) -> Result<ExitCode, Failure> {
    super::refuse_if_read_only(settings, args.run.dry_run)?;
    // One pacer for the process: the live reads below and the moves after them share it.
    let pacer = engine::pacer(settings)?;
    let names =
        select::resolve_names(settings, &pacer, &mut args.selectors, &mut args.targets).await?;
    let target = select::check_targets(&args.targets)?;
    let spread = target.is_none();
    let chosen = select::sessions(settings, &pacer, &args.selectors, spread).await?;
    if chosen.sessions.is_empty() {
        eprintln!(
            "switchboard: nothing to move: the live data shows no conversation there; nothing was sent"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (moves, label) = match (&target, &chosen.live) {
        (Some(target), live) => {
            let mut moves = select::moves_to(&chosen.sessions, target, live.as_ref());
            // A target given by name keeps it on record, live data read or not.
            for m in moves.iter_mut().filter(|m| m.target_name.is_none()) {
                m.target_name = names.get(&m.target.id).cloned();
            }
            (moves, target.to_string())
        }
        (None, Some(live)) => {
            let plan = select::plan("assign", settings, &chosen.sessions, &args.targets, live)?;
            // What stays where it is, and each agent's load after, before anything is sent.
            for l in &plan.left_out {
                eprintln!("switchboard: not moved: {} — {}", l.session, l.why);
            }
            for n in &plan.notes {
                // Agents' names come from the server.
                eprintln!("switchboard: {}", format::one_line(n));
            }
            (plan.to_moves(), "a spread of agents".to_string())
        }
        (None, None) => unreachable!("a spread reads the live data"),
    };
    if moves.is_empty() {
        eprintln!("switchboard: nothing to move: no agent has room; nothing was sent");
        return Ok(exit_for(false));
    }
    let options = AssignOptions::new(&args.run, 0, args.force);
    execute(settings, moves, &label, options, pacer).await
}

fn warn_about_ids(moves: &[Move]) {
    let mut targets: Vec<&Target> = moves.iter().map(|m| &m.target).collect();
    targets.dedup();
    for target in targets {
        let kind = match target.kind {
            TargetKind::Agent => IdKind::Agent,
            TargetKind::Queue => IdKind::Queue,
        };
        if let Some(w) = kind.warning(&target.id) {
            eprintln!("switchboard: warning: {w}");
        }
    }
    let odd: Vec<String> = moves
        .iter()
        .filter_map(|m| IdKind::Session.warning(&m.session))
        .collect();
    for w in odd.iter().take(3) {
        eprintln!("switchboard: warning: {w}");
    }
    if odd.len() > 3 {
        eprintln!(
            "switchboard: warning: {} more session ids do not look like Kore's format",
            odd.len() - 3
        );
    }
}

/// Makes the moves as one run and prints what came of each; `label` says where they go.
pub(super) async fn execute(
    settings: &Settings,
    moves: Vec<Move>,
    label: &str,
    options: AssignOptions,
    pacer: Pacer,
) -> Result<ExitCode, Failure> {
    warn_about_ids(&moves);
    select::check_queue_health(settings, &pacer, &moves, options.dry_run).await?;
    let token = engine::callback_token(settings);
    if options.dry_run {
        let route = engine::callback_route(settings, settings.listen()?, token)?;
        if let Some(warning) = engine::unreachable_callbacks(settings, &route) {
            eprintln!("switchboard: warning: {warning}");
        }
        let client = engine::client(settings, route)?;
        let rate = settings.rate_per_minute()?;
        println!(
            "# {} request(s) to {label}; nothing is sent (--dry-run). At {} the run would take about {}.",
            moves.len(),
            rate_label(rate),
            switchboard::format::duration(Pacer::eta_at(rate, moves.len()))
        );
        for (i, m) in moves.iter().enumerate() {
            println!(
                "\n# {}/{} {} -> {}",
                i + 1,
                moves.len(),
                m.session,
                m.target
            );
            println!("{}", client.preview(&m.session, &m.target).curl());
        }
        return Ok(ExitCode::SUCCESS);
    }

    let audit = engine::audit_log(settings)?;
    // Taken before anything is sent: a signal from here on stops the run and keeps its record.
    let signals = Signals::new().map_err(|e| Failure(format!("cannot watch for signals: {e}")))?;
    // The listener starts before anything is sent, so no callback can arrive unheard.
    let mut listener = match options.wait_callbacks {
        Some(_) => {
            let bind = settings.listen()?;
            Some(
                listener::start(bind, token.clone(), Some(audit.clone()))
                    .await
                    .map_err(|e| Failure(listener::bind_error(bind, &e)))?,
            )
        }
        None => None,
    };
    // Callbacks for this run's moves that reached another supervisor's listener come here too.
    if let (Some(l), Some(store)) = (&listener, settings.store()) {
        switchboard::picture::follow_others(store.clone(), audit.clone(), l.injector(), None);
    }
    let listen_addr = match &listener {
        Some(l) => l.addr,
        None => settings.listen()?,
    };
    let route = engine::callback_route(settings, listen_addr, token)?;
    if let Some(warning) = engine::unreachable_callbacks(settings, &route) {
        eprintln!("switchboard: warning: {warning}");
    }
    let client = engine::client(settings, route)?;
    let dispatcher = engine::dispatcher(settings, client, audit, pacer, options.policy)?;
    let (progress_tx, progress_rx) = mpsc::unbounded_channel();
    let show = std::io::stderr().is_terminal();
    let progress = tokio::spawn(show_progress(
        progress_rx,
        moves.len(),
        dispatcher.pacer().clone(),
        show,
    ));
    // One run; a signal stops it like `x` in the console: what is not sent yet is cancelled and on
    // record, what is on the wire settles, and the exit code says which signal (128 + n).
    let insist = if options.insist {
        Insist::All
    } else {
        Insist::None
    };
    let run = Run::new().insisting(insist).undoing(options.undoes.clone());
    let interrupted = Arc::new(AtomicU8::new(0));
    let interrupt = StopSignal::default();
    let watcher = tokio::spawn(stop_on_signal(
        signals,
        [run.stop.clone(), interrupt.clone()],
        interrupted.clone(),
    ));
    let mut reports = dispatcher
        .assign_moves(&run, &moves, Some(progress_tx))
        .await;
    let _ = progress.await;

    if let (Some(l), Some(wait)) = (&mut listener, options.wait_callbacks) {
        if show {
            say(format_args!(
                "\r\x1b[2Kwaiting up to {} for callbacks…",
                switchboard::format::duration(wait)
            ));
        }
        // A signal ends the wait; what came is kept.
        tokio::select! {
            _ = listener::await_callbacks(&mut l.events, &mut reports, wait) => {}
            _ = interrupt.stopped() => {}
        }
        if show {
            say(format_args!("\r\x1b[2K"));
        }
    }

    if options.verify && !interrupt.is_stopped() {
        verify(
            &dispatcher,
            &mut reports,
            options.wait_callbacks.is_some(),
            show,
            &interrupt,
        )
        .await;
    }
    watcher.abort();

    if options.json {
        let mut out = std::io::stdout().lock();
        for r in &reports {
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string(r).expect("reports serialize")
            );
        }
    } else {
        print_table(&reports);
    }
    say(format_args!(
        "{} session(s) to {label}: {} · run {} · audit log {}\n",
        reports.len(),
        summarize(&reports, run.stop.reason().as_deref()),
        run.id,
        dispatcher.audit().path().display()
    ));
    // The account's other supervisors see the last outcomes before this process goes.
    dispatcher
        .audit()
        .published(std::time::Duration::from_secs(2))
        .await;
    let signal = interrupted.load(Ordering::SeqCst);
    if signal > 0 {
        return Ok(ExitCode::from(128 + signal));
    }
    // `not moved` is a failure; `unverified` leaves the exit code to the outcomes.
    Ok(exit_for(
        options.held_back == 0
            && reports.iter().all(|r| {
                r.outcome == Some(Outcome::Transferred) && r.verified != Some(Verified::NotMoved)
            }),
    ))
}

/// Stops the run (and the waits after it) on SIGHUP, SIGINT or SIGTERM, and keeps the signal's
/// number for the exit code.
async fn stop_on_signal(mut signals: Signals, stops: [StopSignal; 2], signal: Arc<AtomicU8>) {
    let (n, name) = signals.next().await;
    signal.store(n as u8, Ordering::SeqCst);
    for stop in &stops {
        stop.stop(format!("interrupted by {name}"));
    }
}

/// Asks the server where each session that may have moved is now, and records what it says. The
/// first look waits for the callbacks (when they were awaited) or a few seconds past the answers.
async fn verify(
    dispatcher: &Dispatcher,
    reports: &mut [Report],
    waited_for_callbacks: bool,
    show: bool,
    interrupt: &StopSignal,
) {
    let moved: Vec<usize> = (0..reports.len())
        .filter(|&i| reports[i].may_have_moved())
        .collect();
    if moved.is_empty() {
        return;
    }
    let live = LiveClient::new(
        dispatcher.client().api().clone(),
        dispatcher.pacer().clone(),
    );
    let verifier = Verifier::new(&live, VerifyPolicy::default());
    if show {
        say(format_args!(
            "\r\x1b[2Kchecking with the server where {} session(s) are now…",
            moved.len()
        ));
    }
    if !waited_for_callbacks {
        tokio::time::sleep(verifier.policy.first_after).await;
    }
    let checks: Vec<(String, Target)> = moved
        .iter()
        .map(|&i| (reports[i].session.clone(), reports[i].target.clone()))
        .collect();
    // A signal ends the checking: the moves stay as they were answered, not verified.
    let results = tokio::select! {
        results = verifier.verify_all(&checks) => results,
        _ = interrupt.stopped() => return,
    };
    for (&i, result) in moved.iter().zip(results) {
        let r = &mut reports[i];
        let _ = verify::record(dispatcher.audit(), &r.session, &r.target, &result);
        r.verified = Some(result.verified);
        r.verified_detail = Some(result.detail);
    }
    if show {
        say(format_args!("\r\x1b[2K"));
    }
}

fn rate_label(per_minute: u32) -> String {
    if per_minute == 0 {
        "no pacing".into()
    } else {
        format!("{per_minute} calls a minute")
    }
}

async fn show_progress(
    mut rx: mpsc::UnboundedReceiver<Progress>,
    total: usize,
    pacer: Pacer,
    show: bool,
) {
    let started = Instant::now();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut done = 0usize;
    let mut said = Said::default();
    while let Some(p) = rx.recv().await {
        said.budget(&pacer, show);
        let Progress::Settled(report) = &p else {
            continue;
        };
        done += 1;
        *counts.entry(report.outcome_word()).or_default() += 1;
        if !show {
            continue;
        }
        let remaining = total - done;
        let eta = if pacer.per_minute() > 0 {
            pacer.interval() * remaining as u32
        } else {
            started.elapsed().mul_f64(remaining as f64 / done as f64)
        };
        let tally: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        say(format_args!(
            "\r\x1b[2K[{done}/{total}] {} · pacer {}/{} · ETA {}",
            tally.join(", "),
            pacer.status().used_last_minute,
            if pacer.per_minute() == 0 {
                "off".to_string()
            } else {
                pacer.per_minute().to_string()
            },
            switchboard::format::duration(eta)
        ));
    }
    if show {
        say(format_args!("\r\x1b[2K"));
    }
}

/// What has been said of the shared budget, so each is said once, at once.
#[derive(Default)]
struct Said {
    alone: bool,
    clamped: bool,
}

impl Said {
    fn budget(&mut self, pacer: &Pacer, show: bool) {
        let status = pacer.status();
        // Over the progress line, when there is one.
        let clear = if show { "\r\x1b[2K" } else { "" };
        if status.sharing_lost && !self.alone {
            self.alone = true;
            say(format_args!(
                "{clear}switchboard: warning: the budget ledger cannot be used any more: this process paces alone, and other switchboard processes of the account are not counted (the log says why)\n"
            ));
        }
        if status.clamped > 0 && !self.clamped {
            self.clamped = true;
            say(format_args!(
                "{clear}switchboard: warning: {} budget ledger entr(ies) were dated ahead of this machine's clock (a clock stepped back?): counted from now\n",
                status.clamped
            ));
        }
    }
}

fn print_table(reports: &[Report]) {
    let session_w = reports
        .iter()
        .map(|r| r.session.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{:<session_w$}  {:<12}  {:>4}  {:>5}  {:>8}  {:<8}  {:<10}  MESSAGE",
        "SESSION", "OUTCOME", "HTTP", "TRIES", "LATENCY", "CALLBACK", "VERIFIED"
    );
    for r in reports {
        let callback = r
            .callback
            .as_ref()
            .map(|c| c.state)
            .unwrap_or(CallbackState::None);
        let verified = r.verified.map(|v| v.as_str()).unwrap_or("-");
        // The server's view says more than the answer did when it differs.
        let message = match (&r.verified, &r.verified_detail) {
            (Some(Verified::NotMoved | Verified::Unverified), Some(why))
                if r.message.is_empty() =>
            {
                why.clone()
            }
            (Some(Verified::NotMoved | Verified::Unverified), Some(why)) => {
                format!("{} · {why}", r.message)
            }
            _ => r.message.clone(),
        };
        let _ = writeln!(
            out,
            "{:<session_w$}  {:<12}  {:>4}  {:>5}  {:>8}  {:<8}  {:<10}  {}",
            format::printable(&r.session),
            r.outcome_word(),
            r.http_status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            r.attempts,
            r.latency_ms
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_else(|| "-".into()),
            callback.as_str(),
            verified,
            format::one_line(&message),
        );
    }
}

/// Writes to stderr, ignoring a failure: after a dropped ssh the terminal is gone, and the record,
/// already written, is what counts.
fn say(text: std::fmt::Arguments) {
    let _ = std::io::stderr().write_fmt(text);
}
