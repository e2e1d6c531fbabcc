//! `switchboard live sessions|agents|queues`: the live data the console shows, headless — the same
//! reads through the same pacer, as a table or one JSON object per line.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{Value, json};

use switchboard::config::Settings;
use switchboard::engine;
use switchboard::format;
use switchboard::live::{self, LiveClient, LiveSnapshot};

use super::Failure;
use crate::cli::{LiveArgs, LiveWhat};

pub async fn run(settings: &Settings, args: LiveArgs) -> Result<ExitCode, Failure> {
    let statuses = statuses(&args)?;
    if args.sort.is_some() && !matches!(args.what, LiveWhat::Sessions) {
        return Err(Failure("--sort is for `live sessions` only".into()));
    }
    let client = LiveClient::new(Arc::new(engine::api(settings)?), engine::pacer(settings)?);
    let unreadable = |e: live::LiveError| Failure(format!("cannot read the live data: {e}"));
    let mut snapshot = LiveSnapshot::default();
    match args.what {
        LiveWhat::Sessions => {
            let wanted: Vec<&str> = statuses.iter().map(String::as_str).collect();
            snapshot.conversations = client
                .conversations(&wanted, &mut snapshot.calls)
                .await
                .map_err(unreadable)?;
            if let Some(sort) = args.sort {
                let order = sort.order();
                // Stable: equals keep Kore's order.
                snapshot
                    .conversations
                    .sort_by_cached_key(|c| order.key(c.wait, &c.triage));
            }
            // The `a-` id of each agent beside the `u-` id conversations name them by (for
            // `--json`, and for `assign --agent`): one more read, for the JSON only.
            if args.json
                && snapshot
                    .conversations
                    .iter()
                    .any(|c| c.agent_user_id.is_some())
            {
                match client.agents(&mut snapshot.calls).await {
                    Ok(agents) => snapshot.agents = agents,
                    Err(e) => snapshot
                        .warnings
                        .push(format!("the agents' a- ids are not given: {e}")),
                }
            }
        }
        LiveWhat::Agents => {
            // The load column counts the open conversations each agent holds, as the console does.
            snapshot.conversations = client
                .conversations(live::OPEN_STATUSES, &mut snapshot.calls)
                .await
                .map_err(unreadable)?;
            snapshot.agents = client
                .agents(&mut snapshot.calls)
                .await
                .map_err(unreadable)?;
            client.read_presence(&mut snapshot).await;
        }
        LiveWhat::Queues => {
            snapshot.queues = client
                .queues(&mut snapshot.calls)
                .await
                .map_err(unreadable)?;
            client.read_queue_sizes(&mut snapshot).await;
        }
    }
    for w in &snapshot.warnings {
        eprintln!("switchboard: warning: {}", format::printable(w));
    }
    let rows = rows(&snapshot, args.what);
    let mut out = std::io::stdout().lock();
    if args.json {
        for (object, _) in &rows {
            let _ = writeln!(out, "{object}");
        }
    } else {
        let table: Vec<Vec<String>> = rows.into_iter().map(|(_, cells)| cells).collect();
        format::write_table(&mut out, headings(args.what), &table);
    }
    eprintln!(
        "switchboard: {} read in {} call(s)",
        match args.what {
            LiveWhat::Sessions => format!("{} conversation(s)", snapshot.conversations.len()),
            LiveWhat::Agents => format!("{} agent(s)", snapshot.agents.len()),
            LiveWhat::Queues => format!("{} queue(s)", snapshot.queues.len()),
        },
        snapshot.calls
    );
    Ok(ExitCode::SUCCESS)
}

/// `--status`, checked against Kore's documented values; only for sessions.
fn statuses(args: &LiveArgs) -> Result<Vec<String>, Failure> {
    if args.status.is_empty() {
        return Ok(live::OPEN_STATUSES.iter().map(|s| s.to_string()).collect());
    }
    if !matches!(args.what, LiveWhat::Sessions) {
        return Err(Failure("--status is for `live sessions` only".into()));
    }
    args.status
        .iter()
        .map(|s| {
            let upper = s.trim().to_ascii_uppercase();
            live::ALL_STATUSES
                .contains(&upper.as_str())
                .then_some(upper)
                .ok_or_else(|| {
                    Failure(format!(
                        "--status {s:?} is not a conversation status Kore documents: {}",
                        live::ALL_STATUSES.join(", ")
                    ))
                })
        })
        .collect()
}

fn headings(what: LiveWhat) -> &'static [&'static str] {
    match what {
        LiveWhat::Sessions => &[
            "SESSION",
            "STATUS",
            "CHANNEL",
            "QUEUE",
            "AGENT",
            "WAIT",
            "PRIORITY",
            "SENTIMENT",
            "INTENT",
            "LANG",
        ],
        LiveWhat::Agents => &["AGENT", "NAME", "AVAILABILITY", "LOAD", "QUEUES", "SKILLS"],
        LiveWhat::Queues => &[
            "QUEUE", "NAME", "WAITING", "ENGAGED", "AVG WAIT", "MAX WAIT",
        ],
    }
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

fn number(v: Option<u64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
}

/// Queue Size's waits have no documented unit; read as milliseconds, like `waitTime`.
fn millis(v: Option<u64>) -> String {
    v.map(|ms| switchboard::format::duration(std::time::Duration::from_millis(ms)))
        .unwrap_or_else(|| "-".into())
}

/// Each row as its JSON object and its table cells.
fn rows(s: &LiveSnapshot, what: LiveWhat) -> Vec<(Value, Vec<String>)> {
    match what {
        LiveWhat::Sessions => s
            .conversations
            .iter()
            .map(|c| {
                let object = json!({
                    "botSessionId": c.session,
                    "conversationId": c.conversation_id,
                    "status": c.status,
                    "channel": c.source,
                    "queueId": c.queue_id,
                    "queue": c.queue_name,
                    "agentUserId": c.agent_user_id,
                    "agentId": c.agent_user_id.as_deref().and_then(|u| {
                        s.agents.iter().find(|a| a.user_id.as_deref() == Some(u)).map(|a| a.id.clone())
                    }),
                    "agent": c.agent_name,
                    "waitMs": c.wait.map(|w| w.as_millis() as u64),
                    "priority": c.triage.priority,
                    "sentiment": c.triage.sentiment.as_ref().map(|s| json!({"tone": s.tone, "strength": s.strength})),
                    "intent": c.triage.intent,
                    "language": c.triage.language,
                });
                let cells = vec![
                    c.session.clone(),
                    text(&c.status),
                    text(&c.source),
                    text(&c.queue_name.clone().or_else(|| c.queue_id.clone())),
                    text(&c.agent_name.clone().or_else(|| c.agent_user_id.clone())),
                    c.wait
                        .map(switchboard::format::duration)
                        .unwrap_or_else(|| "-".into()),
                    text(&c.triage.priority),
                    c.triage
                        .sentiment
                        .as_ref()
                        .map(|s| s.label())
                        .unwrap_or_else(|| "-".into()),
                    text(&c.triage.intent),
                    text(&c.triage.language),
                ];
                (object, cells)
            })
            .collect(),
        LiveWhat::Agents => s
            .agents
            .iter()
            .map(|a| {
                let held = a
                    .user_id
                    .as_deref()
                    .map(|u| {
                        s.conversations
                            .iter()
                            .filter(|c| c.agent_user_id.as_deref() == Some(u))
                            .count() as u64
                    })
                    .unwrap_or(0);
                let live_chat = a.capacity_of("liveChat");
                let (now, most) = (
                    live_chat.and_then(|c| c.used).unwrap_or(held),
                    live_chat.and_then(|c| c.total).or(a.max_chats),
                );
                let capacity: serde_json::Map<String, Value> = a
                    .capacity
                    .iter()
                    .map(|(kind, c)| (kind.clone(), json!(c)))
                    .collect();
                let object = json!({
                    "id": a.id,
                    "userId": a.user_id,
                    "name": a.name,
                    "availability": a.availability.as_ref().map(|v| v.as_str()),
                    "openConversations": held,
                    "maxChatSupport": a.max_chats,
                    "channelCapacity": capacity,
                    "queues": a.queues,
                    "skills": a.skills,
                });
                let cells = vec![
                    a.id.clone(),
                    a.name.clone(),
                    a.availability
                        .as_ref()
                        .map(|v| v.as_str().to_string())
                        .unwrap_or_else(|| "-".into()),
                    format!("{now}/{}", number(most)),
                    a.queues.join(", "),
                    a.skills.join(", "),
                ];
                (object, cells)
            })
            .collect(),
        LiveWhat::Queues => s
            .queues
            .iter()
            .map(|q| {
                let object = json!({
                    "id": q.id,
                    "name": q.name,
                    "waiting": q.waiting,
                    "engaged": q.engaged,
                    "avgWaitMs": q.avg_wait,
                    "maxWaitMs": q.max_wait,
                });
                let cells = vec![
                    q.id.clone(),
                    q.name.clone(),
                    number(q.waiting),
                    number(q.engaged),
                    millis(q.avg_wait),
                    millis(q.max_wait),
                ];
                (object, cells)
            })
            .collect(),
    }
}
