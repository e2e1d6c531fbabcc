//! Plans: a batch of moves written down to be read before it is sent — for review, for a runbook,
//! or to undo a run — and applied later only where nothing changed underneath (`drift`). A plan is
//! JSON, readable and stable; the README documents its format.

pub mod drift;
pub mod revert;
pub mod spread;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::dispatch::{Move, Origin};
use crate::live::{Conversation, LiveAgent, LiveSnapshot};
use crate::request::{Target, TargetKind};

/// How long a confirmation may wait before what it shows is read again before sending: the center
/// moves on while a supervisor reads.
pub const RECHECK_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

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
    /// The account it was made for: another account's plan is refused. (A plan made before this
    /// field has none, and is read with a warning.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The bot stream it was made for, checked like the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// The run a revert's plan undoes: that run's recent moves hold none of its sessions back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    /// When it was made (RFC 3339, UTC).
    pub made_at: String,
    pub moves: Vec<PlannedMove>,
    /// Queue priorities the plan sets (a revert of a priority change sets it back).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priorities: Vec<crate::priority::Change>,
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
            account: None,
            stream: None,
            undoes: None,
            made_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            moves: Vec::new(),
            priorities: Vec::new(),
            left_out: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// This plan, for the account and bot stream of `endpoint`.
    pub fn for_endpoint(self, endpoint: &crate::request::Endpoint) -> Plan {
        Plan {
            account: Some(endpoint.account_id.clone()),
            stream: Some(endpoint.stream_id.clone()),
            ..self
        }
    }

    /// Whether this plan may be applied through `endpoint`: `Err` when it was made for another
    /// host, account or stream; `Ok(Some(warning))` when it does not say which account it is for.
    pub fn aimed_at(&self, endpoint: &crate::request::Endpoint) -> Result<Option<String>, String> {
        let mismatch = |what: &str, planned: &str, here: &str| {
            format!(
                "the plan was made for {what} {}, and this profile is aimed at {here}; nothing was sent",
                crate::format::one_line(planned)
            )
        };
        if self.host != endpoint.host {
            return Err(mismatch("host", &self.host, &endpoint.host));
        }
        match (&self.account, &self.stream) {
            (Some(account), _) if *account != endpoint.account_id => {
                Err(mismatch("account", account, &endpoint.account_id))
            }
            (_, Some(stream)) if *stream != endpoint.stream_id => {
                Err(mismatch("stream", stream, &endpoint.stream_id))
            }
            (Some(_), Some(_)) => Ok(None),
            _ => Ok(Some(
                "the plan does not say which account and stream it was made for (made by an older switchboard): only its host is checked".into(),
            )),
        }
    }

    /// The moves as the dispatcher makes them, each with where it was.
    pub fn to_moves(&self) -> Vec<Move> {
        self.moves
            .iter()
            .map(|m| Move {
                session: m.session.clone(),
                target: m.target.clone(),
                from: Some(m.planned.at.clone()).filter(|o| !o.is_unknown()),
                target_name: m.target_name.clone(),
            })
            .collect()
    }

    /// As `to_moves`, each with where `live` (the freshest read) shows its session, else where
    /// the plan found it.
    pub fn to_moves_from(&self, live: &LiveSnapshot) -> Vec<Move> {
        let planner = Planner::new(live);
        self.to_moves()
            .into_iter()
            .map(|mut m| {
                if let Some(now) = planner.origin(&m.session) {
                    m.from = Some(now);
                }
                m
            })
            .collect()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan serializes") + "\n"
    }

    /// Reads a plan, saying which file and what is wrong with it.
    pub fn read(path: &Path) -> Result<Plan, String> {
        // Capped at max_input_mb like every input (a plan is a file anyone may have edited, or
        // `/dev/zero`), and an editor's BOM is fine.
        let text =
            crate::input::read_text(path).map_err(|e| format!("cannot read the plan: {e}"))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let plan: Plan = serde_json::from_str(text).map_err(|e| {
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
        // A session leaves once: a plan that names one twice (edited, or two plans pasted
        // together) is refused whole, before anything is read or sent.
        let mut first_move: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::with_capacity(plan.moves.len());
        for (i, m) in plan.moves.iter().enumerate() {
            let too_long = [&m.session, &m.target.id]
                .into_iter()
                .any(|id| id.len() > crate::input::MAX_FIELD_BYTES)
                .then(|| "an id longer than 1 KiB; ids never are".to_string());
            let why = too_long
                .or_else(|| crate::ids::IdKind::Session.refusal(&m.session))
                .or_else(|| m.target.refusal());
            if let Some(why) = why {
                return Err(format!("{}: move {}: {why}", path.display(), i + 1));
            }
            if let Some(first) = first_move.insert(&m.session, i) {
                return Err(format!(
                    "{}: moves {} and {} both name session {}: a session leaves once; keep one of them",
                    path.display(),
                    first + 1,
                    i + 1,
                    crate::format::one_line(&m.session)
                ));
            }
        }
        Ok(plan)
    }

    /// A warning when the plan was made more than a day before `now`: the center has moved on
    /// since (the drift check still decides each move).
    pub fn age_warning(&self, now: jiff::Timestamp) -> Option<String> {
        let made: jiff::Timestamp = self.made_at.parse().ok()?;
        let age = now.duration_since(made);
        (age > jiff::SignedDuration::from_hours(24)).then(|| {
            let age = std::time::Duration::from_secs(age.as_secs().unsigned_abs());
            format!(
                "made {} ago ({}): the center has moved on since",
                crate::format::duration(age),
                crate::format::one_line(&self.made_at)
            )
        })
    }

    /// Writes the plan (0600: it names sessions and agents), replacing what was there.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("cannot write the plan {}: {e}", path.display());
        crate::output::write_whole(path, self.to_json().as_bytes()).map_err(fail)
    }

    /// The plan for a reader: one line a move, then what it leaves out and its notes.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# {} · {} move(s) · profile {} · {} · made {}",
            crate::format::one_line(&self.purpose),
            self.moves.len(),
            crate::format::one_line(&self.profile),
            crate::format::one_line(&self.host),
            crate::format::one_line(&self.made_at)
        );
        // A plan is a file anyone may have edited, and names come from the server: one line each,
        // no control characters.
        let clean = crate::format::one_line;
        for m in &self.moves {
            let to = match &m.target_name {
                Some(name) => format!("{} ({})", m.target, clean(name)),
                None => clean(&m.target.to_string()),
            };
            let _ = writeln!(
                out,
                "{}  {} -> {to}",
                crate::format::printable(&m.session),
                describe_origin(&m.planned.at),
            );
        }
        for p in &self.priorities {
            let _ = writeln!(out, "priority  {}", clean(&p.describe()));
        }
        for l in &self.left_out {
            let _ = writeln!(out, "{}  left out: {}", clean(&l.session), clean(&l.why));
        }
        for n in &self.notes {
            let _ = writeln!(out, "# note: {}", clean(n));
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

/// Where a plan's moves go: one target for all, or a spread over agents by capacity.
pub enum Destination<'a> {
    One(Target),
    Spread {
        agents: Vec<&'a LiveAgent>,
        /// What no agent has room for goes here; without it, it stays and is listed.
        overflow: Option<Target>,
    },
}

/// The live data indexed once, so a plan of thousands of moves over thousands of conversations
/// looks each one up rather than searching for it.
pub struct Planner<'a> {
    live: &'a LiveSnapshot,
    conversations: HashMap<&'a str, &'a Conversation>,
    agents: HashMap<&'a str, &'a LiveAgent>,
    agent_of_user: HashMap<&'a str, &'a str>,
    held: HashMap<&'a str, u64>,
}

impl<'a> Planner<'a> {
    pub fn new(live: &'a LiveSnapshot) -> Planner<'a> {
        Planner {
            live,
            conversations: live
                .conversations
                .iter()
                .map(|c| (c.session.as_str(), c))
                .collect(),
            agents: live.agents.iter().map(|a| (a.id.as_str(), a)).collect(),
            agent_of_user: live
                .agents
                .iter()
                .filter_map(|a| Some((a.user_id.as_deref()?, a.id.as_str())))
                .collect(),
            held: live.chats_by_user(),
        }
    }

    /// The open conversation of a session.
    pub fn conversation(&self, session: &str) -> Option<&'a Conversation> {
        self.conversations.get(session).copied()
    }

    /// An agent by `a-` id.
    pub fn agent(&self, id: &str) -> Option<&'a LiveAgent> {
        self.agents.get(id).copied()
    }

    /// Where a session is now, when it is open.
    pub fn origin(&self, session: &str) -> Option<Origin> {
        let c = self.conversation(session)?;
        Some(Origin {
            queue: c.queue_id.clone(),
            agent: c
                .agent_user_id
                .as_deref()
                .and_then(|u| self.agent_of_user.get(u))
                .map(|a| a.to_string()),
            agent_user: c.agent_user_id.clone(),
            queue_name: c.queue_name.clone(),
            agent_name: c.agent_name.clone(),
        })
    }

    /// Open chats an agent holds now.
    pub fn held_by(&self, agent: &LiveAgent) -> u64 {
        agent
            .user_id
            .as_deref()
            .and_then(|u| self.held.get(u))
            .copied()
            .unwrap_or(0)
    }

    /// The name the live data gives `target` (an agent's or a queue's), when it gives one.
    pub fn target_name(&self, target: &Target) -> Option<String> {
        let name = match target.kind {
            TargetKind::Agent => self.agent(&target.id).map(|a| a.name.as_str()),
            TargetKind::Queue => self
                .live
                .queues
                .iter()
                .find(|q| q.id == target.id)
                .map(|q| q.name.as_str()),
        };
        name.map(str::to_string)
    }

    /// Adds a move to `target`, with what the live data shows of the session and the target now.
    pub fn add(&self, plan: &mut Plan, session: &str, target: Target) {
        let conversation = self.conversation(session);
        let mut planned = Planned {
            status: conversation.and_then(|c| c.status.clone()),
            at: self.origin(session).unwrap_or_default(),
            ..Planned::default()
        };
        if target.kind == TargetKind::Agent
            && let Some(a) = self.agent(&target.id)
        {
            planned.target_availability = a.availability.as_ref().map(|s| s.to_string());
            let kind = conversation
                .and_then(|c| c.source.as_deref())
                .and_then(spread::capacity_kind);
            planned.target_free = spread::free_capacity(a, kind, self.held_by(a)).map(|(n, _)| n);
        }
        let target_name = self.target_name(&target);
        plan.moves.push(PlannedMove {
            session: session.to_string(),
            target,
            target_name,
            planned,
        });
    }

    /// Plans each session to `to`. A session that is not among the open conversations is left
    /// out (there is nothing to move); a spread's notes say what each agent ends up holding.
    pub fn plan(&self, plan: &mut Plan, sessions: &[String], to: &Destination) {
        let mut open: Vec<&String> = Vec::with_capacity(sessions.len());
        for s in sessions {
            if self.conversation(s).is_some() {
                open.push(s);
            } else {
                plan.left_out.push(LeftOut {
                    session: s.clone(),
                    why: "not among the open conversations".into(),
                });
            }
        }
        let (agents, overflow) = match to {
            Destination::One(target) => {
                for s in open {
                    self.add(plan, s, target.clone());
                }
                return;
            }
            Destination::Spread { agents, overflow } => (agents, overflow),
        };
        let placing: Vec<spread::Placing> = open
            .iter()
            .map(|s| {
                let c = self.conversation(s);
                spread::Placing {
                    session: s.to_string(),
                    channel: c.and_then(|c| c.source.clone()),
                    wait: c.and_then(|c| c.wait),
                }
            })
            .collect();
        let spread = spread::spread(&placing, agents, &self.held);
        for (i, agent) in &spread.placed {
            self.add(plan, &placing[*i].session, Target::agent(agent.clone()));
        }
        for (i, why) in &spread.left {
            match overflow {
                Some(q) => self.add(plan, &placing[*i].session, q.clone()),
                None => plan.left_out.push(LeftOut {
                    session: placing[*i].session.clone(),
                    why: why.clone(),
                }),
            }
        }
        plan.notes.extend(spread.notes);
        for load in &spread.loads {
            let of = load
                .max_chats
                .map(|m| format!(" of {m}"))
                .unwrap_or_default();
            let other = match load.placed_other {
                0 => String::new(),
                n => format!("; and {n} email or voice"),
            };
            plan.notes.push(format!(
                "{} ({}): {} held + {} placed = {}{of} chats{other}",
                load.name,
                load.agent,
                load.held,
                load.placed,
                load.held + load.placed
            ));
        }
    }
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
                triage: Default::default(),
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
        let live = live();
        Planner::new(&live).add(&mut plan, "6538f8a3c9cf425ee5cf0001", Target::agent(AGENT));
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
    fn a_plans_text_cannot_take_over_the_terminal() {
        let mut plan = Plan::new("plan", "p", "h");
        plan.moves.push(PlannedMove {
            session: "6538f8a3c9cf425ee5cf0001".into(),
            target: Target::agent(AGENT),
            target_name: Some("Eve\u{1b}[2J".into()),
            planned: Planned::default(),
        });
        plan.notes.push("note\u{7}\nsecond line".into());
        let text = plan.describe();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(text.contains("Eve\\u{1b}[2J"), "{text}");
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

    #[test]
    fn a_plan_may_start_with_a_bom_is_capped_like_every_input_and_holds_no_huge_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let mut plan = Plan::new("plan", "p", "h");
        plan.moves.push(PlannedMove {
            session: "6538f8a3c9cf425ee5cf0001".into(),
            target: Target::queue("qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001"),
            target_name: None,
            planned: Planned::default(),
        });
        std::fs::write(&path, format!("\u{feff}{}", plan.to_json())).unwrap();
        assert_eq!(Plan::read(&path).unwrap(), plan, "an editor's BOM is fine");
        plan.moves[0].session = "6".repeat(2048);
        std::fs::write(&path, plan.to_json()).unwrap();
        let e = Plan::read(&path).unwrap_err();
        assert!(
            e.contains("move 1") && e.contains("longer than 1 KiB"),
            "{e}"
        );
        let e = Plan::read(Path::new("/dev/zero")).unwrap_err();
        assert!(e.contains("max_input_mb"), "{e}");
    }

    #[test]
    fn a_plan_made_more_than_a_day_ago_says_so() {
        let mut plan = Plan::new("plan", "p", "h");
        plan.made_at = "2026-11-27T03:00:00Z".into();
        let at = |t: &str| t.parse::<jiff::Timestamp>().unwrap();
        assert_eq!(plan.age_warning(at("2026-11-27T20:00:00Z")), None);
        let w = plan.age_warning(at("2026-11-29T03:00:00Z")).unwrap();
        assert!(
            w.starts_with("made 48h00m ago (2026-11-27T03:00:00Z)"),
            "{w}"
        );
    }

    #[test]
    fn a_plan_that_names_a_session_twice_is_refused_naming_both_moves() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let mut plan = Plan::new("plan", "p", "h");
        for (session, queue) in [
            (
                "6538f8a3c9cf425ee5cf0001",
                "qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001",
            ),
            (
                "6538f8a3c9cf425ee5cf0002",
                "qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001",
            ),
            (
                "6538f8a3c9cf425ee5cf0001",
                "qu-c6e4cc5-b2bd-4dbb-8af7-66b6bcd40002",
            ),
        ] {
            plan.moves.push(PlannedMove {
                session: session.into(),
                target: Target::queue(queue),
                target_name: None,
                planned: Planned::default(),
            });
        }
        std::fs::write(&path, plan.to_json()).unwrap();
        let e = Plan::read(&path).unwrap_err();
        assert!(
            e.contains("moves 1 and 3 both name session 6538f8a3c9cf425ee5cf0001"),
            "{e}"
        );
    }
}
