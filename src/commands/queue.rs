//! `switchboard queue priority QUEUE N`: a queue raised or lowered through the same confirmation,
//! budget and record as a move.

use std::process::ExitCode;
use std::sync::Arc;

use switchboard::config::Settings;
use switchboard::live::LiveClient;
use switchboard::priority::{self, Change, Outcome};
use switchboard::{engine, names};

use super::Failure;
use crate::cli::QueueAction;

pub async fn run(settings: &Settings, action: QueueAction) -> Result<ExitCode, Failure> {
    match action {
        QueueAction::Priority {
            queue,
            priority,
            yes,
        } => set_priority(settings, &queue, &priority, yes).await,
    }
}

async fn set_priority(
    settings: &Settings,
    queue: &str,
    priority: &str,
    yes: bool,
) -> Result<ExitCode, Failure> {
    super::refuse_read_only(settings, "")?;
    let priority = priority::parse_priority(priority)
        .map_err(|e| Failure(format!("N: {e}; nothing was sent")))?;
    let client = LiveClient::new(Arc::new(engine::api(settings)?), engine::pacer(settings)?);
    // The queue by id or name, from the queue list (one call through the budget).
    let queues = client.queues(&mut 0).await.map_err(|e| {
        Failure(format!(
            "cannot read the queue list to find QUEUE ({}); nothing was sent",
            e.with_chain()
        ))
    })?;
    let i = names::resolve(
        queue,
        queues.iter().map(|q| (q.id.as_str(), q.name.as_str())),
    )
    .map_err(|e| super::select::named("QUEUE", "queues", e))?;
    let was = priority::last_set(&settings.audit_log()?)?
        .remove(&queues[i].id)
        .flatten();
    let change = Change {
        queue: queues[i].id.clone(),
        queue_name: Some(queues[i].name.clone()).filter(|n| !n.is_empty()),
        priority,
        was,
    };
    send(settings, &client, vec![change], yes, false).await
}

/// Shows the changes and the exact call, asks (unless `yes`), sends them as one run and prints what
/// came of each: exit 0 when every one was set, else 1. A dry run shows them and sends nothing.
pub async fn send(
    settings: &Settings,
    client: &LiveClient,
    changes: Vec<Change>,
    yes: bool,
    dry_run: bool,
) -> Result<ExitCode, Failure> {
    let mut what = priority::confirmation(client.api(), &changes).join("\n");
    what.push('\n');
    if dry_run {
        eprint!("{what}");
        eprintln!("switchboard: dry run: the priority change was not sent");
        return Ok(ExitCode::SUCCESS);
    }
    // The record opens before anyone is asked: a log that cannot be written stops it here.
    let audit = &engine::audit_log(settings)?;
    if yes {
        eprint!("{what}");
    } else {
        super::ask(&what, "Send it?")?;
    }
    let run = switchboard::dispatch::Run::new().id;
    let outcomes = priority::send(client, audit, &run, &changes)
        .await
        .map_err(Failure)?;
    // The other supervisors see it before this process goes.
    audit.published(std::time::Duration::from_secs(2)).await;
    for (change, outcome) in changes.iter().zip(&outcomes) {
        println!("{}: {}", change.describe(), outcome.describe());
    }
    let all_set = outcomes.iter().all(|o| *o == Outcome::Set);
    eprintln!(
        "switchboard: run {run}: {} of {} set; `switchboard revert {run}` writes the plan that sets it back",
        outcomes.iter().filter(|o| **o == Outcome::Set).count(),
        outcomes.len()
    );
    Ok(super::exit_for(all_set))
}
