//! Moves checked with the server (SPEC §4). Kore documents no callback body, so a `transferred`
//! answer and a callback are the platform's word, not proof: after a move settles, switchboard asks
//! the server where the conversation is now — in the target queue, or with the target agent.
//!
//! - **When:** once the callback came, or a few seconds after the answer, and again a bounded number
//!   of times while it still shows elsewhere, so a transfer still in progress is not called `not moved`.
//! - **How cheaply:** List of Conversations has no session filter, so a batch reads its pages when the
//!   open set fits in fewer pages than there are sessions to check, and Get Conversation Details one
//!   session at a time otherwise. The reads go behind assignments (`Priority::Verify`).
//! - **What it says:** `verified`, `not moved` (with what the server shows instead) or `unverified`
//!   (with why: a missing scope, an unknown agent, an unreadable answer).

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use crate::api::KoreApi;
use crate::audit::AuditLog;
use crate::live::{Conversation, LiveClient, LiveError, OPEN_STATUSES};
use crate::request::{Target, TargetKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verified {
    #[serde(rename = "verified")]
    Verified,
    #[serde(rename = "not moved")]
    NotMoved,
    #[serde(rename = "unverified")]
    Unverified,
}

impl Verified {
    pub fn as_str(self) -> &'static str {
        match self {
            Verified::Verified => "verified",
            Verified::NotMoved => "not moved",
            Verified::Unverified => "unverified",
        }
    }
}

impl fmt::Display for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the server showed of one move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub verified: Verified,
    /// Where the server shows it, or why it could not tell.
    pub detail: String,
    /// The conversation as the server showed it, when it did: where the console puts the row.
    #[serde(skip)]
    pub seen: Option<Box<Conversation>>,
}

impl Verification {
    fn new(verified: Verified, detail: impl Into<String>) -> Verification {
        Verification {
            verified,
            detail: detail.into(),
            seen: None,
        }
    }

    fn of(verified: Verified, detail: impl Into<String>, seen: &Conversation) -> Verification {
        Verification {
            seen: Some(Box::new(seen.clone())),
            ..Verification::new(verified, detail)
        }
    }
}

/// How long after the answer the first look waits when no callback came, how many looks in all,
/// and how far apart.
#[derive(Debug, Clone, Copy)]
pub struct VerifyPolicy {
    pub first_after: Duration,
    pub looks: u32,
    pub between: Duration,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        VerifyPolicy {
            first_after: Duration::from_secs(3),
            looks: 3,
            between: Duration::from_secs(3),
        }
    }
}

/// Pages of List of Conversations a batch reads at most; past that, one call a session.
const MAX_LIST_PAGES: usize = 5;

pub struct Verifier {
    live: LiveClient,
    /// `a-` agent id to the `u-` user id conversations name them by.
    users: Mutex<HashMap<String, String>>,
    pub policy: VerifyPolicy,
}

impl Verifier {
    /// A verifier whose reads wait behind assignments but go before refreshes.
    pub fn new(live: &LiveClient, policy: VerifyPolicy) -> Verifier {
        Verifier {
            live: live.for_verification(),
            users: Mutex::default(),
            policy,
        }
    }

    /// Agents' user ids the caller already knows (the console's live data).
    pub fn know_users<'a>(&self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let mut users = self.users.lock().expect("verifier users");
        for (agent, user) in pairs {
            users.insert(agent.to_string(), user.to_string());
        }
    }

    /// Looks until every move shows where it was sent, or the looks run out; the first look when
    /// the caller says (after the callback, or `first_after` past the answer).
    pub async fn verify_all(&self, moves: &[(String, Target)]) -> Vec<Verification> {
        let mut results: Vec<Option<Verification>> = vec![None; moves.len()];
        for look in 0..self.policy.looks.max(1) {
            if look > 0 {
                tokio::time::sleep(self.policy.between).await;
            }
            let pending: Vec<usize> = (0..moves.len())
                .filter(|&i| {
                    results[i]
                        .as_ref()
                        .is_none_or(|r| r.verified == Verified::NotMoved)
                })
                .collect();
            if pending.is_empty() {
                break;
            }
            let batch: Vec<(String, Target)> = pending.iter().map(|&i| moves[i].clone()).collect();
            for (i, result) in pending.into_iter().zip(self.look(&batch).await) {
                results[i] = Some(result);
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every move was looked at"))
            .collect()
    }

    /// One look at where each session is now.
    pub async fn look(&self, moves: &[(String, Target)]) -> Vec<Verification> {
        let mut calls = 0;
        let users = self.agent_users(moves, &mut calls).await;
        let seen = self.placements(moves, &mut calls).await;
        moves
            .iter()
            .map(|(session, target)| {
                let user = match target.kind {
                    TargetKind::Agent => match users.get(&target.id) {
                        Some(Ok(u)) => Some(u.as_str()),
                        Some(Err(why)) => {
                            return Verification::new(Verified::Unverified, why.clone());
                        }
                        None => None,
                    },
                    TargetKind::Queue => None,
                };
                match seen.get(session) {
                    Some(Ok(c)) => judge(c, target, user),
                    Some(Err(e)) => Verification::new(Verified::Unverified, unreadable(e)),
                    None => Verification::new(
                        Verified::Unverified,
                        "the server did not say where it is",
                    ),
                }
            })
            .collect()
    }

    /// The `u-` id of each target agent: known, or asked of Check Agent Availability in one call.
    async fn agent_users(
        &self,
        moves: &[(String, Target)],
        calls: &mut usize,
    ) -> HashMap<String, Result<String, String>> {
        let mut out = HashMap::new();
        let mut unknown = Vec::new();
        {
            let users = self.users.lock().expect("verifier users");
            for (_, t) in moves.iter().filter(|(_, t)| t.kind == TargetKind::Agent) {
                match users.get(&t.id) {
                    Some(u) => {
                        out.insert(t.id.clone(), Ok(u.clone()));
                    }
                    None if !unknown.contains(&t.id) => unknown.push(t.id.clone()),
                    None => {}
                }
            }
        }
        if unknown.is_empty() {
            return out;
        }
        match self.live.availability(&unknown, calls).await {
            Ok(found) => {
                let mut users = self.users.lock().expect("verifier users");
                for agent in unknown {
                    let user = found.get(&agent).and_then(|p| p.user_id.clone());
                    match user {
                        Some(u) => {
                            users.insert(agent.clone(), u.clone());
                            out.insert(agent, Ok(u));
                        }
                        None => {
                            out.insert(
                                agent,
                                Err("Check Agent Availability does not know the agent's user id"
                                    .into()),
                            );
                        }
                    }
                }
            }
            Err(e) => {
                let why = format!("cannot tell the agent's user id: {}", unreadable(&e));
                for agent in unknown {
                    out.insert(agent, Err(why.clone()));
                }
            }
        }
        out
    }

    /// Where each session is: from List of Conversations' pages when they are fewer than the
    /// sessions, else (and for any the pages do not hold) from Get Conversation Details.
    async fn placements(
        &self,
        moves: &[(String, Target)],
        calls: &mut usize,
    ) -> HashMap<String, Result<Conversation, LiveError>> {
        let mut seen: HashMap<String, Result<Conversation, LiveError>> = HashMap::new();
        let wanted: Vec<&str> = moves.iter().map(|(s, _)| s.as_str()).collect();
        if wanted.len() > 1 {
            self.read_list_pages(&wanted, &mut seen, calls).await;
        }
        for session in wanted {
            if seen.contains_key(session) {
                continue;
            }
            let found = self.live.conversation_details(session, calls).await;
            seen.insert(session.to_string(), found);
        }
        seen
    }

    /// Reads the open conversations' pages while they cost fewer calls than one a session.
    async fn read_list_pages(
        &self,
        wanted: &[&str],
        seen: &mut HashMap<String, Result<Conversation, LiveError>>,
        calls: &mut usize,
    ) {
        let budget = wanted.len().min(MAX_LIST_PAGES);
        let mut skip = 0;
        for page_number in 0..budget {
            let Ok(page) = self
                .live
                .conversations_page(OPEN_STATUSES, skip, calls)
                .await
            else {
                // The pages failed: the details calls say why, one session at a time.
                return;
            };
            if page_number == 0
                && page
                    .total_pages
                    .is_some_and(|total| total as usize > budget)
            {
                // More pages than sessions (or than the cap): keep what this page showed, and ask
                // for the rest one session at a time.
                Self::keep(page.results, wanted, seen);
                return;
            }
            skip += page.count;
            let done = !page.has_more || page.count == 0;
            Self::keep(page.results, wanted, seen);
            if done || wanted.iter().all(|s| seen.contains_key(*s)) {
                return;
            }
        }
    }

    fn keep(
        page: Vec<Conversation>,
        wanted: &[&str],
        seen: &mut HashMap<String, Result<Conversation, LiveError>>,
    ) {
        for c in page {
            if wanted.contains(&c.session.as_str()) {
                seen.insert(c.session.clone(), Ok(c));
            }
        }
    }
}

/// The audit line of one verification.
pub fn record(
    audit: &AuditLog,
    session: &str,
    target: &Target,
    result: &Verification,
) -> std::io::Result<()> {
    audit.record(
        audit.run_of(session).as_deref(),
        "verify",
        &serde_json::json!({
            "botSessionId": session,
            "target": target,
            "verified": result.verified,
            "detail": result.detail,
            // Where the server showed it, by id: what a revert's drift check expects to find.
            "seen": result.seen.as_ref().map(|c| serde_json::json!({
                "queue": c.queue_id,
                "agent_user": c.agent_user_id,
            })),
        }),
    )
}

fn unreadable(e: &LiveError) -> String {
    let scope = KoreApi::ALL
        .into_iter()
        .find(|a| a.name() == e.api)
        .map(|a| a.scope().name())
        .unwrap_or("its");
    match e.status {
        Some(401 | 403) => format!(
            "{} was refused ({}): the app's {scope} scope is missing",
            e.api, e.message
        ),
        _ => e.to_string(),
    }
}

/// Whether the conversation sits where the move sent it. `user` is the target agent's `u-` id.
pub fn judge(c: &Conversation, target: &Target, user: Option<&str>) -> Verification {
    let closed = c
        .status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("CLOSED") || s.eq_ignore_ascii_case("TERMINATED"));
    let here = where_it_is(c);
    let arrived = match target.kind {
        TargetKind::Queue => c.queue_id.as_deref() == Some(target.id.as_str()),
        TargetKind::Agent => user.is_some() && c.agent_user_id.as_deref() == user,
    };
    match (arrived, closed) {
        (true, _) => Verification::of(Verified::Verified, here, c),
        (false, true) => Verification::of(
            Verified::NotMoved,
            format!(
                "the conversation is {} ({here})",
                c.status.as_deref().unwrap_or("closed")
            ),
            c,
        ),
        (false, false) => {
            Verification::of(Verified::NotMoved, format!("the server shows it {here}"), c)
        }
    }
}

fn where_it_is(c: &Conversation) -> String {
    let queue = c
        .queue_name
        .clone()
        .or_else(|| c.queue_id.clone())
        .map(|q| format!("in queue {q}"))
        .unwrap_or_else(|| "in no queue it names".into());
    match c.agent_name.clone().or_else(|| c.agent_user_id.clone()) {
        Some(agent) => format!("{queue}, with {agent}"),
        None => format!("{queue}, with no agent"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(queue: &str, agent: Option<&str>, status: &str) -> Conversation {
        Conversation {
            session: "s".into(),
            conversation_id: None,
            status: Some(status.into()),
            source: None,
            queue_id: Some(queue.into()),
            queue_name: None,
            agent_user_id: agent.map(str::to_owned),
            agent_name: None,
            wait: None,
            triage: Default::default(),
        }
    }

    #[test]
    fn a_move_is_verified_where_it_was_sent_and_not_moved_elsewhere() {
        let q = Target::queue("qu-2");
        assert_eq!(
            judge(&conversation("qu-2", None, "OPEN"), &q, None).verified,
            Verified::Verified
        );
        let v = judge(&conversation("qu-1", Some("u-9"), "ACTIVE"), &q, None);
        assert_eq!(v.verified, Verified::NotMoved);
        assert_eq!(v.detail, "the server shows it in queue qu-1, with u-9");
        let a = Target::agent("a-1");
        assert_eq!(
            judge(
                &conversation("qu-1", Some("u-1"), "ACTIVE"),
                &a,
                Some("u-1")
            )
            .verified,
            Verified::Verified
        );
        assert_eq!(
            judge(&conversation("qu-1", Some("u-1"), "ACTIVE"), &a, None).verified,
            Verified::NotMoved,
            "without the agent's user id nothing can match"
        );
        let v = judge(&conversation("qu-1", None, "CLOSED"), &q, None);
        assert!(v.detail.starts_with("the conversation is CLOSED"), "{v:?}");
        assert_eq!(
            serde_json::to_string(&Verified::NotMoved).unwrap(),
            "\"not moved\""
        );
    }
}
