//! The drift check: before a plan is applied, the live data is read again and each move compared
//! with what was true when it was planned. A move whose session closed or moved elsewhere, or whose
//! target went away, offline or full, has drifted: it is not sent (unless forced) and is listed
//! with what changed.

use std::collections::{HashMap, HashSet};

use super::spread::{capacity_kind, free_capacity, pool, taken};
use super::{Plan, PlannedMove, Planner};
use crate::live::{Conversation, LiveSnapshot};
use crate::request::TargetKind;

/// What changed under each move of a plan, in the plan's order: empty where nothing did.
pub fn check(plan: &Plan, now: &LiveSnapshot) -> Vec<Vec<String>> {
    let planner = Planner::new(now);
    let user_of = |agent: &str| planner.agent(agent).and_then(|a| a.user_id.as_deref());
    let queues: HashSet<&str> = now.queues.iter().map(|q| q.id.as_str()).collect();
    // What the plan's earlier moves take of each agent's room: by kind, or all in one pool.
    let mut given: HashMap<&str, HashMap<&'static str, u64>> = HashMap::new();
    let mut out = Vec::with_capacity(plan.moves.len());
    for m in &plan.moves {
        let mut changed = Vec::new();
        let Some(c) = planner.conversation(&m.session) else {
            out.push(vec![
                "closed: no longer among the open conversations".to_string(),
            ]);
            continue;
        };
        moved_elsewhere(m, c, &user_of, &mut changed);
        let kind = c.source.as_deref().and_then(capacity_kind);
        match m.target.kind {
            TargetKind::Queue => {
                if !queues.is_empty() && !queues.contains(m.target.id.as_str()) {
                    changed.push(format!("target queue {} is no longer listed", m.target.id));
                }
            }
            TargetKind::Agent => match planner.agent(&m.target.id) {
                None => changed.push(format!("target agent {} is no longer listed", m.target.id)),
                Some(a) => {
                    match &a.availability {
                        Some(state) if !state.is_available() => {
                            changed.push(format!("target agent {} is now {state}", a.name))
                        }
                        _ => {}
                    }
                    if let Some((free, basis)) = free_capacity(a, kind, planner.held_by(a)) {
                        let mine = given.entry(a.id.as_str()).or_default();
                        let before = taken(mine, kind, basis);
                        if free <= before {
                            changed.push(format!(
                                "target agent {} is full: {free} free now, {before} taken by this plan's earlier moves",
                                a.name
                            ));
                        } else if changed.is_empty() {
                            *mine.entry(pool(kind)).or_default() += 1;
                        }
                    }
                }
            },
        }
        out.push(changed);
    }
    out
}

/// Whether the session is no longer where it was planned from: its queue, or its agent (none
/// counts: a waiting session picked up has moved too). A move planned without knowing where the
/// session was checks neither.
fn moved_elsewhere<'a>(
    m: &PlannedMove,
    now: &Conversation,
    user_of: &impl Fn(&str) -> Option<&'a str>,
    changed: &mut Vec<String>,
) {
    let was = &m.planned.at;
    if was.is_unknown() {
        return;
    }
    if let (Some(q), Some(now_q)) = (&was.queue, &now.queue_id)
        && q != now_q
    {
        changed.push(format!("moved: was in queue {q}, now in queue {now_q}"));
    }
    let was_user = was
        .agent_user
        .as_deref()
        .or_else(|| was.agent.as_deref().and_then(user_of));
    let was_named = was.agent.as_deref().or(was.agent_user.as_deref());
    match (was_named, was_user, now.agent_user_id.as_deref()) {
        // Known on both sides, and different.
        (Some(name), Some(then), Some(user)) if then != user => changed.push(format!(
            "moved: was with agent {name}, now with {}",
            now.agent_name.as_deref().unwrap_or(user)
        )),
        (Some(name), _, None) => {
            changed.push(format!("moved: was with agent {name}, now with no agent"))
        }
        // The planned agent can no longer be told apart from another: with an agent now, the
        // session may be with someone else.
        (Some(name), None, Some(user)) => changed.push(format!(
            "may have moved: agent {name} is no longer listed, and it is now with {}",
            now.agent_name.as_deref().unwrap_or(user)
        )),
        (None, _, Some(user)) => changed.push(format!(
            "moved: was waiting, now with agent {}",
            now.agent_name.as_deref().unwrap_or(user)
        )),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::Origin;
    use crate::live::{Availability, LiveAgent, LiveQueue};
    use crate::plan::Planned;
    use crate::request::Target;

    fn conversation(session: &str, queue: &str, agent: Option<&str>) -> Conversation {
        Conversation {
            session: session.into(),
            conversation_id: None,
            status: Some("OPEN".into()),
            source: Some("web".into()),
            queue_id: Some(queue.into()),
            queue_name: None,
            agent_user_id: agent.map(str::to_string),
            agent_name: None,
            wait: None,
            triage: Default::default(),
        }
    }

    fn agent(id: &str, state: Availability, max: u64) -> LiveAgent {
        LiveAgent {
            id: id.into(),
            user_id: Some(id.replace("a-", "u-")),
            name: id.into(),
            availability: Some(state),
            max_chats: Some(max),
            queues: vec![],
            skills: vec![],
            capacity: vec![],
        }
    }

    fn planned_move(session: &str, target: Target, queue: &str) -> PlannedMove {
        PlannedMove {
            session: session.into(),
            target,
            target_name: None,
            planned: Planned {
                status: Some("OPEN".into()),
                at: Origin {
                    queue: Some(queue.into()),
                    ..Origin::default()
                },
                ..Planned::default()
            },
        }
    }

    #[test]
    fn a_planned_agent_no_longer_listed_with_the_session_now_with_someone_is_drift() {
        let mut plan = Plan::new("revert", "p", "h");
        let with = |session: &str, agent_user: Option<&str>| PlannedMove {
            session: session.into(),
            target: Target::queue("qu-1"),
            target_name: None,
            planned: Planned {
                at: Origin {
                    agent: Some("a-gone".into()),
                    agent_user: agent_user.map(str::to_string),
                    ..Origin::default()
                },
                ..Planned::default()
            },
        };
        // Unresolvable, and the session is with someone: drift. Its user id known, and the same
        // agent holds it: no drift.
        plan.moves = vec![with("s-unknown", None), with("s-known", Some("u-gone"))];
        let now = LiveSnapshot {
            conversations: vec![
                conversation("s-unknown", "qu-2", Some("u-other")),
                conversation("s-known", "qu-2", Some("u-gone")),
            ],
            ..LiveSnapshot::default()
        };
        let drift = check(&plan, &now);
        assert!(
            drift[0]
                .join("; ")
                .contains("agent a-gone is no longer listed, and it is now with u-other"),
            "{:?}",
            drift[0]
        );
        assert!(drift[1].is_empty(), "{:?}", drift[1]);
    }

    #[test]
    fn each_kind_of_change_is_drift_and_an_unchanged_move_is_not() {
        let mut plan = Plan::new("plan", "p", "h");
        plan.moves = vec![
            planned_move("s-same", Target::queue("qu-2"), "qu-1"),
            planned_move("s-closed", Target::queue("qu-2"), "qu-1"),
            planned_move("s-requeued", Target::queue("qu-2"), "qu-1"),
            planned_move("s-picked-up", Target::queue("qu-2"), "qu-1"),
            planned_move("s-to-away", Target::agent("a-away"), "qu-1"),
            planned_move("s-to-gone", Target::agent("a-gone"), "qu-1"),
            planned_move("s-full-1", Target::agent("a-one-free"), "qu-1"),
            planned_move("s-full-2", Target::agent("a-one-free"), "qu-1"),
            planned_move("s-no-queue", Target::queue("qu-gone"), "qu-1"),
        ];
        let now = LiveSnapshot {
            conversations: vec![
                conversation("s-same", "qu-1", None),
                conversation("s-requeued", "qu-3", None),
                conversation("s-picked-up", "qu-1", Some("u-x")),
                conversation("s-to-away", "qu-1", None),
                conversation("s-to-gone", "qu-1", None),
                conversation("s-full-1", "qu-1", None),
                conversation("s-full-2", "qu-1", None),
                conversation("s-no-queue", "qu-1", None),
                conversation("s-held", "qu-1", Some("u-one-free")),
            ],
            agents: vec![
                agent("a-away", Availability::Away, 5),
                agent("a-one-free", Availability::Available, 2),
            ],
            queues: ["qu-1", "qu-2", "qu-3"]
                .iter()
                .map(|id| LiveQueue {
                    id: id.to_string(),
                    ..LiveQueue::default()
                })
                .collect(),
            ..LiveSnapshot::default()
        };
        let drift = check(&plan, &now);
        let said = |i: usize| drift[i].join("; ");
        assert!(drift[0].is_empty(), "{}", said(0));
        assert!(said(1).contains("closed"), "{}", said(1));
        assert!(said(2).contains("now in queue qu-3"), "{}", said(2));
        assert!(
            said(3).contains("was waiting, now with agent u-x"),
            "{}",
            said(3)
        );
        assert!(said(4).contains("is now AWAY"), "{}", said(4));
        assert!(said(5).contains("no longer listed"), "{}", said(5));
        assert!(drift[6].is_empty(), "one free: the first fits: {}", said(6));
        assert!(said(7).contains("full"), "the second does not: {}", said(7));
        assert!(
            said(8).contains("queue qu-gone is no longer listed"),
            "{}",
            said(8)
        );
    }
}

#[cfg(test)]
mod generated {
    //! Many made-up centers: a spread never goes past what anyone can take, accounts for every
    //! session, and a plan checked against the very data it was made from has not drifted.
    use super::*;
    use crate::live::{Availability, Capacity, LiveAgent};
    use crate::plan::spread::{CHANNEL_KINDS, capacity_kind, free_capacity, pool};
    use crate::plan::{Destination, Planner};

    struct Dice(u64);
    impl Dice {
        fn roll(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    fn center(dice: &mut Dice) -> LiveSnapshot {
        let channels = ["web", "whatsapp", "sms", "email", "voice", "pigeon"];
        let agents: Vec<LiveAgent> = (0..1 + dice.roll(6))
            .map(|n| LiveAgent {
                id: format!("a-{n}"),
                user_id: Some(format!("u-{n}")),
                name: format!("Agent {n}"),
                availability: Some(match dice.roll(4) {
                    0 => Availability::Away,
                    _ => Availability::Available,
                }),
                max_chats: (dice.roll(4) > 0).then(|| dice.roll(6)),
                queues: vec![],
                skills: vec![],
                capacity: if dice.roll(2) == 0 {
                    vec![]
                } else {
                    CHANNEL_KINDS
                        .iter()
                        .map(|(kind, _)| {
                            (
                                kind.to_string(),
                                Capacity {
                                    enabled: Some(dice.roll(5) > 0),
                                    total: None,
                                    used: None,
                                    available: Some(dice.roll(4)),
                                },
                            )
                        })
                        .collect()
                },
            })
            .collect();
        let conversations = (0..dice.roll(25))
            .map(|n| {
                let held = dice.roll(3) == 0;
                Conversation {
                    session: format!("s{n}"),
                    conversation_id: None,
                    status: Some("OPEN".into()),
                    source: Some(channels[dice.roll(6) as usize].into()),
                    queue_id: Some("qu-1".into()),
                    queue_name: None,
                    agent_user_id: held.then(|| format!("u-{}", dice.roll(agents.len() as u64))),
                    agent_name: None,
                    wait: Some(std::time::Duration::from_secs(dice.roll(600))),
                    triage: Default::default(),
                }
            })
            .collect();
        LiveSnapshot {
            conversations,
            agents,
            ..LiveSnapshot::default()
        }
    }

    #[test]
    fn a_spread_stays_within_capacity_accounts_for_all_and_has_not_drifted_at_once() {
        let mut dice = Dice(42);
        for case in 0..2_000 {
            let live = center(&mut dice);
            let sessions: Vec<String> = live
                .conversations
                .iter()
                .filter(|c| c.agent_user_id.is_none())
                .map(|c| c.session.clone())
                .collect();
            let mut plan = Plan::new("t", "p", "h");
            let planner = Planner::new(&live);
            let agents = live.agents.iter().collect();
            planner.plan(
                &mut plan,
                &sessions,
                &Destination::Spread {
                    agents,
                    overflow: None,
                },
            );
            assert_eq!(
                plan.moves.len() + plan.left_out.len(),
                sessions.len(),
                "case {case}: every session placed or listed"
            );
            for a in &live.agents {
                let given: Vec<&Conversation> = plan
                    .moves
                    .iter()
                    .filter(|m| m.target.id == a.id)
                    .map(|m| planner.conversation(&m.session).unwrap())
                    .collect();
                if given.is_empty() {
                    continue;
                }
                assert!(
                    a.availability.as_ref().unwrap().is_available(),
                    "case {case}"
                );
                let held = planner.held_by(a);
                let chats = given
                    .iter()
                    .filter(|c| pool(c.source.as_deref().and_then(capacity_kind)) == "chat")
                    .count() as u64;
                if let Some(max) = a.max_chats {
                    assert!(
                        held + chats <= max.max(held),
                        "case {case}: {} over {max}",
                        a.id
                    );
                }
                for c in &given {
                    let kind = c.source.as_deref().and_then(capacity_kind);
                    let same = given
                        .iter()
                        .filter(|o| o.source.as_deref().and_then(capacity_kind) == kind)
                        .count() as u64;
                    let (free, _) = free_capacity(a, kind, held).expect("placed: room was known");
                    assert!(
                        same <= free,
                        "case {case}: {} got {same} of {kind:?}, {free} free",
                        a.id
                    );
                }
            }
            let drift = check(&plan, &live);
            assert!(
                drift.iter().all(|d| d.is_empty()),
                "case {case}: drift against the data it was made from: {drift:?}"
            );
        }
    }
}
