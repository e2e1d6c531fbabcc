//! The platform's public API as every call of a run sees it: one HTTP client, the endpoint's ids and
//! the credential. Each request gets the `auth` token (fresh with `enforce_jti`) and the `accountid`
//! header here, so no call can forget either, and the token is marked sensitive so it stays out of
//! any debug output.

use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::{Method, RequestBuilder};

use crate::request::Endpoint;
use crate::token::TokenMaker;

pub struct Api {
    http: reqwest::Client,
    endpoint: Endpoint,
    tokens: TokenMaker,
    timeout: Duration,
    /// Where read-only mode was turned on (`flag --read-only`), when it was: no assignment is built.
    read_only: Option<String>,
    /// The longest a read waits to be tried again after a rate-limit answer (`max_retry_wait_secs`).
    max_retry_wait: Duration,
    /// The `IId` header Hours of Operation takes ("the appId or streamId"): the stream id unless
    /// the profile's `iid` says otherwise.
    iid: Option<String>,
}

/// What a read-only process says when it is asked to move a conversation.
pub fn read_only_refusal(origin: &str) -> String {
    format!("read-only ({origin}): this process cannot send an assignment or a priority change")
}

impl Api {
    pub fn new(
        endpoint: Endpoint,
        tokens: TokenMaker,
        timeout: Duration,
        concurrency: usize,
    ) -> Result<Api, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirected request would carry the token to wherever it points: never follow one.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(concurrency)
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")));
        if is_loopback_url(&endpoint.host) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Api {
            http,
            endpoint,
            tokens,
            timeout,
            read_only: None,
            max_retry_wait: Duration::from_secs(crate::config::DEFAULT_MAX_RETRY_WAIT_SECS),
            iid: None,
        })
    }

    /// This API, sending `iid` as Hours of Operation's `IId` header instead of the stream id.
    pub fn iid(mut self, iid: Option<String>) -> Api {
        self.iid = iid;
        self
    }

    /// `{host}{path}`, for the APIs outside the stream's path (Hours of Operation).
    pub fn host_url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint.host.trim_end_matches('/'))
    }

    /// This API, with reads refused for the rate limit tried again for up to `wait` in all.
    pub fn max_retry_wait(mut self, wait: Duration) -> Api {
        self.max_retry_wait = wait;
        self
    }

    /// How long, in all, a read refused for the rate limit is tried again for.
    pub fn retry_wait(&self) -> Duration {
        self.max_retry_wait
    }

    /// This API will build no request that changes the contact center (an assignment, a queue's
    /// priority); `origin` says where read-only mode was turned on (`flag --read-only`).
    pub fn read_only(mut self, origin: Option<String>) -> Api {
        self.read_only = origin;
        self
    }

    /// Why this process cannot send an assignment, when it is read-only.
    pub fn read_only_reason(&self) -> Option<String> {
        self.read_only.as_deref().map(read_only_refusal)
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `{host}/agentassist/api/v1/public/{streamId}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/agentassist/api/v1/public/{}{path}",
            self.endpoint.host.trim_end_matches('/'),
            self.endpoint.stream_id
        )
    }

    /// A request to `call` with the `auth` and `accountid` headers, or why it cannot be made (nothing
    /// is sent). Read-only mode is enforced here, where every request is built, and not only in the
    /// fronts: a read-only process has no way to build an assignment.
    pub fn request(
        &self,
        call: KoreApi,
        method: Method,
        url: &str,
    ) -> Result<RequestBuilder, String> {
        if call.changes_the_center()
            && let Some(reason) = self.read_only_reason()
        {
            return Err(reason);
        }
        let token = self.tokens.next().map_err(|e| e.to_string())?;
        let mut auth = HeaderValue::from_str(token.expose())
            .map_err(|_| "the token holds characters an HTTP header cannot carry".to_string())?;
        auth.set_sensitive(true);
        // Get Conversation Details marks `Accept: application/json` required; every call sends it.
        let request = self
            .http
            .request(method, url)
            .header("auth", auth)
            .header("accountid", &self.endpoint.account_id)
            .header(reqwest::header::ACCEPT, "application/json");
        Ok(match call {
            // Kore's pages send the stream id as `iId` with these two.
            KoreApi::HoursOfOperation | KoreApi::UpdateQueuePriority => request.header(
                "iid",
                self.iid.as_deref().unwrap_or(&self.endpoint.stream_id),
            ),
            _ => request,
        })
    }
}

/// Whether a URL points at this machine (127.0.0.0/8, ::1 or localhost).
pub fn is_loopback_url(url: &str) -> bool {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// What went wrong with a request, cause first and short: `connection refused 127.0.0.1:8080`,
/// `DNS: no such host notaurl`, `timeout after 15 s`. Anything else is the whole chain.
pub fn short_cause(e: &reqwest::Error, timeout: std::time::Duration) -> String {
    let chain = error_chain(e);
    let lower = chain.to_ascii_lowercase();
    let place = e.url().map(|u| {
        let host = u.host_str().unwrap_or("?");
        match u.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    });
    let host = e.url().and_then(|u| u.host_str()).unwrap_or("?");
    if e.is_timeout() {
        format!("timeout after {} s", timeout.as_secs())
    } else if lower.contains("connection refused") {
        format!("connection refused {}", place.unwrap_or_default())
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        format!("DNS: no such host {host}")
    } else if e.is_connect() {
        format!("could not connect to {}", place.unwrap_or_default())
    } else {
        chain
    }
}

/// An error with its causes, which is where reqwest keeps "connection refused".
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// A JWT app's API scope (Kore's API list names one per API); an app without it is refused there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Routing,
    Configuration,
    SmartAssistAnalytics,
    /// An App Builder scope, not a Contact Center one: Conversation History's.
    ChatHistory,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::Routing,
        Scope::Configuration,
        Scope::SmartAssistAnalytics,
        Scope::ChatHistory,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Scope::Routing => "Routing",
            Scope::Configuration => "Configuration",
            Scope::SmartAssistAnalytics => "SmartAssist Analytics",
            Scope::ChatHistory => "Chat History",
        }
    }

    /// Reads a scope's name loosely: `routing`, `SmartAssist Analytics`, `smartassist-analytics`.
    pub fn parse(text: &str) -> Option<Scope> {
        let squashed: String = text
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        Scope::ALL.into_iter().find(|s| {
            s.name()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .eq_ignore_ascii_case(&squashed)
        })
    }
}

/// The platform APIs switchboard calls, with the scope each needs (Kore's API list page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KoreApi {
    AssignConversation,
    ListOfConversations,
    ListAllAgents,
    CheckAgentAvailability,
    GetListOfQueues,
    QueueSize,
    GetConversationDetails,
    HoursOfOperation,
    UpdateQueuePriority,
    /// An automation API, under its own rate limits: read through a budget of its own.
    ConversationHistory,
}

impl KoreApi {
    pub const ALL: [KoreApi; 10] = [
        KoreApi::AssignConversation,
        KoreApi::ListOfConversations,
        KoreApi::ListAllAgents,
        KoreApi::CheckAgentAvailability,
        KoreApi::GetListOfQueues,
        KoreApi::QueueSize,
        KoreApi::GetConversationDetails,
        KoreApi::HoursOfOperation,
        KoreApi::UpdateQueuePriority,
        KoreApi::ConversationHistory,
    ];

    /// The API's name as Kore's pages title it.
    pub const fn name(self) -> &'static str {
        match self {
            KoreApi::AssignConversation => "assign-conversation",
            KoreApi::ListOfConversations => "List of Conversations",
            KoreApi::ListAllAgents => "List All Agents",
            KoreApi::CheckAgentAvailability => "Check Agent Availability",
            KoreApi::GetListOfQueues => "Get a List of Queues",
            KoreApi::QueueSize => "Queue Size",
            KoreApi::GetConversationDetails => "Get Conversation Details",
            KoreApi::HoursOfOperation => "Hours of Operation",
            KoreApi::UpdateQueuePriority => "Update Queue Priority",
            KoreApi::ConversationHistory => "Conversation History",
        }
    }

    /// Whether a call changes what the contact center does (read-only mode refuses those).
    pub const fn changes_the_center(self) -> bool {
        matches!(
            self,
            KoreApi::AssignConversation | KoreApi::UpdateQueuePriority
        )
    }

    pub const fn scope(self) -> Scope {
        match self {
            KoreApi::AssignConversation => Scope::Routing,
            KoreApi::CheckAgentAvailability
            | KoreApi::GetListOfQueues
            | KoreApi::HoursOfOperation
            | KoreApi::UpdateQueuePriority => Scope::Configuration,
            KoreApi::ListOfConversations
            | KoreApi::ListAllAgents
            | KoreApi::QueueSize
            | KoreApi::GetConversationDetails => Scope::SmartAssistAnalytics,
            KoreApi::ConversationHistory => Scope::ChatHistory,
        }
    }
}
