//! Live data in the console: when a refresh is due, what the panes say about its age, and how a
//! snapshot merges into the panes. Rows typed or loaded from files stay; live rows merge with them
//! by id, and a live-only session that is no longer active goes, unless something was done with it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use nucleo::Matcher;
use tokio::time::Instant;

use crate::input::{AgentRow, QueueRow, SessionRow};
use crate::live::{Conversation, LiveSnapshot};

use super::app::{SessionItem, Spot};
use super::table::Table;

/// Where live data stands.
#[derive(Debug, Clone)]
pub struct LiveState {
    pub enabled: bool,
    pub every: Duration,
    pub refreshing: bool,
    /// When the next refresh is due; `None` means at the next tick.
    pub next_due: Option<Instant>,
    pub last_ok: Option<Instant>,
    /// The last refresh's failure, if the last refresh failed: when, and why.
    pub failure: Option<(Instant, String)>,
    /// How many API calls the last whole refresh took.
    pub last_cost: Option<usize>,
}

impl LiveState {
    pub fn new(every: Duration) -> LiveState {
        LiveState {
            enabled: false,
            every,
            refreshing: false,
            next_due: None,
            last_ok: None,
            failure: None,
            last_cost: None,
        }
    }

    pub fn due(&self, now: Instant) -> bool {
        self.enabled && !self.refreshing && self.next_due.is_none_or(|due| now >= due)
    }

    /// What a pane title says of the data's freshness: `live 12s ago`, or `STALE 2m10s (why)`.
    pub fn describe(&self, now: Option<Instant>) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let age = |since: Instant| {
            now.map(|n| crate::format::duration(n.saturating_duration_since(since)))
                .unwrap_or_default()
        };
        Some(match (&self.failure, self.last_ok) {
            (Some((_, why)), Some(ok)) => format!("STALE {} ({why})", age(ok)),
            (Some((_, why)), None) => format!("no live data ({why})"),
            (None, Some(ok)) if self.refreshing => format!("live {} ago, refreshing", age(ok)),
            (None, Some(ok)) => format!("live {} ago", age(ok)),
            (None, None) => "live: loading".into(),
        })
    }
}

/// The columns a live session shows, in order.
pub const LIVE_COLUMNS: [&str; 9] = [
    "channel",
    "queue",
    "agent",
    "status",
    "wait",
    "priority",
    "sentiment",
    "intent",
    "language",
];

/// The names of the live columns, as rows carry them.
pub fn live_column_names() -> Vec<Arc<str>> {
    LIVE_COLUMNS.iter().map(|n| Arc::from(*n)).collect()
}

fn columns(c: &Conversation, names: &[Arc<str>]) -> Vec<(Arc<str>, String)> {
    let values = [
        c.source.clone(),
        c.queue_name.clone().or_else(|| c.queue_id.clone()),
        c.agent_name.clone(),
        c.status.clone(),
        c.wait.map(crate::format::duration),
        c.triage.priority.clone(),
        c.triage
            .sentiment
            .as_ref()
            .map(crate::triage::Sentiment::label),
        c.triage.intent.clone(),
        c.triage.language.clone(),
    ];
    names
        .iter()
        .cloned()
        .zip(values.into_iter().map(Option::unwrap_or_default))
        .collect()
}

/// What a merge did, for the status line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Merged {
    pub sessions_added: usize,
    pub sessions_gone: usize,
}

/// Merges a snapshot into the three panes.
pub fn merge(
    sessions: &mut Table<SessionItem>,
    agents: &mut Table<AgentRow>,
    queues: &mut Table<QueueRow>,
    snapshot: &LiveSnapshot,
    asked: Instant,
    matcher: &mut Matcher,
) -> Merged {
    let names = live_column_names();
    let mut merged = Merged::default();
    let mut active: HashMap<&str, ()> = HashMap::with_capacity(snapshot.conversations.len());
    for c in &snapshot.conversations {
        active.insert(&c.session, ());
        let live_columns = columns(c, &names);
        match sessions.find(&c.session) {
            Some(i) => {
                if let Some(item) = sessions.by_id_mut(&c.session) {
                    item.live = true;
                    // The live columns replace their old values; the file's own stay. (Each has a
                    // fixed place on screen, whatever the order here.)
                    let mut extra = live_columns;
                    extra.extend(
                        item.row
                            .extra
                            .drain(..)
                            .filter(|(k, _)| !LIVE_COLUMNS.contains(&&**k)),
                    );
                    item.row.extra = extra;
                    item.triage = Some(Box::new(c.triage.clone()));
                    // Its queue and agent, unless a move answered since the read was asked.
                    item.read_at(Spot::of(c), asked);
                }
                sessions.refresh(i);
            }
            None => {
                let mut item = SessionItem {
                    live: true,
                    from_live: true,
                    ..SessionItem::new(SessionRow {
                        id: c.session.clone(),
                        extra: live_columns,
                    })
                };
                item.triage = Some(Box::new(c.triage.clone()));
                item.read_at(Spot::of(c), asked);
                if sessions.push(item, matcher).is_ok() {
                    merged.sessions_added += 1;
                }
            }
        }
    }
    // Sessions no longer active: ended. One that only the live data brought goes, unless it is
    // marked or was moved (its record stays on screen); typed and loaded rows always stay.
    let ended: Vec<String> = sessions
        .rows()
        .iter()
        .filter(|s| s.live && !active.contains_key(s.row.id.as_str()))
        .map(|s| s.row.id.clone())
        .collect();
    for id in ended {
        let Some(i) = sessions.find(&id) else {
            continue;
        };
        let marked = sessions.is_marked(i);
        let keep = sessions.get(i).is_some_and(|s| {
            !s.from_live || marked || s.state.in_flight || s.state.outcome.is_some()
        });
        if keep {
            if let Some(item) = sessions.by_id_mut(&id) {
                item.live = false;
                if let Some(slot) = item.row.extra.iter_mut().find(|(k, _)| &**k == "status") {
                    slot.1 = "ended".into();
                }
            }
            sessions.refresh(i);
        } else {
            sessions.remove(i);
            merged.sessions_gone += 1;
        }
    }

    let mut chats: HashMap<&str, u64> = HashMap::new();
    for c in &snapshot.conversations {
        if let Some(user) = &c.agent_user_id {
            *chats.entry(user.as_str()).or_default() += 1;
        }
    }
    for a in &snapshot.agents {
        let live_chat = a.capacity_of("liveChat");
        let row = AgentRow {
            id: a.id.clone(),
            name: a.name.clone(),
            status: a.availability.as_ref().map(|s| s.as_str().to_string()),
            queues: (!a.queues.is_empty()).then(|| a.queues.join(", ")),
            skills: (!a.skills.is_empty()).then(|| a.skills.join(", ")),
            user_id: a.user_id.clone(),
            // Kore's own live-chat capacity when Check Agent Availability gives it; else the agent's
            // limit and the chats the conversations show with them.
            max_chats: live_chat.and_then(|c| c.total).or(a.max_chats),
            active_chats: live_chat.and_then(|c| c.used).or(Some(
                a.user_id
                    .as_deref()
                    .and_then(|u| chats.get(u).copied())
                    .unwrap_or(0),
            )),
        };
        agents.upsert(row, matcher);
    }
    for q in &snapshot.queues {
        let row = QueueRow {
            id: q.id.clone(),
            name: q.name.clone(),
            waiting: q.waiting,
            engaged: q.engaged,
            avg_wait: q.avg_wait,
            max_wait: q.max_wait,
            available: q.agent_status.map(|c| c.available),
            active: q.active,
        };
        queues.upsert(row, matcher);
    }
    // Rows whose text changed may now match the filter, or no longer: filter them all again.
    sessions.reapply_filter(matcher);
    agents.reapply_filter(matcher);
    queues.reapply_filter(matcher);
    merged
}
