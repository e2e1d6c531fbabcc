//! Plans: a batch of moves written down to be read before it is sent — for review, for a runbook,
//! or to undo a run — and applied later only where nothing changed underneath (`drift`). A plan is
//! JSON, readable and stable; the README documents its format.

pub mod drift;
pub mod revert;
pub mod spread;

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::dispatch::{Move, Origin};
use crate::live::{LiveAgent, LiveSnapshot};
use crate::request::{Target, TargetKind};

/// The format's name and version, the first field of every plan.
pub const FORMAT: &str = "switchboard-plan/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always `FORMAT`.
    pub format: String,
    /// What made it: `plan`, `console`, or `revert of run …`.
    pub purpose: String,
    pub profile: String,
    pub host: String,
    /// When it was made (RFC 3339, UTC).
    pub made_at: String,
    pub moves: Vec<PlannedMove>,
    /// Sessions the plan leaves where they are, and why (no room, origin unknown, not open).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<LeftOut>,
    /// What a reader should know (an agent given nothing and why, a channel measured by guess).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedMove {
    #[serde(rename = "botSessionId")]
    pub session: String,
    pub target: Target,
    /// The target's name, for the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// What was true when it was planned: what `apply` checks again.
    pub planned: Planned,
}

/// A move's world when it was planned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Planned {
    /// The session's status (ACTIVE, OPEN, IDLE, OVERDUE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Where the session was: its queue and agent.
    #[serde(flatten)]
    pub at: Origin,
    /// The target agent's presence (AVAILABLE, BUSY, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_availability: Option<String>,
    /// The target agent's free capacity for the session's channel, before this plan's moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_free: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeftOut {
    #[serde(rename = "botSessionId")]
    pub session: String,
    pub why: String,
}

impl Plan {
    pub fn new(purpose: &str, profile: &str, host: &str) -> Plan {
        Plan {
            format: FORMAT.to_string(),
            purpose: purpose.to_string(),
            profile: profile.to_string(),
            host: host.to_string(),
            made_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            moves: Vec::new(),
            left_out: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a move to `target`, with what `live` shows of the session and the target now.
    pub fn add(&mut self, session: &str, target: Target, live: &LiveSnapshot) {
        let conversation = live.conversations.iter().find(|c| c.session == session);
        let mut planned = Planned {
            status: conversation.and_then(|c| c.status.clone()),
            at: conversation
                .map(|c| live.origin_of_conversation(c))
                .unwrap_or_default(),
            ..Planned::default()
        };
        let target_name = match target.kind {
            TargetKind::Agent => live.agents.iter().find(|a| a.id == target.id).map(|a| {
                planned.target_availability = a.availability.as_ref().map(|s| s.to_string());
                let kind = conversation
                    .and_then(|c| c.source.as_deref())
                    .and_then(spread::capacity_kind);
                planned.target_free = free_now(a, kind, live);
                a.name.clone()
            }),
            TargetKind::Queue => live
                .queues
                .iter()
                .find(|q| q.id == target.id)
                .map(|q| q.name.clone()),
        };
        self.moves.push(PlannedMove {
            session: session.to_string(),
            target,
            target_name,
            planned,
        });
    }

    /// The moves as the dispatcher makes them, each with where it was.
    pub fn to_moves(&self) -> Vec<Move> {
        self.moves
            .iter()
            .map(|m| Move {
                session: m.session.clone(),
                target: m.target.clone(),
                from: Some(m.planned.at.clone()).filter(|o| !o.is_unknown()),
            })
            .collect()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan serializes") + "\n"
    }

    /// Reads a plan, saying which file and what is wrong with it.
    pub fn read(path: &Path) -> Result<Plan, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the plan {}: {e}", path.display()))?;
        let plan: Plan = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: line {}: not a switchboard plan: {}",
                path.display(),
                e.line(),
                crate::format::one_line(&e.to_string())
            )
        })?;
        if plan.format != FORMAT {
            return Err(format!(
                "{}: format {:?}: this switchboard reads {FORMAT:?}",
                path.display(),
                plan.format
            ));
        }
        for (i, m) in plan.moves.iter().enumerate() {
            let why = crate::ids::IdKind::Session
                .refusal(&m.session)
                .or_else(|| m.target.refusal());
            if let Some(why) = why {
                return Err(format!("{}: move {}: {why}", path.display(), i + 1));
            }
        }
        Ok(plan)
    }

    /// Writes the plan (0600: it names sessions and agents), replacing what was there.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("cannot write the plan {}: {e}", path.display());
        crate::audit::write_private(path, self.to_json().as_bytes()).map_err(fail)
    }

    /// The plan for a reader: one line a move, then what it leaves out and its notes.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# {} · {} move(s) · profile {} · {} · made {}",
            self.purpose,
            self.moves.len(),
            self.profile,
            self.host,
            self.made_at
        );
        for m in &self.moves {
            let to = match &m.target_name {
                Some(name) => format!("{} ({name})", m.target),
                None => m.target.to_string(),
            };
            let _ = writeln!(
                out,
                "{}  {} -> {to}",
                crate::format::printable(&m.session),
                describe_origin(&m.planned.at),
            );
        }
        for l in &self.left_out {
            let _ = writeln!(
                out,
                "{}  left out: {}",
                crate::format::printable(&l.session),
                l.why
            );
        }
        for n in &self.notes {
            let _ = writeln!(out, "# note: {n}");
        }
        out
    }
}

/// Where a session was, in a few words.
pub fn describe_origin(at: &Origin) -> String {
    match (&at.agent, &at.agent_user, &at.queue) {
        (Some(a), _, Some(q)) => format!("agent {a} in queue {q}"),
        (Some(a), _, None) => format!("agent {a}"),
        (None, Some(u), Some(q)) => format!("agent {u} in queue {q}"),
        (None, Some(u), None) => format!("agent {u}"),
        (None, None, Some(q)) => format!("queue {q}"),
        (None, None, None) => "where it was is unknown".to_string(),
    }
}

/// An agent's free capacity for a kind of session now, from the live data.
pub fn free_now(agent: &LiveAgent, kind: Option<&str>, live: &LiveSnapshot) -> Option<u64> {
    let held = agent
        .user_id
        .as_deref()
        .map(|u| {
            live.conversations
                .iter()
                .filter(|c| c.agent_user_id.as_deref() == Some(u))
                .count() as u64
        })
        .unwrap_or(0);
    spread::free_capacity(agent, kind, held).map(|(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::Conversation;

    const AGENT: &str = "a-1234567-89ab-cdef-0123-456789abcdef";

    fn live() -> LiveSnapshot {
        LiveSnapshot {
            conversations: vec![Conversation {
                session: "6538f8a3c9cf425ee5cf0001".into(),
                conversation_id: None,
                status: Some("ACTIVE".into()),
                source: Some("web".into()),
                queue_id: Some("qu-1".into()),
                queue_name: None,
                agent_user_id: Some("u-1".into()),
                agent_name: None,
                wait: None,
            }],
            agents: vec![LiveAgent {
                id: AGENT.into(),
                user_id: Some("u-1".into()),
                name: "Ada".into(),
                availability: Some(crate::live::Availability::Available),
                max_chats: Some(3),
                queues: vec![],
                skills: vec![],
                capacity: vec![],
            }],
            ..LiveSnapshot::default()
        }
    }

    #[test]
    fn a_plan_records_what_was_true_and_reads_back_the_same() {
        let mut plan = Plan::new("plan", "prod", "https://platform.kore.ai");
        plan.add("6538f8a3c9cf425ee5cf0001", Target::agent(AGENT), &live());
        let m = &plan.moves[0];
        assert_eq!(m.planned.status.as_deref(), Some("ACTIVE"));
        assert_eq!(m.planned.at.agent.as_deref(), Some(AGENT));
        assert_eq!(m.planned.target_free, Some(2), "3 at once, 1 held");
        assert_eq!(m.target_name.as_deref(), Some("Ada"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        plan.write(&path).unwrap();
        assert_eq!(Plan::read(&path).unwrap(), plan);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"format\": \"switchboard-plan/1\""),
            "{text}"
        );
        assert!(text.contains("\"botSessionId\""), "{text}");
    }

    #[test]
    fn a_bad_plan_names_the_file_and_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, "{\"format\": \"switchboard-plan/1\",\n\"moves\": 3}").unwrap();
        let e = Plan::read(&path).unwrap_err();
        assert!(e.contains("plan.json: line 2"), "{e}");
        let mut plan = Plan::new("plan", "p", "h");
        plan.moves.push(PlannedMove {
            session: "a b".into(),
            target: Target::queue("qu-1"),
            target_name: None,
            planned: Planned::default(),
        });
        std::fs::write(&path, plan.to_json()).unwrap();
        let e = Plan::read(&path).unwrap_err();
        assert!(e.contains("move 1") && e.contains("space"), "{e}");
    }
}
