//! `switchboard plan`, `apply` and `revert`: a batch written down, checked again and sent; or the
//! batch that undoes a run.

use std::process::ExitCode;

use switchboard::config::Settings;
use switchboard::engine;
use switchboard::live::LiveSnapshot;
use switchboard::plan::revert::RevertError;
use switchboard::plan::{Plan, drift, revert};
use switchboard::request::Endpoint;

use super::assign::{self, AssignOptions};
use super::{Failure, select};
use crate::cli::{ApplyArgs, PlanArgs, RevertArgs};

pub async fn plan(settings: &Settings, mut args: PlanArgs) -> Result<ExitCode, Failure> {
    let pacer = engine::pacer(settings)?;
    select::resolve_names(settings, &pacer, &mut args.selectors, &mut args.targets).await?;
    select::check_targets(&args.targets)?;
    let chosen = select::sessions(settings, &pacer, &args.selectors, true).await?;
    let live = chosen.live.as_ref().expect("a plan reads the live data");
    let plan = select::plan("plan", settings, &chosen.sessions, &args.targets, live)?;
    // A plan says now what the queues it moves to look like (apply says it again when it sends).
    select::check_queue_health(settings, &pacer, &plan.to_moves(), false).await?;
    write_out(&plan, args.output.as_deref(), settings)?;
    Ok(ExitCode::SUCCESS)
}

pub fn revert(settings: &Settings, args: RevertArgs) -> Result<ExitCode, Failure> {
    let audit = settings.audit_log()?;
    let run = args.run.trim();
    let (record, warning) = match revert::read_checked(&audit, run, args.force) {
        Ok(read) => read,
        Err(RevertError::Broken(why)) => {
            eprintln!("switchboard: {why}");
            return Ok(ExitCode::from(1));
        }
        Err(RevertError::Unreadable(why)) => return Err(Failure(why)),
    };
    if !record.unreadable.is_empty() {
        eprintln!(
            "switchboard: warning: audit log {}: lines not UTF-8 text, skipped: {}",
            audit.display(),
            switchboard::format::line_numbers(&record.unreadable)
        );
    }
    let host = settings.host()?;
    let mut plan = revert::plan(run, &record, settings.profile_label(), &host);
    // The account and stream are this profile's when it is aimed at the run's host.
    if let Ok(endpoint) = Endpoint::from_settings(settings)
        && endpoint.host == plan.host
    {
        plan = plan.for_endpoint(&endpoint);
    }
    if let Some(warning) = warning {
        eprintln!("switchboard: warning: {warning}");
        plan.notes.insert(0, format!("warning: {warning}"));
    }
    write_out(&plan, args.output.as_deref(), settings)?;
    Ok(ExitCode::SUCCESS)
}

/// With a path: the plan to the file and a reader's view to stdout. Without: the JSON to stdout.
fn write_out(
    plan: &Plan,
    path: Option<&std::path::Path>,
    settings: &Settings,
) -> Result<(), Failure> {
    match path {
        Some(path) => {
            switchboard::output::refuse_kept(path, &switchboard::output::kept_files(settings))?;
            plan.write(path)?;
            print!("{}", plan.describe());
            let priorities = match plan.priorities.len() {
                0 => String::new(),
                n => format!(", {n} queue priority change(s)"),
            };
            eprintln!(
                "switchboard: wrote the plan {} ({} move(s){priorities}); `switchboard apply {}` sends it",
                path.display(),
                plan.moves.len(),
                path.display()
            );
        }
        None => print!("{}", plan.to_json()),
    }
    Ok(())
}

pub async fn apply(settings: &Settings, args: ApplyArgs) -> Result<ExitCode, Failure> {
    super::refuse_if_read_only(settings, args.run.dry_run)?;
    let mut plan = Plan::read(&args.plan)?;
    if let Some(warning) = plan.age_warning(jiff::Timestamp::now()) {
        eprintln!("switchboard: warning: {}: {warning}", args.plan.display());
    }
    let endpoint = Endpoint::from_settings(settings)?;
    match plan.aimed_at(&endpoint) {
        Err(why) => return Err(Failure(format!("{}: {why}", args.plan.display()))),
        Ok(Some(warning)) => eprintln!("switchboard: warning: {}: {warning}", args.plan.display()),
        Ok(None) => {}
    }
    let pacer = engine::pacer(settings)?;
    // A plan's queue priorities (a revert of a priority change) go first, through their own
    // confirmation; a dry run shows them and sends nothing.
    if !plan.priorities.is_empty() {
        let client = switchboard::live::LiveClient::new(
            std::sync::Arc::new(engine::api(settings)?),
            pacer.clone(),
        );
        let changes = std::mem::take(&mut plan.priorities);
        let code =
            super::queue::send(settings, &client, changes, args.yes, args.run.dry_run).await?;
        if plan.moves.is_empty() {
            return Ok(code);
        }
    }
    let mut live = select::read_live(settings, &pacer).await?;
    let planned = plan.moves.len();
    let drifted = hold_back_drifted(&mut plan, &live, args.force, "");
    eprintln!(
        "switchboard: {} of {planned} planned move(s) to send; {drifted} drifted",
        plan.moves.len(),
    );
    let mut held_back = if args.force { 0 } else { drifted };
    if plan.moves.is_empty() {
        return Ok(super::exit_for(held_back == 0));
    }
    if !args.run.dry_run && !args.yes {
        let asked = std::time::Instant::now();
        confirm(&plan)?;
        // What is sent is checked against the freshest truth when it leaves: an answer that took
        // a while is followed by a fresh read, and what drifted meanwhile is held back.
        if asked.elapsed() > switchboard::plan::RECHECK_AFTER {
            eprintln!(
                "switchboard: the answer came after {}: reading the live data again before sending",
                switchboard::format::duration(asked.elapsed())
            );
            live = select::read_live(settings, &pacer).await?;
            let drifted = hold_back_drifted(
                &mut plan,
                &live,
                args.force,
                " while the confirmation waited",
            );
            if !args.force {
                held_back += drifted;
            }
            if plan.moves.is_empty() {
                eprintln!("switchboard: nothing left to send; nothing was sent");
                return Ok(super::exit_for(held_back == 0));
            }
        }
    }
    let options = AssignOptions {
        undoes: plan.undoes.clone(),
        ..AssignOptions::new(&args.run, held_back, args.force)
    };
    let label = format!("the plan {}", args.plan.display());
    // Each attempt line says where the freshest read showed its session (a revert's truth).
    let moves = plan.to_moves_from(&live);
    let code = assign::execute(settings, moves, &label, options, pacer).await?;
    if args.run.dry_run && held_back > 0 {
        return Ok(ExitCode::from(1));
    }
    Ok(code)
}

/// Says each move of `plan` that drifted from what `live` shows, and takes it out unless `force`;
/// how many drifted. `when` says when they drifted, for the message.
fn hold_back_drifted(plan: &mut Plan, live: &LiveSnapshot, force: bool, when: &str) -> usize {
    let drift = drift::check(plan, live);
    let forced = if force { " (sent anyway: --force)" } else { "" };
    for (m, changed) in plan.moves.iter().zip(&drift) {
        if !changed.is_empty() {
            eprintln!(
                "switchboard: drifted{when}{forced}: {} -> {}: {}",
                m.session,
                m.target,
                switchboard::format::one_line(&changed.join("; "))
            );
        }
    }
    if !force {
        let mut changes = drift.iter();
        plan.moves
            .retain(|_| changes.next().is_some_and(|changed| changed.is_empty()));
    }
    drift.iter().filter(|changed| !changed.is_empty()).count()
}

/// Shows the moves and asks once, on a terminal; without one, refuses (a pipe cannot say yes).
fn confirm(plan: &Plan) -> Result<(), Failure> {
    super::ask(
        &plan.describe(),
        &format!("Send these {} move(s)?", plan.moves.len()),
    )
}
