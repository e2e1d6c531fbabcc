//! The stand-in's simulated contact center: conversations, agents and queues whose state moves. A
//! transfer moves a conversation to its new queue or agent, so the queue counts and the agents' loads
//! follow; with churn on (the demo), conversations arrive and end over time. The read APIs answer
//! from it in Kore's documented shapes (kore-api.md §5, §9):
//! - conversations carry the documented statuses (a share OVERDUE and IDLE, a few CLOSED), and
//!   participants who left keep `"status": "ACTIVE"` with `endTimeStamp` and `endedChat: true`, as in
//!   Kore's samples; one who stopped answering is INACTIVE with `reason: "OVERDUE"` and no end time;
//! - agents' presence is one of the documented groups (AVAILABLE, BUSY, AWAY, OFFLINE) or one the
//!   supervisor guide names without a wire spelling: `SYSTEM_BUSY`, `SYSTEM_AWAY` and `LOGIN_PREP`
//!   here are INVENTED spellings;
//! - Get a List of Queues says `hasMore: true` on every page, as its documented sample does (with
//!   `totalPages: 1`), so a client that trusts `hasMore` alone never stops;
//! - Get Conversation Details answers one session's participants and `transferDetails`.
//!
//! Bodies the docs do not show (the channel capacities' figures, the details of a waiting session)
//! are the stand-in's own invention in the documented field names.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::demo;
use crate::live::Availability;

#[derive(Debug, Clone)]
pub struct SimConversation {
    pub id: String,
    pub session: String,
    pub source: String,
    pub queue_id: String,
    /// The `u-` user id of the agent it is with, as conversations name agents.
    pub agent_user_id: Option<String>,
    /// ACTIVE, OPEN, IDLE or OVERDUE while open; CLOSED once it ended.
    pub status: String,
    /// Agents (`u-` ids) who were in the chat and left it.
    pub left: Vec<String>,
    /// Transfers made to it, oldest first: `QUEUE` or `AGENT`, and the id.
    pub transfers: Vec<(&'static str, String)>,
    pub started: Instant,
}

impl SimConversation {
    pub fn is_open(&self) -> bool {
        !matches!(self.status.as_str(), "CLOSED" | "TERMINATED")
    }
}

#[derive(Debug, Clone)]
pub struct SimAgent {
    pub id: String,
    pub user_id: String,
    pub first_name: String,
    pub last_name: String,
    pub availability: Availability,
    pub max_chats: u64,
    pub queue_ids: Vec<String>,
    pub skills: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SimQueue {
    pub id: String,
    pub name: String,
    /// `isActive` in the queue list.
    pub active: bool,
    /// Its Hours of Operation, as the API answers them (the demo's: open around the clock, UTC).
    pub hours: serde_json::Value,
    /// The priority last set through Update Queue Priority (Kore has no call that reads it).
    pub priority: Option<u8>,
}

/// Open every day, all day, in UTC: the demo's queues never close.
pub fn around_the_clock() -> serde_json::Value {
    let days: Vec<serde_json::Value> = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]
        .iter()
        .map(|d| json!({"start": "12:00 AM", "end": "11:59:59.999 PM", "day": d}))
        .collect();
    json!({
        "name": "Around the clock",
        "standardDays": {"frequency": "WEEKLY", "days": days},
        "specialDays": {"frequency": "YEARLY", "days": []},
        "status": "ACTIVE",
        "timezone": "UTC",
        "isHoursOfOperationValid": true
    })
}

/// Session ids of conversations that arrived during the run start so.
const ARRIVAL_PREFIX: &str = "7a11";

/// How many results a page of the list APIs holds, as in Kore's samples.
pub const PAGE_SIZE: usize = 10;

#[derive(Debug, Clone, Default)]
pub struct Center {
    pub conversations: Vec<SimConversation>,
    pub agents: Vec<SimAgent>,
    pub queues: Vec<SimQueue>,
    seed: u64,
    arrivals: u64,
}

/// Why a transfer cannot happen: the status and Kore-style message to answer with.
pub type Refused = (u16, String);

impl Center {
    pub fn new(
        conversations: Vec<SimConversation>,
        agents: Vec<SimAgent>,
        queues: Vec<SimQueue>,
    ) -> Center {
        Center {
            conversations,
            agents,
            queues,
            seed: 0x5eed,
            arrivals: 0,
        }
    }

    /// The demo's center: its sample sessions waiting in or talking in its sample queues.
    pub fn demo(now: Instant) -> Center {
        let queues: Vec<SimQueue> = demo::queues()
            .map(|l| {
                l.rows
                    .into_iter()
                    .map(|q| SimQueue {
                        id: q.id,
                        name: q.name,
                        active: true,
                        hours: around_the_clock(),
                        priority: None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let agents: Vec<SimAgent> = demo::agents()
            .map(|l| {
                l.rows
                    .into_iter()
                    .map(|a| {
                        let (first, last) = a.name.split_once(' ').unwrap_or((&a.name, ""));
                        let queue_names: Vec<&str> = a
                            .queues
                            .as_deref()
                            .unwrap_or("")
                            .split(';')
                            .map(str::trim)
                            .collect();
                        SimAgent {
                            queue_ids: queues
                                .iter()
                                .filter(|q| queue_names.contains(&q.name.as_str()))
                                .map(|q| q.id.clone())
                                .collect(),
                            skills: a
                                .skills
                                .as_deref()
                                .unwrap_or("")
                                .split(',')
                                .map(|s| s.trim().to_string())
                                .filter(|s| !s.is_empty())
                                .collect(),
                            availability: a
                                .status
                                .as_deref()
                                .and_then(Availability::parse)
                                .unwrap_or(Availability::Offline),
                            user_id: a.user_id.clone().unwrap_or_default(),
                            first_name: first.to_string(),
                            last_name: last.to_string(),
                            max_chats: a.max_chats.unwrap_or(5),
                            id: a.id,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let talking: Vec<&SimAgent> = agents
            .iter()
            .filter(|a| {
                a.availability == Availability::Busy || a.availability == Availability::Available
            })
            .collect();
        let mut conversations: Vec<SimConversation> = Vec::new();
        conversations.extend(
            demo::sessions()
                .map(|l| {
                    l.rows
                        .into_iter()
                        .enumerate()
                        .map(|(i, s)| {
                            let field = |name: &str| {
                                s.extra
                                    .iter()
                                    .find(|(k, _)| &**k == name)
                                    .map(|(_, v)| v.clone())
                            };
                            let waited = field("waiting")
                                .and_then(|w| parse_clock(&w))
                                .unwrap_or_default();
                            let queue = &queues[i % queues.len().max(1)];
                            // Every fifth is already with an agent of its queue.
                            let agent = (i % 5 == 4)
                                .then(|| talking.iter().find(|a| a.queue_ids.contains(&queue.id)))
                                .flatten();
                            // Some waiting ones had an agent who left; some held ones went quiet.
                            let left = (i % 5 == 2)
                                .then(|| talking.iter().find(|a| a.queue_ids.contains(&queue.id)))
                                .flatten()
                                .map(|a| vec![a.user_id.clone()])
                                .unwrap_or_default();
                            let status = match (agent.is_some(), i % 3) {
                                (true, 0) => "OVERDUE",
                                (true, _) => "ACTIVE",
                                (false, 1) => "IDLE",
                                (false, _) => "OPEN",
                            };
                            SimConversation {
                                id: format!("c-{:07x}-0d1e-4c2b-9a3f-{:012x}", 0x1a2b3c0 + i, i),
                                source: field("channel").unwrap_or_else(|| "rtm".into()),
                                queue_id: queue.id.clone(),
                                agent_user_id: agent.map(|a| a.user_id.clone()),
                                status: status.into(),
                                left,
                                transfers: Vec::new(),
                                started: now.checked_sub(waited).unwrap_or(now),
                                session: s.id,
                            }
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        );
        // A few that ended today: List of Conversations shows them only when asked for CLOSED.
        for n in 0..3u64 {
            conversations.push(SimConversation {
                id: format!("c-{:07x}-c105-4ed0-8a1b-{n:012x}", 0xc105ed0 + n),
                session: format!("5e55c105ed0000000000{:04x}", 0xc100 + n),
                source: "web".into(),
                queue_id: queues.first().map(|q| q.id.clone()).unwrap_or_default(),
                agent_user_id: None,
                status: "CLOSED".into(),
                left: talking
                    .first()
                    .map(|a| vec![a.user_id.clone()])
                    .unwrap_or_default(),
                transfers: Vec::new(),
                started: now,
            });
        }
        Center::new(conversations, agents, queues)
    }

    /// Whether a transfer could be made now: the session is open here, and the target exists.
    pub fn check_transfer(
        &self,
        session: &str,
        queue_id: Option<&str>,
        agent_id: Option<&str>,
    ) -> Result<(), Refused> {
        let not_found = |what: &str| (404, format!("{what} not found"));
        if !self
            .conversations
            .iter()
            .any(|c| c.session == session && c.is_open())
        {
            return Err(not_found("Session"));
        }
        if let Some(q) = queue_id
            && !self.queues.iter().any(|queue| queue.id == q)
        {
            return Err(not_found(&format!("Queue {q}")));
        }
        if let Some(a) = agent_id
            && !self.agents.iter().any(|agent| agent.id == a)
        {
            return Err(not_found(&format!("Agent {a}")));
        }
        Ok(())
    }

    /// A transfer, as the platform would make it: to a queue it waits there with no agent; to an
    /// agent it is with them. The agent it leaves is recorded as having left the chat.
    pub fn transfer(
        &mut self,
        session: &str,
        queue_id: Option<&str>,
        agent_id: Option<&str>,
    ) -> Result<(), Refused> {
        self.check_transfer(session, queue_id, agent_id)?;
        let index = self
            .conversations
            .iter()
            .position(|c| c.session == session && c.is_open())
            .expect("checked above");
        let agent = agent_id.and_then(|a| self.agents.iter().find(|agent| agent.id == a).cloned());
        let c = &mut self.conversations[index];
        if let Some(previous) = c.agent_user_id.take() {
            c.left.push(previous);
        }
        if let Some(q) = queue_id {
            c.queue_id = q.to_string();
            c.status = "OPEN".into();
            c.transfers.push(("QUEUE", q.to_string()));
        }
        if let Some(agent) = agent {
            c.agent_user_id = Some(agent.user_id.clone());
            c.status = "ACTIVE".into();
            c.transfers.push(("AGENT", agent.user_id.clone()));
            if let Some(q) = agent.queue_ids.first() {
                c.queue_id = q.clone();
            }
        }
        Ok(())
    }

    fn next_random(&mut self) -> u64 {
        // A small linear congruential generator: the demo needs variety, not secrecy.
        self.seed = self
            .seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.seed >> 33
    }

    /// One step of the day: a conversation arrives in some queue, and once a few have, one of the
    /// arrivals ends. (The sample conversations stay, so the demo's walk-through always finds them.)
    pub fn churn(&mut self, now: Instant) {
        if self.queues.is_empty() {
            return;
        }
        self.arrivals += 1;
        let pick = self.next_random() as usize % self.queues.len();
        let queue = self.queues[pick].id.clone();
        let channels = ["web", "whatsapp", "voice", "sms", "messenger"];
        let source = channels[self.next_random() as usize % channels.len()].to_string();
        self.conversations.push(SimConversation {
            id: format!(
                "c-{:07x}-7e11-4a5b-8c9d-{:012x}",
                0xa000000 + self.arrivals,
                self.arrivals
            ),
            session: format!(
                "{ARRIVAL_PREFIX}{:016x}{:04x}",
                self.arrivals,
                0xa000 + (self.arrivals % 0x1000)
            ),
            source,
            queue_id: queue,
            agent_user_id: None,
            status: "OPEN".into(),
            left: Vec::new(),
            transfers: Vec::new(),
            started: now,
        });
        let arrived: Vec<usize> = (0..self.conversations.len())
            .filter(|&i| self.conversations[i].session.starts_with(ARRIVAL_PREFIX))
            .collect();
        if arrived.len() > 3 {
            let gone = arrived[self.next_random() as usize % arrived.len()];
            self.conversations.remove(gone);
        }
    }

    fn page<T: Clone>(items: &[T], skip: usize, limit: usize) -> (Vec<T>, bool) {
        let end = (skip + limit).min(items.len());
        let slice = items
            .get(skip.min(items.len())..end)
            .unwrap_or(&[])
            .to_vec();
        (slice, end < items.len())
    }

    /// List of Conversations with the given statuses (every status when none is given).
    pub fn conversations_page(
        &self,
        statuses: &[String],
        skip: usize,
        limit: usize,
        now: Instant,
    ) -> Value {
        let limit = limit.clamp(1, 100);
        let chosen: Vec<&SimConversation> = self
            .conversations
            .iter()
            .filter(|c| {
                statuses.is_empty() || statuses.iter().any(|s| s.eq_ignore_ascii_case(&c.status))
            })
            .collect();
        let (page, has_more) = Self::page(&chosen, skip, limit);
        let results: Vec<Value> = page
            .iter()
            .map(|c| self.conversation_json(c, now))
            .collect();
        json!({
            "results": results,
            "skip": skip,
            "limit": limit,
            "hasMore": has_more,
            "totalPages": chosen.len().div_ceil(limit),
            "totalResults": chosen.len(),
        })
    }

    /// Get Conversation Details for one session, or `None` when there is no such session.
    pub fn conversation_details(&self, session: &str, now: Instant) -> Option<Value> {
        let c = self
            .conversations
            .iter()
            .rev()
            .find(|c| c.session == session)?;
        let mut details = self.conversation_json(c, now);
        // The documented sample has no `queues`: where it is shows in participants and transfers.
        if let Some(fields) = details.as_object_mut() {
            fields.remove("queues");
            fields.insert("conversationType".into(), json!("livechat"));
        }
        Some(details)
    }

    fn agent_by_user(&self, user_id: &str) -> Option<&SimAgent> {
        self.agents.iter().find(|a| a.user_id == user_id)
    }

    fn conversation_json(&self, c: &SimConversation, now: Instant) -> Value {
        let queue = self.queues.iter().find(|q| q.id == c.queue_id);
        let queue_name = queue.map(|q| q.name.clone());
        let name_of = |user: &str| {
            self.agent_by_user(user).map(|a| {
                format!("{} {}", a.first_name, a.last_name)
                    .trim()
                    .to_string()
            })
        };
        // Those who left stay listed as ACTIVE with an end, as in Kore's samples.
        let mut participants: Vec<Value> = c
            .left
            .iter()
            .map(|user| {
                json!({
                    "queueId": c.queue_id,
                    "queueName": queue_name,
                    "agentId": user,
                    "name": name_of(user),
                    "status": "ACTIVE",
                    "endTimeStamp": "2026-11-27T08:00:00.000Z",
                    "endedChat": true,
                })
            })
            .collect();
        if let Some(user) = &c.agent_user_id {
            let mut current = json!({
                "queueId": c.queue_id,
                "queueName": queue_name,
                "agentId": user,
                "name": name_of(user),
                "status": "ACTIVE",
            });
            if c.status == "OVERDUE" {
                // Stopped answering, still holding it: INACTIVE, reason OVERDUE, no end time.
                current["status"] = json!("INACTIVE");
                current["reason"] = json!("OVERDUE");
            }
            participants.push(current);
        }
        let transfer_details: Vec<Value> = c
            .transfers
            .iter()
            .map(|(kind, id)| {
                let name = match *kind {
                    "QUEUE" => self
                        .queues
                        .iter()
                        .find(|q| &q.id == id)
                        .map(|q| q.name.clone()),
                    _ => name_of(id),
                };
                json!({
                    "transferredType": if *kind == "QUEUE" { "QUEUE" } else { "OTHERS" },
                    "transferredTo": [{"type": kind, "id": id, "name": name}],
                })
            })
            .collect();
        let triage = made_up_triage(&c.session);
        json!({
            "_id": c.id,
            "botSessionId": c.session,
            "status": c.status,
            "source": c.source,
            "language": "en",
            "participants": participants,
            "transferDetails": transfer_details,
            "queues": [{"type": "ASSIGNED", "status": "ACTIVE", "id": c.queue_id, "name": queue_name}],
            "waitTime": now.saturating_duration_since(c.started).as_millis() as u64,
            // Kore's triage fields, as its sample shows them, made up from the session so a
            // conversation keeps them from read to read.
            "priority": triage.0,
            "sentimentTone": {"sentiment": triage.1, "emoji": "", "strength": triage.2},
            "keyIntentName": triage.3,
        })
    }

    /// List All Agents, a page at a time (pages count from 1).
    pub fn agents_page(&self, page: usize) -> Value {
        let skip = page.saturating_sub(1) * PAGE_SIZE;
        let (agents, has_more) = Self::page(&self.agents, skip, PAGE_SIZE);
        let results: Vec<Value> = agents
            .iter()
            .map(|a| {
                json!({
                    "id": a.id,
                    "userId": a.user_id,
                    "firstName": a.first_name,
                    "lastName": a.last_name,
                    "emailId": format!("{}@example.com", a.first_name.to_lowercase()),
                    "status": "ACTIVE",
                    "onlineStatusType": a.availability.as_str(),
                    "maxChatSupport": a.max_chats,
                    "queues": a.queue_ids.iter().filter_map(|id| self.queues.iter().find(|q| &q.id == id)).map(|q| json!({"id": q.id, "name": q.name})).collect::<Vec<_>>(),
                    "skills": a.skills.iter().map(|s| json!({"name": s})).collect::<Vec<_>>(),
                    "role": "Agent",
                })
            })
            .collect();
        json!({"results": results, "skip": skip, "limit": PAGE_SIZE, "hasMore": has_more, "totalPages": self.agents.len().div_ceil(PAGE_SIZE), "totalResults": self.agents.len()})
    }

    /// The open conversations an agent holds.
    pub fn chats_of(&self, agent: &SimAgent) -> u64 {
        self.conversations
            .iter()
            .filter(|c| c.is_open() && c.agent_user_id.as_deref() == Some(agent.user_id.as_str()))
            .count() as u64
    }

    /// Check Agent Availability for the agents the body names (`agentIds`, `queueIds`; every agent
    /// when it names none), each in its presence group with its channel capacity.
    pub fn availability(&self, agent_ids: &[String], queue_ids: &[String]) -> Value {
        let mut groups = serde_json::Map::new();
        for state in ["AVAILABLE", "BUSY", "OFFLINE", "AWAY"] {
            groups.insert(state.into(), Value::Array(Vec::new()));
        }
        for a in &self.agents {
            let asked = (agent_ids.is_empty() || agent_ids.contains(&a.id))
                && (queue_ids.is_empty() || a.queue_ids.iter().any(|q| queue_ids.contains(q)));
            if !asked {
                continue;
            }
            let used = self.chats_of(a);
            let chat = |total: u64| json!({"isEnabled": true, "totalCapacity": total, "usedCapacity": used.min(total), "availableCapacity": total.saturating_sub(used)});
            let idle = |total: u64| json!({"isEnabled": true, "totalCapacity": total, "usedCapacity": 0, "availableCapacity": total});
            let member = json!({
                "_id": a.id, "userId": a.user_id, "firstName": a.first_name, "lastName": a.last_name,
                "emailId": format!("{}@example.com", a.first_name.to_lowercase()),
                "isDigitalEnabled": true,
                "channelCapacity": {
                    "liveChat": chat(a.max_chats),
                    "messaging": chat(a.max_chats),
                    "email": idle(3),
                    "voice": idle(1),
                    "voiceMail": idle(5),
                },
            });
            if let Value::Array(list) = groups
                .entry(a.availability.as_str().to_string())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                list.push(member);
            }
        }
        Value::Object(groups)
    }

    /// Get a List of Queues, a page at a time. Like the documented sample, every page says
    /// `hasMore: true`; `totalPages` is right.
    pub fn queues_page(&self, page: usize) -> Value {
        let (queues, _) = Self::page(&self.queues, page.saturating_sub(1) * PAGE_SIZE, PAGE_SIZE);
        let results: Vec<Value> = queues
            .iter()
            .map(|q| json!({"id": q.id, "name": q.name, "isActive": q.active, "isDefault": false}))
            .collect();
        json!({"results": results, "page": page, "limit": PAGE_SIZE, "hasMore": true, "totalPages": self.queues.len().div_ceil(PAGE_SIZE), "totalResults": self.queues.len()})
    }

    /// The demo's incident, so that every alert and warning shows in its first minute: Chen Wei
    /// went OFFLINE holding his chats, Esra Kaya is AWAY holding two, Dana Whitfield is BUSY (so
    /// nobody AVAILABLE serves Technical support or Retention), and Retention is closed now by its
    /// Hours of Operation (open one day, the day after tomorrow). Billing and Payments stay healthy.
    pub fn incident(mut self) -> Center {
        let mut set = |first: &str, availability: Availability| {
            self.agents
                .iter_mut()
                .find(|a| a.first_name == first)
                .map(|a| {
                    a.availability = availability;
                    a.user_id.clone()
                })
        };
        set("Chen", Availability::Offline);
        set("Dana", Availability::Busy);
        let esra = set("Esra", Availability::Away);
        if let Some(retention) = self.queues.iter_mut().find(|q| q.name == "Retention") {
            let opens = jiff::Timestamp::now()
                .to_zoned(jiff::tz::TimeZone::UTC)
                .weekday()
                .wrapping_add(2);
            let day =
                ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][opens.to_monday_zero_offset() as usize];
            retention.hours = json!({
                "name": "Retention desk",
                "standardDays": {"frequency": "WEEKLY", "days": [
                    {"start": "8:00 AM", "end": "6:00 PM", "day": day}
                ]},
                "specialDays": {"frequency": "YEARLY", "days": []},
                "status": "ACTIVE",
                "timezone": "UTC",
                "isHoursOfOperationValid": true
            });
            let retention = retention.id.clone();
            for c in self
                .conversations
                .iter_mut()
                .filter(|c| c.is_open() && c.queue_id == retention && c.agent_user_id.is_none())
                .take(2)
            {
                c.agent_user_id = esra.clone();
                c.status = "ACTIVE".into();
            }
        }
        self
    }

    /// Conversation History's answer for one session: a few messages between the customer and the
    /// bot before the hand-off, newest first, as Kore's sample shows them (the words are the
    /// stand-in's own). A session the center does not know has no messages.
    pub fn messages(&self, stream_id: &str, session: &str, now: Instant) -> Value {
        let Some(c) = self.conversations.iter().find(|c| c.session == session) else {
            return json!({"total": 0, "moreAvailable": false, "messages": []});
        };
        let queue = self
            .queues
            .iter()
            .find(|q| q.id == c.queue_id)
            .map_or("support", |q| q.name.as_str());
        let lines = [
            ("incoming", format!("Hi, I need help with {queue}.")),
            (
                "outgoing",
                "I can help with that. Could you tell me a little more?".to_string(),
            ),
            (
                "incoming",
                "It's been two days and nobody has answered my ticket.".to_string(),
            ),
            (
                "outgoing",
                format!("Sorry about that. Connecting you to someone in {queue}."),
            ),
        ];
        let started = std::time::SystemTime::now()
            .checked_sub(now.saturating_duration_since(c.started))
            .unwrap_or(std::time::UNIX_EPOCH);
        let messages: Vec<Value> = lines
            .iter()
            .enumerate()
            .rev()
            .map(|(i, (kind, text))| {
                let at = started + Duration::from_secs(5 * i as u64);
                let ms = at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                json!({
                    "_id": format!("ms-{session}-{i}"),
                    "botId": stream_id,
                    "type": kind,
                    "status": if *kind == "incoming" { "received" } else { "delivered" },
                    "createdOn": humantime::format_rfc3339_millis(at).to_string(),
                    "timestampValue": ms,
                    "sessionId": session,
                    "chnl": c.source,
                    "lang": "en",
                    "components": [{"_id": format!("cp-{i}"), "cT": "text", "data": {"text": text}, "thumbnails": []}],
                    "channels": [{"type": c.source}]
                })
            })
            .collect();
        json!({"total": messages.len(), "moreAvailable": false, "messages": messages})
    }

    /// Queue Size for one queue, counted from the conversations in it.
    pub fn queue_size(&self, queue_id: &str, now: Instant) -> Option<Value> {
        let queue = self.queues.iter().find(|q| q.id == queue_id)?;
        let here: Vec<&SimConversation> = self
            .conversations
            .iter()
            .filter(|c| c.queue_id == queue_id && c.is_open())
            .collect();
        let waits: Vec<u64> = here
            .iter()
            .filter(|c| c.agent_user_id.is_none())
            .map(|c| now.saturating_duration_since(c.started).as_millis() as u64)
            .collect();
        let count = |state: Availability| {
            self.agents
                .iter()
                .filter(|a| a.availability == state && a.queue_ids.iter().any(|q| q == queue_id))
                .count()
        };
        Some(json!([{
            "queueId": queue.id,
            "queueName": queue.name,
            "skills": [],
            "waiting": waits.len(),
            "engaged": here.len() - waits.len(),
            "dropOff": 0,
            "agentStatus": {
                "available": count(Availability::Available),
                "offline": count(Availability::Offline),
                "busy": count(Availability::Busy),
                "away": count(Availability::Away),
            },
            "noOfAgents": self.agents.iter().filter(|a| a.queue_ids.iter().any(|q| q == queue_id)).count(),
            "queueSummary": {
                "avgWait": if waits.is_empty() { 0 } else { waits.iter().sum::<u64>() / waits.len() as u64 },
                "maxWait": waits.iter().max().copied().unwrap_or(0),
                "ASA": 0,
            },
        }]))
    }
}

/// `3m12s` as the demo file writes waits.
fn parse_clock(text: &str) -> Option<Duration> {
    let (m, s) = text.trim_end_matches('s').split_once('m')?;
    Some(Duration::from_secs(
        m.parse::<u64>().ok()? * 60 + s.parse::<u64>().ok()?,
    ))
}

/// A conversation's priority, sentiment, strength and intent, made up from its session id.
fn made_up_triage(session: &str) -> (u64, &'static str, u64, &'static str) {
    let h = session
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    const TONES: [&str; 5] = ["fear", "angry", "sad", "joy", "neutral"];
    const INTENTS: [&str; 4] = ["TalkToAgent", "BillingDispute", "CancelOrder", "TechIssue"];
    (
        h % 10 + 1,
        TONES[(h / 10 % 5) as usize],
        h / 50 % 3 + 1,
        INTENTS[(h / 150 % 4) as usize],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_moves_the_conversation_and_the_counts() {
        let now = Instant::now();
        let mut center = Center::demo(now);
        let session = center.conversations[0].session.clone();
        let (from, to) = (center.queues[0].id.clone(), center.queues[1].id.clone());
        let waiting = |c: &Center, q: &str| {
            c.queue_size(q, now).unwrap()[0]["waiting"]
                .as_u64()
                .unwrap()
        };
        let (before_from, before_to) = (waiting(&center, &from), waiting(&center, &to));
        center.transfer(&session, Some(&to), None).unwrap();
        assert_eq!(waiting(&center, &from), before_from - 1);
        assert_eq!(waiting(&center, &to), before_to + 1);
        let agent = center.agents[0].clone();
        center.transfer(&session, None, Some(&agent.id)).unwrap();
        assert_eq!(
            center.conversations[0].agent_user_id.as_deref(),
            Some(agent.user_id.as_str())
        );
        assert_eq!(center.transfer("nope", Some(&to), None).unwrap_err().0, 404);
    }

    #[test]
    fn pages_say_when_there_is_more() {
        let center = Center::demo(Instant::now());
        let first = center.conversations_page(&[], 0, 10, Instant::now());
        assert_eq!(first["results"].as_array().unwrap().len(), 10);
        assert_eq!(first["hasMore"], true);
        let last = center.conversations_page(&[], 40, 10, Instant::now());
        assert_eq!(last["hasMore"], false);
        let closed = center.conversations_page(&["closed".into()], 0, 10, Instant::now());
        assert_eq!(closed["totalResults"], 3);
    }

    #[test]
    fn churn_brings_conversations_and_ends_them() {
        let now = Instant::now();
        let mut center = Center::demo(now);
        let before: Vec<String> = center
            .conversations
            .iter()
            .map(|c| c.session.clone())
            .collect();
        for _ in 0..5 {
            center.churn(now);
        }
        let after: Vec<String> = center
            .conversations
            .iter()
            .map(|c| c.session.clone())
            .collect();
        assert!(
            after.iter().any(|s| !before.contains(s)),
            "new ones arrived"
        );
        // Five arrived; from the fourth on, each step one of the arrivals ended.
        assert_eq!(after.len(), before.len() + 3);
        assert!(
            before.iter().all(|s| after.contains(s)),
            "the sample conversations stay"
        );
        assert!(
            after
                .iter()
                .all(|s| crate::ids::IdKind::Session.looks_valid(s)),
            "{after:?}"
        );
    }
}
