//! `switchboard check`: each platform API switchboard uses, called once with the active profile
//! through the pacer, and what came of it — so a missing scope shows before an incident, not in one.
//!
//! Nothing can move: assign-conversation is probed with a session id no session has (24 zeros) and
//! a queue id of zeros, so the platform can only refuse the id (404, 400 or 422: the Routing scope
//! works) or refuse the app (401/403: it is missing). Get Conversation Details is probed the same way.

use std::fmt;

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{KoreApi, Scope};
use crate::live::{LiveClient, LiveError, parse_agents, parse_queues, paths};
use crate::request::{Target, body};

/// The session id no conversation can have.
pub const PROBE_SESSION: &str = "000000000000000000000000";
/// The queue id the assign probe names: a well-formed id no queue has.
pub const PROBE_QUEUE: &str = "qu-0000000-0000-0000-0000-000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// 401 or 403: the JWT app lacks the API's scope (or the credential is refused outright; the
    /// server's words tell which).
    ScopeMissing,
    /// No answer: the host could not be reached.
    Unreachable,
    /// Another answer: the server's words say what.
    Error,
    /// Not called (read-only mode never calls assign).
    Skipped,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::ScopeMissing => "scope missing",
            Verdict::Unreachable => "unreachable",
            Verdict::Error => "error",
            Verdict::Skipped => "skipped",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub api: KoreApi,
    pub verdict: Verdict,
    pub http_status: Option<u16>,
    /// The server's words, or what happened.
    pub detail: String,
}

impl Checked {
    pub fn scope(&self) -> Scope {
        self.api.scope()
    }
}

/// Calls each API once, in Kore's API-list order, through the client's pacer.
/// Conversation History goes through `history`, the automation APIs' own budget. Update Queue
/// Priority is not called: no call can probe it without changing a queue.
pub async fn check_all(
    client: &LiveClient,
    history: &LiveClient,
    org_id: &str,
    callback_url: &str,
) -> Vec<Checked> {
    let mut calls = 0;
    let mut rows = Vec::new();
    let assign_body: Value = serde_json::from_slice(&body(
        org_id,
        PROBE_SESSION,
        &Target::queue(PROBE_QUEUE),
        callback_url,
    ))
    .expect("the assign body is JSON");

    // A read-only process builds no assignment, not even the probe that cannot move anything.
    match client.api().read_only_reason() {
        Some(reason) => rows.push(Checked {
            api: KoreApi::AssignConversation,
            verdict: Verdict::Skipped,
            http_status: None,
            detail: format!("not called: {reason}"),
        }),
        None => {
            let r = client
                .call(
                    KoreApi::AssignConversation,
                    Method::POST,
                    "/assign-conversation",
                    Some(assign_body),
                    &mut calls,
                )
                .await;
            rows.push(judge(KoreApi::AssignConversation, r, true));
        }
    }

    let r = client
        .call(
            KoreApi::ListOfConversations,
            Method::GET,
            &paths::conversations(&["ACTIVE"], 0),
            None,
            &mut calls,
        )
        .await;
    rows.push(judge(KoreApi::ListOfConversations, r, false));

    let r = client
        .call(
            KoreApi::ListAllAgents,
            Method::GET,
            &paths::agents(org_id, 1),
            None,
            &mut calls,
        )
        .await;
    let agent = r
        .as_ref()
        .ok()
        .and_then(|b| parse_agents(b).ok())
        .and_then(|page| page.results.into_iter().next())
        .map(|a| a.id);
    rows.push(judge(KoreApi::ListAllAgents, r, false));

    let r = client
        .call(
            KoreApi::CheckAgentAvailability,
            Method::POST,
            paths::AVAILABILITY,
            Some(json!({ "agentIds": agent.into_iter().collect::<Vec<_>>() })),
            &mut calls,
        )
        .await;
    rows.push(judge(KoreApi::CheckAgentAvailability, r, false));

    let r = client
        .call(
            KoreApi::GetListOfQueues,
            Method::GET,
            &paths::queues(1),
            None,
            &mut calls,
        )
        .await;
    let queue = r
        .as_ref()
        .ok()
        .and_then(|b| parse_queues(b).ok())
        .and_then(|page| page.results.into_iter().next())
        .map(|q| q.id);
    rows.push(judge(KoreApi::GetListOfQueues, r, false));

    // A real queue when the list gave one; else a made-up one, where not found proves the scope.
    let (queue, made_up) = match queue {
        Some(q) => (q, false),
        None => (PROBE_QUEUE.to_string(), true),
    };
    let r = client
        .call(
            KoreApi::QueueSize,
            Method::POST,
            &paths::queue_size(&queue),
            Some(json!({})),
            &mut calls,
        )
        .await;
    rows.push(judge(KoreApi::QueueSize, r, made_up));

    let r = client.hours_answer(&queue, &mut calls).await;
    rows.push(judge(KoreApi::HoursOfOperation, r, made_up));

    let r = client
        .call(
            KoreApi::GetConversationDetails,
            Method::GET,
            &paths::conversation_details(PROBE_SESSION),
            None,
            &mut calls,
        )
        .await;
    rows.push(judge(KoreApi::GetConversationDetails, r, true));

    rows.push(Checked {
        api: KoreApi::UpdateQueuePriority,
        verdict: Verdict::Skipped,
        http_status: None,
        detail: "not called: it would change a queue; its scope is the one Check Agent Availability shows".into(),
    });

    // The session no conversation has: an empty answer, or not found, proves the scope.
    let r = history.messages_answer(PROBE_SESSION, &mut calls).await;
    rows.push(judge(KoreApi::ConversationHistory, r, true));
    rows
}

/// What one answer says of the API and its scope.
pub fn judge(api: KoreApi, result: Result<Vec<u8>, LiveError>, not_found_is_ok: bool) -> Checked {
    let (verdict, http_status, detail) = match result {
        Ok(_) => (Verdict::Ok, Some(200), String::new()),
        Err(e) => match e.status {
            Some(s @ (401 | 403)) => (Verdict::ScopeMissing, Some(s), e.message),
            // A made-up id refused for what it is — not found, a bad request, unprocessable — got
            // past the scope check; only 401 and 403 say the scope is missing. Kore's rate-limit
            // words on a 400 say nothing of the scope.
            Some(s @ (400 | 404 | 422))
                if not_found_is_ok && !e.message.to_ascii_lowercase().contains("rate limit") =>
            {
                (
                    Verdict::Ok,
                    Some(s),
                    format!("refused, as a made-up id must be: {}", e.message),
                )
            }
            Some(s) => (Verdict::Error, Some(s), e.message),
            None => (Verdict::Unreachable, None, e.message),
        },
    };
    Checked {
        api,
        verdict,
        http_status,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: Option<u16>) -> Result<Vec<u8>, LiveError> {
        Err(LiveError {
            api: "x",
            status,
            message: "words".into(),
            chain: None,
        })
    }

    #[test]
    fn answers_are_judged_by_status() {
        let api = KoreApi::AssignConversation;
        assert_eq!(judge(api, Ok(vec![]), true).verdict, Verdict::Ok);
        assert_eq!(judge(api, error(Some(404)), true).verdict, Verdict::Ok);
        assert_eq!(judge(api, error(Some(404)), false).verdict, Verdict::Error);
        for status in [400, 422] {
            assert_eq!(
                judge(api, error(Some(status)), true).verdict,
                Verdict::Ok,
                "{status}: the made-up id was refused past the scope check"
            );
        }
        let limited = Err(LiveError {
            api: "x",
            status: Some(400),
            message: "Rate limit for this API has been reached".into(),
            chain: None,
        });
        assert_eq!(judge(api, limited, true).verdict, Verdict::Error);
        assert_eq!(
            judge(api, error(Some(401)), true).verdict,
            Verdict::ScopeMissing
        );
        assert_eq!(
            judge(api, error(Some(403)), true).verdict,
            Verdict::ScopeMissing
        );
        assert_eq!(judge(api, error(None), true).verdict, Verdict::Unreachable);
        assert_eq!(judge(api, error(Some(500)), true).detail, "words");
    }
}
