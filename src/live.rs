//! Live data (kore-api.md §5, §9): the open conversations (every status but CLOSED and TERMINATED),
//! the agents with their availability and capacity, and the queues with their load, read from Kore's
//! public APIs through the account's call budget, behind every assignment (`Priority::Refresh`).
//!
//! Kore's samples vary from page to page (a field that is a string in one is null or a number in
//! another), so every field is read leniently: unknown fields are ignored, a missing or odd one is
//! blank, and only a response that is not the documented JSON at all is an error.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Api, KoreApi, error_chain, short_cause};
use crate::outcome::{says_rate_limit, server_message};
use crate::pacer::{Pacer, Priority};
use crate::triage::{Sentiment, Triage};

/// A conversation as the sessions pane shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversation {
    pub session: String,
    /// The `c-` conversation id.
    pub conversation_id: Option<String>,
    pub status: Option<String>,
    /// The channel (`source`).
    pub source: Option<String>,
    pub queue_id: Option<String>,
    pub queue_name: Option<String>,
    /// The agent it is with, as conversations name agents: a `u-` user id, never an `aId`.
    pub agent_user_id: Option<String>,
    pub agent_name: Option<String>,
    pub wait: Option<Duration>,
    /// What a supervisor triages by: priority, sentiment, intent, language.
    pub triage: Triage,
}

/// An agent's presence. Kore documents Available, Away, Busy and Offline as the groups of Check Agent
/// Availability; the supervisor guide names more (System Busy, System Away, Login Prep) without their
/// wire spelling, so any other value is kept as it came. Only AVAILABLE takes new conversations.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Availability {
    Available,
    Busy,
    Away,
    Offline,
    /// A value Kore sends that is not one of the four documented groups, as it came.
    Other(String),
}

impl Availability {
    pub fn as_str(&self) -> &str {
        match self {
            Availability::Available => "AVAILABLE",
            Availability::Busy => "BUSY",
            Availability::Away => "AWAY",
            Availability::Offline => "OFFLINE",
            Availability::Other(word) => word,
        }
    }

    /// Reads a presence word, comparing the documented ones case-insensitively; blank is none.
    pub fn parse(word: &str) -> Option<Availability> {
        let word = word.trim();
        if word.is_empty() {
            return None;
        }
        Some(match word.to_ascii_uppercase().as_str() {
            "AVAILABLE" => Availability::Available,
            "BUSY" => Availability::Busy,
            "AWAY" => Availability::Away,
            "OFFLINE" => Availability::Offline,
            _ => Availability::Other(word.to_string()),
        })
    }

    /// Whether the agent takes new conversations: AVAILABLE, and nothing else.
    pub fn is_available(&self) -> bool {
        *self == Availability::Available
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One channel kind's capacity, from Check Agent Availability's `channelCapacity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Capacity {
    pub enabled: Option<bool>,
    pub total: Option<u64>,
    pub used: Option<u64>,
    pub available: Option<u64>,
}

/// The channel kinds Kore reports capacity for, in its spelling.
pub const CAPACITY_KINDS: [&str; 5] = ["liveChat", "messaging", "email", "voice", "voiceMail"];

/// What Check Agent Availability says of one agent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgentPresence {
    pub availability: Option<Availability>,
    /// The `u-` user id conversations name the agent by.
    pub user_id: Option<String>,
    /// Per channel kind (`liveChat`, `messaging`, ...), when Kore gives it.
    pub capacity: Vec<(String, Capacity)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LiveAgent {
    /// The `a-` agent id: what `aId` takes.
    pub id: String,
    /// The `u-` user id conversations use for the same person.
    pub user_id: Option<String>,
    pub name: String,
    pub availability: Option<Availability>,
    /// How many chats at once (`maxChatSupport`).
    pub max_chats: Option<u64>,
    pub queues: Vec<String>,
    pub skills: Vec<String>,
    /// Per channel kind, from Check Agent Availability's `channelCapacity` when it is there.
    pub capacity: Vec<(String, Capacity)>,
}

impl LiveAgent {
    /// One kind's capacity, when Kore gave it.
    pub fn capacity_of(&self, kind: &str) -> Option<&Capacity> {
        self.capacity
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, c)| c)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveQueue {
    pub id: String,
    pub name: String,
    pub waiting: Option<u64>,
    pub engaged: Option<u64>,
    /// Average and longest wait, as Queue Size reports them (`queueSummary.avgWait`, `maxWait`).
    pub avg_wait: Option<u64>,
    pub max_wait: Option<u64>,
    /// Whether the queue is active (`isActive` in Get a List of Queues): an inactive one is never a
    /// target.
    pub active: Option<bool>,
    /// Its agents by presence (`agentStatus` in Queue Size).
    pub agent_status: Option<AgentCounts>,
    /// How many agents serve it (`noOfAgents`).
    pub agents: Option<u64>,
}

/// A queue's agents by presence, as Queue Size counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AgentCounts {
    #[serde(deserialize_with = "lenient::count")]
    pub available: u64,
    #[serde(deserialize_with = "lenient::count")]
    pub busy: u64,
    #[serde(deserialize_with = "lenient::count")]
    pub away: u64,
    #[serde(deserialize_with = "lenient::count")]
    pub offline: u64,
}

/// Whether a queue can take a move, as the live data shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueHealth {
    /// Inactive: never a target.
    Inactive,
    /// Nobody AVAILABLE serves it now: a warned move, with who does (`1 BUSY, 1 AWAY`).
    NobodyAvailable(String),
    /// Someone AVAILABLE serves it.
    Serving,
    /// The live data does not say.
    Unknown,
}

impl LiveQueue {
    pub fn health(&self) -> QueueHealth {
        if self.active == Some(false) {
            return QueueHealth::Inactive;
        }
        match self.agent_status {
            Some(counts) if counts.available == 0 => {
                let others: Vec<String> = [
                    (counts.busy, "BUSY"),
                    (counts.away, "AWAY"),
                    (counts.offline, "OFFLINE"),
                ]
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, what)| format!("{n} {what}"))
                .collect();
                QueueHealth::NobodyAvailable(if others.is_empty() {
                    "no agents".into()
                } else {
                    others.join(", ")
                })
            }
            Some(_) => QueueHealth::Serving,
            None => QueueHealth::Unknown,
        }
    }

    /// Why a move to this queue is refused (inactive), or what it warns (nobody AVAILABLE).
    pub fn refusal(&self) -> Option<String> {
        (self.health() == QueueHealth::Inactive).then(|| {
            format!(
                "queue {} is not active (isActive false in Get a List of Queues): nothing is moved there",
                self.label()
            )
        })
    }

    pub fn warning(&self) -> Option<String> {
        match self.health() {
            QueueHealth::NobodyAvailable(who) => Some(format!(
                "nobody AVAILABLE serves {}: {who}; the conversations may wait",
                self.label()
            )),
            _ => None,
        }
    }

    fn label(&self) -> String {
        if self.name.trim().is_empty() {
            self.id.clone()
        } else {
            crate::format::one_line(&self.name)
        }
    }
}

/// One refresh's worth of live data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveSnapshot {
    pub conversations: Vec<Conversation>,
    pub agents: Vec<LiveAgent>,
    pub queues: Vec<LiveQueue>,
    /// API calls the refresh took.
    pub calls: usize,
    /// What could not be read while the rest could (availability, a queue's size).
    pub warnings: Vec<String>,
}

impl LiveSnapshot {
    /// The `a-` agent id behind a conversation's `u-` user id.
    pub fn agent_id_for_user(&self, user_id: &str) -> Option<&str> {
        self.agents
            .iter()
            .find(|a| a.user_id.as_deref() == Some(user_id))
            .map(|a| a.id.as_str())
    }

    /// How many open conversations each agent holds, by `u-` user id.
    pub fn chats_by_user(&self) -> HashMap<&str, u64> {
        let mut held: HashMap<&str, u64> = HashMap::new();
        for user in self
            .conversations
            .iter()
            .filter_map(|c| c.agent_user_id.as_deref())
        {
            *held.entry(user).or_default() += 1;
        }
        held
    }

    /// The sessions an agent (by `a-` id) is holding.
    pub fn sessions_with_agent(&self, agent_id: &str) -> Vec<String> {
        let Some(user) = self
            .agents
            .iter()
            .find(|a| a.id == agent_id)
            .and_then(|a| a.user_id.as_deref())
        else {
            return Vec::new();
        };
        self.conversations
            .iter()
            .filter(|c| c.agent_user_id.as_deref() == Some(user))
            .map(|c| c.session.clone())
            .collect()
    }

    /// The sessions waiting in a queue (in it, and with no agent yet).
    pub fn sessions_waiting_in(&self, queue_id: &str) -> Vec<String> {
        self.conversations
            .iter()
            .filter(|c| c.queue_id.as_deref() == Some(queue_id) && c.agent_user_id.is_none())
            .map(|c| c.session.clone())
            .collect()
    }
}

/// A read that failed: which API, and what the server (or the network) said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveError {
    pub api: &'static str,
    pub status: Option<u16>,
    /// The cause, first and short (`connection refused 127.0.0.1:8080`).
    pub message: String,
    /// The whole chain of causes, when `message` is the short form of it.
    pub chain: Option<String>,
}

impl LiveError {
    /// The short form, then the whole chain on the lines after it when there is more to say.
    pub fn with_chain(&self) -> String {
        match &self.chain {
            Some(chain) if *chain != self.message => format!("{self}\n{chain}"),
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{}: HTTP {status}: {}", self.api, self.message),
            None => write!(f, "{}: {}", self.api, self.message),
        }
    }
}

impl std::error::Error for LiveError {}

/// A 2xx answer that is not the documented JSON.
fn unreadable(api: &'static str) -> impl Fn(String) -> LiveError {
    move |message| LiveError {
        api,
        status: None,
        message,
        chain: None,
    }
}

/// How many conversations a page asks for. Kore documents no maximum; a page this size stays small.
pub const CONVERSATIONS_PER_PAGE: usize = 100;

/// Every conversation status Kore documents (List of Conversations' `status`).
pub const ALL_STATUSES: [&str; 6] = ["ACTIVE", "CLOSED", "IDLE", "OPEN", "OVERDUE", "TERMINATED"];
/// The statuses of a conversation that is still open: all but CLOSED and TERMINATED. OVERDUE (the
/// agent stopped answering) and IDLE are exactly what an incident leaves behind.
pub const OPEN_STATUSES: &[&str] = &["ACTIVE", "OPEN", "IDLE", "OVERDUE"];
/// A bound on pages, so a server that always says `hasMore` cannot keep a refresh going forever.
const MAX_PAGES: usize = 1000;

#[derive(Clone)]
pub struct LiveClient {
    api: Arc<Api>,
    pacer: Pacer,
    /// Where its calls stand in the pacer's queue: behind assignments.
    priority: Priority,
}

impl LiveClient {
    /// A client for refresh reads.
    pub fn new(api: Arc<Api>, pacer: Pacer) -> LiveClient {
        LiveClient {
            api,
            pacer,
            priority: Priority::Refresh,
        }
    }

    /// The API its calls go through.
    pub fn api(&self) -> &Arc<Api> {
        &self.api
    }

    /// The same client for the reads that verify a move: ahead of refreshes, behind assignments.
    pub fn for_verification(&self) -> LiveClient {
        LiveClient {
            priority: Priority::Verify,
            ..self.clone()
        }
    }

    /// Reads everything: every page of open conversations and of agents, availability for the agents
    /// shown, every page of queues and each queue's size. The first failure of a required read is
    /// the error.
    pub async fn snapshot(&self) -> Result<LiveSnapshot, LiveError> {
        let mut snapshot = self.plan_snapshot().await?;
        self.read_queue_sizes(&mut snapshot).await;
        Ok(snapshot)
    }

    /// What a plan needs: every open conversation, the agents with their presence and capacity, and
    /// the queues' names (not their sizes: one call a queue that a plan does not use).
    pub async fn plan_snapshot(&self) -> Result<LiveSnapshot, LiveError> {
        let mut snapshot = LiveSnapshot::default();
        snapshot.conversations = self
            .conversations(OPEN_STATUSES, &mut snapshot.calls)
            .await?;
        snapshot.agents = self.agents(&mut snapshot.calls).await?;
        self.read_presence(&mut snapshot).await;
        snapshot.queues = self.queues(&mut snapshot.calls).await?;
        Ok(snapshot)
    }

    /// Check Agent Availability for the snapshot's agents, merged in; a failure is a warning.
    pub async fn read_presence(&self, snapshot: &mut LiveSnapshot) {
        let ids: Vec<String> = snapshot.agents.iter().map(|a| a.id.clone()).collect();
        if ids.is_empty() {
            return;
        }
        match self.availability(&ids, &mut snapshot.calls).await {
            Ok(by_agent) => {
                for agent in &mut snapshot.agents {
                    if let Some(p) = by_agent.get(&agent.id) {
                        agent.availability = p.availability.clone().or(agent.availability.take());
                        agent.capacity = p.capacity.clone();
                    }
                }
            }
            Err(e) => snapshot
                .warnings
                .push(format!("{e}; showing each agent's online status instead")),
        }
    }

    /// Queue Size for each of the snapshot's queues (its path takes one id: one call a queue); a
    /// failure is a warning. Each call waits its turn behind assignments and verifications, and the
    /// pacer keeps refresh calls to their share of the minute, so a refresh never crowds out a move.
    pub async fn read_queue_sizes(&self, snapshot: &mut LiveSnapshot) {
        for queue in &mut snapshot.queues {
            match self.queue_size(&queue.id, &mut snapshot.calls).await {
                Ok(Some(size)) => {
                    queue.waiting = size.waiting;
                    queue.engaged = size.engaged;
                    queue.avg_wait = size.avg_wait;
                    queue.max_wait = size.max_wait;
                    queue.agent_status = size.agent_status;
                    queue.agents = size.agents;
                }
                Ok(None) => {}
                Err(e) => snapshot
                    .warnings
                    .push(format!("{e} (queue {})", queue.name)),
            }
        }
    }

    /// Every page of List of Conversations with these statuses (paged by `skip`). Kore documents
    /// `status` as an array without saying how it is written; it is sent once per value.
    pub async fn conversations(
        &self,
        statuses: &[&str],
        calls: &mut usize,
    ) -> Result<Vec<Conversation>, LiveError> {
        let path = |_, seen| paths::conversations(statuses, seen);
        self.every_page(
            KoreApi::ListOfConversations,
            path,
            parse_conversations,
            |c| c.session.as_str(),
            calls,
        )
        .await
    }

    /// One page of List of Conversations with these statuses, from `skip`.
    pub async fn conversations_page(
        &self,
        statuses: &[&str],
        skip: usize,
        calls: &mut usize,
    ) -> Result<Page<Conversation>, LiveError> {
        let api = KoreApi::ListOfConversations;
        let path = paths::conversations(statuses, skip);
        let body = self.call(api, Method::GET, &path, None, calls).await?;
        parse_conversations(&body).map_err(unreadable(api.name()))
    }

    /// Get Conversation Details for one session.
    pub async fn conversation_details(
        &self,
        session: &str,
        calls: &mut usize,
    ) -> Result<Conversation, LiveError> {
        let api = KoreApi::GetConversationDetails;
        let path = paths::conversation_details(session);
        let body = self.call(api, Method::GET, &path, None, calls).await?;
        parse_conversation_details(session, &body).map_err(unreadable(api.name()))
    }

    /// Every page of List All Agents, with their queues (paged by page number, from 1).
    pub async fn agents(&self, calls: &mut usize) -> Result<Vec<LiveAgent>, LiveError> {
        let org = self.api.endpoint().org_id.clone();
        let path = |page: usize, _| paths::agents(&org, page + 1);
        self.every_page(
            KoreApi::ListAllAgents,
            path,
            parse_agents,
            |a| a.id.as_str(),
            calls,
        )
        .await
    }

    /// Check Agent Availability for these agents (`agentIds`: Kore does not document an empty body
    /// as "everyone"): `a-` id to presence and capacity.
    pub async fn availability(
        &self,
        agent_ids: &[String],
        calls: &mut usize,
    ) -> Result<HashMap<String, AgentPresence>, LiveError> {
        const API: KoreApi = KoreApi::CheckAgentAvailability;
        let body = self
            .call(
                API,
                Method::POST,
                paths::AVAILABILITY,
                Some(json!({ "agentIds": agent_ids })),
                calls,
            )
            .await?;
        parse_availability(&body).map_err(unreadable(API.name()))
    }

    /// Every page of Get a List of Queues (paged by page number, from 1; the page documents no query
    /// parameters, so the reader also stops at `totalPages` or at a page that brings nothing new).
    pub async fn queues(&self, calls: &mut usize) -> Result<Vec<LiveQueue>, LiveError> {
        let path = |page: usize, _| paths::queues(page + 1);
        self.every_page(
            KoreApi::GetListOfQueues,
            path,
            parse_queues,
            |q| q.id.as_str(),
            calls,
        )
        .await
    }

    /// Hours of Operation for one queue: when it is open.
    pub async fn hours(
        &self,
        queue_id: &str,
        calls: &mut usize,
    ) -> Result<crate::hours::Hours, LiveError> {
        let body = self.hours_answer(queue_id, calls).await?;
        crate::hours::parse(&body).map_err(unreadable(KoreApi::HoursOfOperation.name()))
    }

    /// Hours of Operation's answer as it came (`check` judges it whole).
    pub async fn hours_answer(
        &self,
        queue_id: &str,
        calls: &mut usize,
    ) -> Result<Vec<u8>, LiveError> {
        let url = self
            .api
            .host_url(&paths::hours(&self.api.endpoint().org_id, queue_id));
        self.call_at(KoreApi::HoursOfOperation, Method::GET, &url, None, calls)
            .await
    }

    /// The last messages of one session (Conversation History): call it on a client with the
    /// automation APIs' own budget.
    pub async fn messages(
        &self,
        session: &str,
        calls: &mut usize,
    ) -> Result<Vec<crate::history::Message>, LiveError> {
        let bytes = self.messages_answer(session, calls).await?;
        crate::history::parse(&bytes).map_err(unreadable(KoreApi::ConversationHistory.name()))
    }

    /// Conversation History's answer as it came (`check` judges it whole).
    pub async fn messages_answer(
        &self,
        session: &str,
        calls: &mut usize,
    ) -> Result<Vec<u8>, LiveError> {
        let url = self
            .api
            .host_url(&crate::history::path(&self.api.endpoint().stream_id));
        let body = crate::history::body(session);
        self.call_at(
            KoreApi::ConversationHistory,
            Method::POST,
            &url,
            Some(body),
            calls,
        )
        .await
    }

    /// Queue Size for one queue.
    pub async fn queue_size(
        &self,
        queue_id: &str,
        calls: &mut usize,
    ) -> Result<Option<LiveQueue>, LiveError> {
        const API: KoreApi = KoreApi::QueueSize;
        let path = paths::queue_size(queue_id);
        let body = self
            .call(API, Method::POST, &path, Some(json!({})), calls)
            .await?;
        parse_queue_size(&body).map_err(unreadable(API.name()))
    }

    /// Reads a list API page by page. `path` makes the path of the page from its number (from 0) and
    /// how many results came before it. It stops when a page says there is no more, at `totalPages`,
    /// at an empty page, or at a page that brings no id not seen before: a server that keeps saying
    /// `hasMore` (Kore's own queue sample does, with `totalPages: 1`) costs one call more, not a thousand.
    async fn every_page<T>(
        &self,
        api: KoreApi,
        path: impl Fn(usize, usize) -> String,
        parse: fn(&[u8]) -> Result<Page<T>, String>,
        id: fn(&T) -> &str,
        calls: &mut usize,
    ) -> Result<Vec<T>, LiveError> {
        let (mut out, mut seen) = (Vec::new(), 0);
        let mut ids: std::collections::HashSet<String> = std::collections::HashSet::new();
        for page_number in 0..MAX_PAGES {
            let body = self
                .call(api, Method::GET, &path(page_number, seen), None, calls)
                .await?;
            let page = parse(&body).map_err(unreadable(api.name()))?;
            seen += page.count;
            let before = out.len();
            for item in page.results {
                if ids.insert(id(&item).to_string()) {
                    out.push(item);
                }
            }
            let last_page = page
                .total_pages
                .is_some_and(|total| page_number + 1 >= total as usize);
            if !page.has_more || page.count == 0 || out.len() == before || last_page {
                break;
            }
        }
        Ok(out)
    }

    /// One call: a pacer slot at this client's priority, then the request; a non-2xx answer is an
    /// error with the server's own words.
    pub async fn call(
        &self,
        call: KoreApi,
        method: Method,
        path: &str,
        body: Option<Value>,
        calls: &mut usize,
    ) -> Result<Vec<u8>, LiveError> {
        let url = self.api.url(path);
        self.call_at(call, method, &url, body, calls).await
    }

    /// `call`, to a whole URL (the APIs outside the stream's path).
    pub async fn call_at(
        &self,
        call: KoreApi,
        method: Method,
        url: &str,
        body: Option<Value>,
        calls: &mut usize,
    ) -> Result<Vec<u8>, LiveError> {
        let api = call.name();
        let fail = |status, message| LiveError {
            api,
            status,
            message,
            chain: None,
        };
        let broken = |status, e: reqwest::Error| LiveError {
            api,
            status,
            message: short_cause(&e, self.api.timeout()),
            chain: Some(error_chain(&e)),
        };
        // A read refused for the rate limit is tried again, behind the lowered budget, as long as
        // the waits add up to no more than max_retry_wait_secs.
        let started = tokio::time::Instant::now();
        let mut tries = 0u32;
        loop {
            tries += 1;
            // Held until the answer is read: the budget counts the call out a window after its end.
            // A retry waits for its slot only as long as max_retry_wait_secs has left.
            let permit = if tries == 1 {
                self.pacer.acquire(self.priority).await
            } else {
                let left = self.api.retry_wait().saturating_sub(started.elapsed());
                match tokio::time::timeout(left, self.pacer.acquire(self.priority)).await {
                    Ok(permit) => permit,
                    Err(_) => {
                        return Err(fail(
                            Some(429),
                            format!(
                                "refused for the rate limit, and the budget has no room within max_retry_wait_secs ({})",
                                crate::format::duration(self.api.retry_wait())
                            ),
                        ));
                    }
                }
            };
            *calls += 1;
            let mut request = self
                .api
                .request(call, method.clone(), url)
                .map_err(|m| fail(None, m))?;
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|e| broken(None, e))?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(crate::outcome::parse_retry_after);
            // A page of conversations runs to hundreds of kilobytes (Kore's samples are kilobytes
            // each).
            let bytes = response
                .bytes()
                .await
                .map_err(|e| broken(Some(status), e))?;
            drop(permit);
            if (200..300).contains(&status) {
                tracing::debug!(api, status, bytes = bytes.len(), "live read");
                return Ok(bytes.to_vec());
            }
            let message = server_message(&bytes);
            // A read refused for the rate limit (a 429, or Kore's words on any 4xx) slows the
            // budget for every call of the account, assignments included.
            let limited =
                status == 429 || (400..500).contains(&status) && says_rate_limit(&message);
            if !limited {
                return Err(fail(Some(status), message));
            }
            self.pacer.rate_limited();
            let wait = retry_after.unwrap_or(Duration::ZERO);
            let budget = self.api.retry_wait();
            if tries > READ_RETRIES || started.elapsed() + wait > budget {
                return Err(fail(
                    Some(status),
                    format!("{message} (refused for the rate limit {tries} time(s))"),
                ));
            }
            tracing::info!(
                api,
                status,
                ?wait,
                "read refused for the rate limit: trying again"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// How many times a read refused for the rate limit is tried again.
const READ_RETRIES: u32 = 3;

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Where each read API lives under `{host}/agentassist/api/v1/public/{streamId}` (kore-api.md §5):
/// one place for the paths, which `check` calls too.
pub mod paths {
    use super::{CONVERSATIONS_PER_PAGE, urlencode};

    /// List of Conversations: `status` once per value (Kore documents it as an array).
    pub fn conversations(statuses: &[&str], skip: usize) -> String {
        let filter: String = statuses
            .iter()
            .map(|s| format!("status={}&", urlencode(s)))
            .collect();
        format!("/conversations?{filter}skip={skip}&limit={CONVERSATIONS_PER_PAGE}")
    }

    /// List All Agents, pages counted from 1.
    pub fn agents(org_id: &str, page: usize) -> String {
        format!(
            "/organizations/{}/agents?page={page}&includeQueues=true",
            urlencode(org_id)
        )
    }

    pub const AVAILABILITY: &str = "/agents/availability";

    /// Get a List of Queues, pages counted from 1.
    pub fn queues(page: usize) -> String {
        format!("/queues?page={page}")
    }

    /// Hours of Operation, under the host itself (not the stream's path), as Kore's page shows it.
    pub fn hours(org_id: &str, queue_id: &str) -> String {
        format!(
            "/agentassist/api/public/organizations/{}/operationshours/{}",
            urlencode(org_id),
            urlencode(queue_id)
        )
    }

    pub fn queue_size(queue_id: &str) -> String {
        format!("/monitor/queueStatsById/{}", urlencode(queue_id))
    }

    pub fn conversation_details(session: &str) -> String {
        format!("/conversations/sessions/{}", urlencode(session))
    }
}

/// A page of results as Kore's list APIs give them.
pub struct Page<T> {
    pub results: Vec<T>,
    /// How many results the page held, counting any that were unusable and left out.
    pub count: usize,
    pub has_more: bool,
    /// `totalPages`, when the page says.
    pub total_pages: Option<u64>,
}

impl<T> Page<T> {
    fn from_raw<R>(raw: RawPage<R>, convert: impl FnMut(R) -> Option<T>) -> Page<T> {
        let raw_results = raw.results.unwrap_or_default();
        let count = raw_results.len();
        Page {
            results: raw_results.into_iter().filter_map(convert).collect(),
            count,
            has_more: raw.has_more,
            total_pages: raw.total_pages,
        }
    }
}

#[derive(Deserialize)]
struct RawPage<T> {
    // Each result must be an object (its fields are read leniently); null is no results.
    #[serde(default = "none")]
    results: Option<Vec<T>>,
    #[serde(default, rename = "hasMore", deserialize_with = "lenient::boolean")]
    has_more: bool,
    #[serde(default, rename = "totalPages", deserialize_with = "lenient::number")]
    total_pages: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConversation {
    #[serde(rename = "_id", deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(rename = "botSessionId", deserialize_with = "lenient::string")]
    bot_session_id: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    status: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    source: Option<String>,
    #[serde(deserialize_with = "lenient::list")]
    queues: Vec<RawConversationQueue>,
    #[serde(deserialize_with = "lenient::list")]
    participants: Vec<RawParticipant>,
    #[serde(rename = "transferDetails", deserialize_with = "lenient::list")]
    transfers: Vec<RawTransfer>,
    #[serde(rename = "waitTime", deserialize_with = "lenient::number")]
    wait_time: Option<u64>,
    #[serde(deserialize_with = "lenient::string")]
    priority: Option<String>,
    #[serde(rename = "sentimentTone")]
    sentiment_tone: Value,
    #[serde(rename = "keyIntentName", deserialize_with = "lenient::string")]
    key_intent_name: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    language: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawTransfer {
    #[serde(rename = "transferredTo", deserialize_with = "lenient::list")]
    to: Vec<RawTransferTarget>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawTransferTarget {
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    kind: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConversationQueue {
    #[serde(deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    name: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    status: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawParticipant {
    #[serde(rename = "agentId", deserialize_with = "lenient::string")]
    agent_id: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    name: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    status: Option<String>,
    #[serde(rename = "queueId", deserialize_with = "lenient::string")]
    queue_id: Option<String>,
    #[serde(rename = "queueName", deserialize_with = "lenient::string")]
    queue_name: Option<String>,
    #[serde(rename = "endTimeStamp", deserialize_with = "lenient::string")]
    end_time: Option<String>,
    #[serde(rename = "endedChat", deserialize_with = "lenient::boolean")]
    ended_chat: bool,
}

impl RawParticipant {
    /// Still in the chat: Kore's samples keep `"status": "ACTIVE"` on a participant who left (with
    /// `endTimeStamp` or `endedChat: true`), and mark one who stopped answering INACTIVE/OVERDUE
    /// without an end time while they still hold it. So the end, not the status, decides.
    fn still_in_chat(&self) -> bool {
        self.agent_id.as_deref().is_some_and(|a| !a.is_empty())
            && !self.ended_chat
            && self.end_time.as_deref().is_none_or(|t| t.trim().is_empty())
    }
}

fn is_queue(kind: &Option<String>) -> bool {
    kind.as_deref()
        .is_some_and(|k| k.eq_ignore_ascii_case("QUEUE"))
}

fn is_active(status: &Option<String>) -> bool {
    status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("ACTIVE"))
}

impl RawConversation {
    fn into_conversation(self) -> Option<Conversation> {
        let session = self.bot_session_id.clone().filter(|s| !s.is_empty())?;
        Some(self.into_conversation_of(session))
    }

    /// Get Conversation Details names no `botSessionId` (the path did) and, in its sample, no
    /// `queues`: where the conversation is then shows in its participants and its last transfer.
    fn into_conversation_of(self, session: String) -> Conversation {
        // The agent it is with now: the last participant still in the chat. When every agent has
        // left, the conversation is waiting, not held.
        let agent = self.participants.iter().rev().find(|p| p.still_in_chat());
        // The queue it is in now: the last active queue entry, else the last one, else the agent's.
        let queue = self
            .queues
            .iter()
            .rev()
            .find(|q| is_active(&q.status))
            .or(self.queues.last());
        let last_transfer = self
            .transfers
            .iter()
            .rev()
            .find_map(|t| t.to.iter().find(|to| to.id.is_some()));
        let (queue_id, queue_name) = match (queue, agent, last_transfer) {
            (Some(q), _, _) => (q.id.clone(), q.name.clone()),
            (None, Some(p), _) if p.queue_id.is_some() => {
                (p.queue_id.clone(), p.queue_name.clone())
            }
            (None, _, Some(t)) if is_queue(&t.kind) => (t.id.clone(), t.name.clone()),
            (None, _, _) => self
                .participants
                .iter()
                .rev()
                .find(|p| p.queue_id.is_some())
                .map(|p| (p.queue_id.clone(), p.queue_name.clone()))
                .unwrap_or((None, None)),
        };
        Conversation {
            session,
            conversation_id: self.id,
            status: self.status,
            source: self.source,
            queue_id,
            queue_name,
            agent_user_id: agent.and_then(|p| p.agent_id.clone()),
            agent_name: agent.and_then(|p| p.name.clone()),
            wait: self.wait_time.map(Duration::from_millis),
            triage: Triage {
                priority: self.priority.filter(|p| !p.trim().is_empty()),
                sentiment: Sentiment::from_json(&self.sentiment_tone),
                intent: self.key_intent_name.filter(|i| !i.trim().is_empty()),
                language: self.language.filter(|l| !l.trim().is_empty()),
            },
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawAgent {
    #[serde(deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(rename = "userId", deserialize_with = "lenient::string")]
    user_id: Option<String>,
    #[serde(rename = "firstName", deserialize_with = "lenient::string")]
    first_name: Option<String>,
    #[serde(rename = "lastName", deserialize_with = "lenient::string")]
    last_name: Option<String>,
    #[serde(rename = "emailId", deserialize_with = "lenient::string")]
    email: Option<String>,
    #[serde(rename = "onlineStatusType", deserialize_with = "lenient::string")]
    online_status_type: Option<String>,
    #[serde(rename = "maxChatSupport", deserialize_with = "lenient::number")]
    max_chat_support: Option<u64>,
    #[serde(deserialize_with = "lenient::list")]
    queues: Vec<Named>,
    #[serde(deserialize_with = "lenient::list")]
    skills: Vec<Named>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Named {
    #[serde(deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    name: Option<String>,
    /// Queues only.
    #[serde(rename = "isActive", deserialize_with = "lenient::optional_boolean")]
    is_active: Option<bool>,
}

impl RawAgent {
    fn into_agent(self) -> Option<LiveAgent> {
        let id = self.id.filter(|s| !s.is_empty())?;
        let name = [self.first_name, self.last_name]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let name = if name.trim().is_empty() {
            self.email.unwrap_or_default()
        } else {
            name
        };
        Some(LiveAgent {
            id,
            user_id: self.user_id,
            name,
            availability: self
                .online_status_type
                .as_deref()
                .and_then(Availability::parse),
            capacity: Vec::new(),
            max_chats: self.max_chat_support,
            queues: self
                .queues
                .into_iter()
                .filter_map(|q| q.name.or(q.id))
                .collect(),
            skills: self
                .skills
                .into_iter()
                .filter_map(|s| s.name.or(s.id))
                .collect(),
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawAvailable {
    #[serde(rename = "_id", deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(rename = "userId", deserialize_with = "lenient::string")]
    user_id: Option<String>,
    #[serde(rename = "channelCapacity")]
    channel_capacity: Option<HashMap<String, Value>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawCapacity {
    #[serde(rename = "isEnabled", deserialize_with = "lenient::optional_boolean")]
    enabled: Option<bool>,
    #[serde(rename = "totalCapacity", deserialize_with = "lenient::number")]
    total: Option<u64>,
    #[serde(rename = "usedCapacity", deserialize_with = "lenient::number")]
    used: Option<u64>,
    #[serde(rename = "availableCapacity", deserialize_with = "lenient::number")]
    available: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawQueueSize {
    #[serde(rename = "queueId", deserialize_with = "lenient::string")]
    queue_id: Option<String>,
    #[serde(rename = "queueName", deserialize_with = "lenient::string")]
    queue_name: Option<String>,
    #[serde(deserialize_with = "lenient::number")]
    waiting: Option<u64>,
    #[serde(deserialize_with = "lenient::number")]
    engaged: Option<u64>,
    #[serde(rename = "queueSummary")]
    summary: Option<RawQueueSummary>,
    #[serde(rename = "agentStatus")]
    agent_status: Option<AgentCounts>,
    #[serde(rename = "noOfAgents", deserialize_with = "lenient::number")]
    no_of_agents: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawQueueSummary {
    #[serde(rename = "avgWait", deserialize_with = "lenient::number")]
    avg_wait: Option<u64>,
    #[serde(rename = "maxWait", deserialize_with = "lenient::number")]
    max_wait: Option<u64>,
}

fn none<T>() -> Option<T> {
    None
}

fn not_json(e: serde_json::Error) -> String {
    format!("the answer is not the documented JSON ({e})")
}

pub fn parse_conversations(body: &[u8]) -> Result<Page<Conversation>, String> {
    let page: RawPage<RawConversation> = serde_json::from_slice(body).map_err(not_json)?;
    Ok(Page::from_raw(page, RawConversation::into_conversation))
}

/// Get Conversation Details: one conversation, for the session the path named.
pub fn parse_conversation_details(session: &str, body: &[u8]) -> Result<Conversation, String> {
    let raw: RawConversation = serde_json::from_slice(body).map_err(not_json)?;
    Ok(raw.into_conversation_of(session.to_string()))
}

pub fn parse_agents(body: &[u8]) -> Result<Page<LiveAgent>, String> {
    let page: RawPage<RawAgent> = serde_json::from_slice(body).map_err(not_json)?;
    Ok(Page::from_raw(page, RawAgent::into_agent))
}

/// Check Agent Availability: groups named by presence (`AVAILABLE`, `BUSY`, ...; any other group
/// is kept as it is named), each a list of agents with their `channelCapacity` when given.
pub fn parse_availability(body: &[u8]) -> Result<HashMap<String, AgentPresence>, String> {
    let groups: HashMap<String, Value> = serde_json::from_slice(body).map_err(not_json)?;
    let mut out = HashMap::new();
    for (word, list) in groups {
        let Some(availability) = Availability::parse(&word) else {
            continue;
        };
        let agents: Vec<RawAvailable> = match list {
            Value::Array(items) => items
                .into_iter()
                .filter_map(|item| serde_json::from_value(item).ok())
                .collect(),
            _ => continue,
        };
        for agent in agents {
            let Some(id) = agent.id else { continue };
            let mut capacity: Vec<(String, Capacity)> = agent
                .channel_capacity
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(kind, v)| {
                    let raw: RawCapacity = serde_json::from_value(v).ok()?;
                    Some((
                        kind,
                        Capacity {
                            enabled: raw.enabled,
                            total: raw.total,
                            used: raw.used,
                            available: raw.available,
                        },
                    ))
                })
                .collect();
            // Kore's order, then any other kind by name.
            capacity.sort_by_key(|(kind, _)| {
                (
                    CAPACITY_KINDS
                        .iter()
                        .position(|k| k == kind)
                        .unwrap_or(CAPACITY_KINDS.len()),
                    kind.clone(),
                )
            });
            out.insert(
                id,
                AgentPresence {
                    availability: Some(availability.clone()),
                    user_id: agent.user_id,
                    capacity,
                },
            );
        }
    }
    Ok(out)
}

pub fn parse_queues(body: &[u8]) -> Result<Page<LiveQueue>, String> {
    let page: RawPage<Named> = serde_json::from_slice(body).map_err(not_json)?;
    Ok(Page::from_raw(page, |q| {
        let id = q.id.filter(|s| !s.is_empty())?;
        Some(LiveQueue {
            name: q.name.unwrap_or_default(),
            id,
            active: q.is_active,
            ..LiveQueue::default()
        })
    }))
}

/// Queue Size answers a list with one entry for the queue.
pub fn parse_queue_size(body: &[u8]) -> Result<Option<LiveQueue>, String> {
    let list: Vec<RawQueueSize> = serde_json::from_slice(body).map_err(not_json)?;
    Ok(list.into_iter().next().map(|q| {
        let summary = q.summary.unwrap_or_default();
        LiveQueue {
            id: q.queue_id.unwrap_or_default(),
            name: q.queue_name.unwrap_or_default(),
            waiting: q.waiting,
            engaged: q.engaged,
            avg_wait: summary.avg_wait,
            max_wait: summary.max_wait,
            active: None,
            agent_status: q.agent_status,
            agents: q.no_of_agents,
        }
    }))
}

/// Deserializers that take whatever a field holds and keep what makes sense of it.
mod lenient {
    use serde::de::{DeserializeOwned, IgnoredAny};
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// A string, or a number written out; anything else is blank.
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    }

    /// A whole number, from a number or a numeric string; anything else is blank.
    pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_u64()
                .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
    }

    /// A count: a number or a numeric string; anything else is 0.
    pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        Ok(number(d)?.unwrap_or(0))
    }

    /// `true`, or the string "true"; anything else is false.
    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(optional_boolean(d)?.unwrap_or(false))
    }

    pub fn optional_boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => Some(b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        })
    }

    /// A list; items that are not what is expected are dropped, and a non-list is empty.
    pub fn list<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Item<T> {
            Good(T),
            Bad(IgnoredAny),
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Maybe<T> {
            List(Vec<Item<T>>),
            Other(IgnoredAny),
        }
        Ok(match Maybe::<T>::deserialize(d)? {
            Maybe::List(items) => items
                .into_iter()
                .filter_map(|i| match i {
                    Item::Good(t) => Some(t),
                    Item::Bad(_) => None,
                })
                .collect(),
            Maybe::Other(_) => Vec::new(),
        })
    }
}
