//! What `assign` and `plan` share: which sessions (ids, a file, what an agent holds or a queue has
//! waiting) and where to (an agent, a queue, or spread over agents by capacity), turned into moves.

use std::sync::Arc;

use switchboard::config::Settings;
use switchboard::dispatch::Move;
use switchboard::engine;
use switchboard::format;
use switchboard::ids::IdKind;
use switchboard::input;
use switchboard::live::{self, LiveAgent, LiveClient, LiveSnapshot};
use switchboard::names;
use switchboard::pacer::Pacer;
use switchboard::plan::{Destination, Plan, Planner};
use switchboard::request::{Endpoint, Target};

use super::Failure;
use crate::cli::{Selectors, Targets};

/// The sessions named, and the live data read on the way (when any was).
pub struct Chosen {
    pub sessions: Vec<String>,
    pub live: Option<LiveSnapshot>,
}

/// The sessions the selectors name, deduplicated, in order. With `full_live` every open
/// conversation, agent and queue is read first (a plan needs them all); else only what
/// `--from-agent` / `--from-queue` need.
pub async fn sessions(
    settings: &Settings,
    pacer: &Pacer,
    selectors: &Selectors,
    full_live: bool,
) -> Result<Chosen, Failure> {
    let mut sessions: Vec<String> = selectors
        .session
        .iter()
        .map(|s| s.trim().to_string())
        .collect();
    if let Some((i, why)) = sessions
        .iter()
        .enumerate()
        .find_map(|(i, s)| IdKind::Session.refusal(s).map(|why| (i, why)))
    {
        return Err(Failure(format!(
            "--session number {}: {why}; nothing was sent",
            i + 1
        )));
    }
    if let Some(path) = &selectors.sessions {
        let loaded = input::load_sessions(path)?;
        for w in &loaded.warnings {
            eprintln!("switchboard: warning: {w}");
        }
        if loaded.rows.is_empty() {
            return Err(Failure(format!(
                "{}: no sessions in the file; nothing was sent",
                path.display()
            )));
        }
        sessions.extend(loaded.rows.into_iter().map(|r| r.id));
    }
    let live = if full_live {
        Some(read_live(settings, pacer).await?)
    } else if selectors.from_agent.is_some() || selectors.from_queue.is_some() {
        Some(read_for_selectors(settings, pacer, selectors).await?)
    } else {
        None
    };
    if let Some(snapshot) = &live {
        sessions.extend(from_live(snapshot, selectors)?);
    }
    dedupe(&mut sessions);
    Ok(Chosen { sessions, live })
}

/// Turns each agent or queue flag given as a name (`--queue Billing`, `--agent "Alice Moreau"`) into
/// its id, from the live data: the agent list or the queue list, read only when a name is given. An
/// id is taken as it is. An unknown or ambiguous name stops the command (exit 2), naming the flag,
/// listing the candidates and where to find them. The names found, by id, for the record.
pub async fn resolve_names(
    settings: &Settings,
    pacer: &Pacer,
    selectors: &mut Selectors,
    targets: &mut Targets,
) -> Result<std::collections::HashMap<String, String>, Failure> {
    let mut found = std::collections::HashMap::new();
    let is_name = |value: &str| {
        let v = value.trim();
        !v.is_empty() && !["a-", "qu-", "u-"].iter().any(|p| v.starts_with(p))
    };
    let agent_flags: Vec<(&str, &mut String)> = [
        ("--agent", targets.agent.as_mut()),
        ("--from-agent", selectors.from_agent.as_mut()),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.map(|v| (f, v)))
    .chain(
        targets
            .spread_agents
            .iter_mut()
            .map(|v| ("--spread-agents", v)),
    )
    .filter(|(_, v)| is_name(v))
    .collect();
    let queue_flags: Vec<(&str, &mut String)> = [
        ("--queue", targets.queue.as_mut()),
        ("--from-queue", selectors.from_queue.as_mut()),
        ("--spread-queue", targets.spread_queue.as_mut()),
        ("--overflow-queue", targets.overflow_queue.as_mut()),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.map(|v| (f, v)))
    .filter(|(_, v)| is_name(v))
    .collect();
    if agent_flags.is_empty() && queue_flags.is_empty() {
        return Ok(found);
    }
    let client = LiveClient::new(Arc::new(engine::api(settings)?), pacer.clone());
    let mut calls = 0;
    let unreadable = |what: &str, e: live::LiveError| {
        Failure(format!(
            "cannot read the {what} to find the names given ({}); give ids instead; nothing was sent",
            e.with_chain()
        ))
    };
    if !agent_flags.is_empty() {
        let agents = client
            .agents(&mut calls)
            .await
            .map_err(|e| unreadable("agent list", e))?;
        for (flag, value) in agent_flags {
            let pairs = agents.iter().map(|a| (a.id.as_str(), a.name.as_str()));
            let i = names::resolve(value, pairs).map_err(|e| named(flag, "agents", e))?;
            *value = agents[i].id.clone();
            found.insert(agents[i].id.clone(), agents[i].name.clone());
        }
    }
    if !queue_flags.is_empty() {
        let queues = client
            .queues(&mut calls)
            .await
            .map_err(|e| unreadable("queue list", e))?;
        for (flag, value) in queue_flags {
            let pairs = queues.iter().map(|q| (q.id.as_str(), q.name.as_str()));
            let i = names::resolve(value, pairs).map_err(|e| named(flag, "queues", e))?;
            *value = queues[i].id.clone();
            found.insert(queues[i].id.clone(), queues[i].name.clone());
        }
    }
    Ok(found)
}

/// Reads the health of the queues `moves` go to — the queue list and each one's Queue Size, through
/// the same budget — before anything is sent: an inactive queue stops the command (exit 2); one
/// nobody AVAILABLE serves is a warning (scripts decide); a read that fails or cannot be understood
/// warns `health unknown` and the moves go ahead. A dry run reads nothing, and says so. Agent
/// targets cost nothing.
pub async fn check_queue_health(
    settings: &Settings,
    pacer: &Pacer,
    moves: &[Move],
    dry_run: bool,
) -> Result<(), Failure> {
    let mut queues: Vec<&str> = moves
        .iter()
        .filter(|m| m.target.kind == switchboard::request::TargetKind::Queue)
        .map(|m| m.target.id.as_str())
        .collect();
    queues.sort_unstable();
    queues.dedup();
    if queues.is_empty() {
        return Ok(());
    }
    if dry_run {
        eprintln!("switchboard: the target queues' health is not read in a dry run");
        return Ok(());
    }
    let client = LiveClient::new(Arc::new(engine::api(settings)?), pacer.clone());
    let mut calls = 0;
    let listed = match client.queues(&mut calls).await {
        Ok(listed) => listed,
        Err(e) => {
            eprintln!(
                "switchboard: warning: health unknown: cannot read the queue list ({}); the moves go ahead",
                format::one_line(&e.to_string())
            );
            return Ok(());
        }
    };
    for id in queues {
        let Some(mut queue) = listed.iter().find(|q| q.id == id).cloned() else {
            eprintln!(
                "switchboard: warning: health unknown: queue {id} is not in the queue list; the moves go ahead"
            );
            continue;
        };
        if let Some(why) = queue.refusal() {
            return Err(Failure(format!("{why}; nothing was sent")));
        }
        // A Queue Size that fails leaves the health unknown, said below.
        if let Ok(Some(size)) = client.queue_size(id, &mut calls).await {
            queue.agent_status = size.agent_status;
            queue.agents = size.agents;
        }
        // Hours of Operation: a queue closed now is warned, with when it opens.
        match client.hours(id, &mut calls).await {
            Ok(hours) => {
                if let Some(closed) = hours.at(jiff::Timestamp::now()).closed_words() {
                    eprintln!(
                        "switchboard: warning: {} {closed}; the conversations may wait",
                        format::one_line(&queue.name)
                    );
                }
            }
            Err(e) => eprintln!(
                "switchboard: warning: hours unknown for {}: {}; the moves go ahead",
                format::one_line(&queue.name),
                format::one_line(&e.to_string())
            ),
        }
        match queue.health() {
            live::QueueHealth::Unknown => eprintln!(
                "switchboard: warning: health unknown: Queue Size did not say who serves {}; the moves go ahead",
                format::one_line(&queue.name)
            ),
            _ => {
                if let Some(w) = queue.warning() {
                    eprintln!("switchboard: warning: {w}");
                }
            }
        }
    }
    Ok(())
}

/// A name that picked nothing, or more than one, for `flag`.
pub fn named(flag: &str, what: &str, e: names::NameError) -> Failure {
    Failure(format!(
        "{flag}: {}; `switchboard live {what}` lists them with their ids; nothing was sent",
        format::one_line(&e.to_string())
    ))
}

/// `aId` takes the `a-` agent id. A `u-` user id (which is how conversations name agents) would be
/// refused by the platform, or worse, so it is stopped here with what to use instead.
pub fn refuse_user_id(flag: &str, target: &Target) -> Result<(), Failure> {
    match target.refusal() {
        Some(why) => Err(Failure(format!("{flag} {why}; nothing was sent"))),
        None => Ok(()),
    }
}

/// The one target of a move that is not spread.
pub fn single_target(targets: &Targets) -> Result<Target, Failure> {
    let target = match (&targets.agent, &targets.queue) {
        (Some(agent), None) => Target::agent(agent.trim()),
        (None, Some(queue)) => Target::queue(queue.trim()),
        _ => return Err(Failure("give exactly one of --agent or --queue".into())),
    };
    refuse_user_id("--agent", &target)?;
    Ok(target)
}

/// Checks the targets before anything is read: the one target, or `None` for a spread.
pub fn check_targets(targets: &Targets) -> Result<Option<Target>, Failure> {
    if targets.is_spread() {
        check_spread_ids(targets)?;
        Ok(None)
    } else if targets.overflow_queue.is_some() {
        Err(Failure(
            "--overflow-queue goes with --spread-agents or --spread-queue; nothing was sent".into(),
        ))
    } else {
        single_target(targets).map(Some)
    }
}

/// Checks the spread's ids.
fn check_spread_ids(targets: &Targets) -> Result<(), Failure> {
    for agent in &targets.spread_agents {
        refuse_user_id("--spread-agents", &Target::agent(agent.trim()))?;
    }
    for (flag, queue) in [
        ("--spread-queue", &targets.spread_queue),
        ("--overflow-queue", &targets.overflow_queue),
    ] {
        if let Some(q) = queue {
            refuse_user_id(flag, &Target::queue(q.trim()))?;
        }
    }
    Ok(())
}

/// Reads what a plan needs of the live data.
pub async fn read_live(settings: &Settings, pacer: &Pacer) -> Result<LiveSnapshot, Failure> {
    let client = LiveClient::new(Arc::new(engine::api(settings)?), pacer.clone());
    let snapshot = client.plan_snapshot().await.map_err(unreadable)?;
    for w in &snapshot.warnings {
        eprintln!("switchboard: warning: {w}");
    }
    Ok(snapshot)
}

fn unreadable(e: live::LiveError) -> Failure {
    Failure(format!("cannot read the live data: {e}; nothing was sent"))
}

/// Only what `--from-agent` and `--from-queue` need: the open conversations, and the agents for
/// `--from-agent`.
async fn read_for_selectors(
    settings: &Settings,
    pacer: &Pacer,
    selectors: &Selectors,
) -> Result<LiveSnapshot, Failure> {
    if let Some(agent) = &selectors.from_agent {
        refuse_user_id("--from-agent", &Target::agent(agent.trim()))?;
    }
    let client = LiveClient::new(Arc::new(engine::api(settings)?), pacer.clone());
    let mut calls = 0;
    let mut snapshot = LiveSnapshot {
        conversations: client
            .conversations(live::OPEN_STATUSES, &mut calls)
            .await
            .map_err(unreadable)?,
        ..Default::default()
    };
    if selectors.from_agent.is_some() {
        snapshot.agents = client.agents(&mut calls).await.map_err(unreadable)?;
    }
    Ok(snapshot)
}

/// The sessions `--from-agent` holds or `--from-queue` has waiting, from the live data.
fn from_live(snapshot: &LiveSnapshot, selectors: &Selectors) -> Result<Vec<String>, Failure> {
    let mut sessions = Vec::new();
    if let Some(agent) = &selectors.from_agent {
        if !snapshot.agents.iter().any(|a| a.id == agent.trim()) {
            return Err(Failure(format!(
                "--from-agent {agent}: no such agent in List All Agents; nothing was sent"
            )));
        }
        let held = snapshot.sessions_with_agent(agent.trim());
        eprintln!(
            "switchboard: agent {agent} holds {} open conversation(s)",
            held.len()
        );
        sessions.extend(held);
    }
    if let Some(queue) = &selectors.from_queue {
        let waiting = snapshot.sessions_waiting_in(queue.trim());
        eprintln!(
            "switchboard: queue {queue} has {} conversation(s) waiting",
            waiting.len()
        );
        sessions.extend(waiting);
    }
    Ok(sessions)
}

/// A session named twice is moved once.
fn dedupe(sessions: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    let before = sessions.len();
    sessions.retain(|s| seen.insert(s.clone()));
    if sessions.len() < before {
        eprintln!(
            "switchboard: warning: {} duplicate session id(s) dropped",
            before - sessions.len()
        );
    }
}

/// Each session to one target, each with where it was when the live data shows it.
pub fn moves_to(sessions: &[String], target: &Target, live: Option<&LiveSnapshot>) -> Vec<Move> {
    let planner = live.map(Planner::new);
    // The target's name, when the live data read on the way knows it.
    let target_name = planner.as_ref().and_then(|p| p.target_name(target));
    sessions
        .iter()
        .map(|s| Move {
            session: s.clone(),
            target: target.clone(),
            from: planner.as_ref().and_then(|p| p.origin(s)),
            target_name: target_name.clone().filter(|n| !n.trim().is_empty()),
        })
        .collect()
}

/// The plan for `sessions` to `targets`, with what `live` shows now.
pub fn plan(
    purpose: &str,
    settings: &Settings,
    sessions: &[String],
    targets: &Targets,
    live: &LiveSnapshot,
) -> Result<Plan, Failure> {
    let mut plan = Plan::new(purpose, settings.profile_label(), &settings.host()?)
        .for_endpoint(&Endpoint::from_settings(settings)?);
    let to = if targets.is_spread() {
        Destination::Spread {
            agents: spread_agents(targets, live)?,
            overflow: targets
                .overflow_queue
                .as_ref()
                .map(|q| Target::queue(q.trim())),
        }
    } else {
        Destination::One(single_target(targets)?)
    };
    Planner::new(live).plan(&mut plan, sessions, &to);
    Ok(plan)
}

/// The agents a spread goes over: those named, or those of the queue.
fn spread_agents<'a>(
    targets: &Targets,
    live: &'a LiveSnapshot,
) -> Result<Vec<&'a LiveAgent>, Failure> {
    if let Some(queue) = &targets.spread_queue {
        let queue = queue.trim();
        let name = live
            .queues
            .iter()
            .find(|q| q.id == queue)
            .map(|q| q.name.as_str())
            .ok_or_else(|| {
                Failure(format!(
                    "--spread-queue {queue}: no such queue in Get a List of Queues; nothing was sent"
                ))
            })?;
        let agents: Vec<&LiveAgent> = live
            .agents
            .iter()
            .filter(|a| a.queues.iter().any(|q| q == name || q == queue))
            .collect();
        if agents.is_empty() {
            return Err(Failure(format!(
                "--spread-queue {queue}: List All Agents shows no agent in {name}; nothing was sent"
            )));
        }
        return Ok(agents);
    }
    targets
        .spread_agents
        .iter()
        .map(|id| {
            live.agents
                .iter()
                .find(|a| a.id == id.trim())
                .ok_or_else(|| {
                    Failure(format!(
                        "--spread-agents: no agent {id} in List All Agents; nothing was sent"
                    ))
                })
        })
        .collect()
}
