//! Plans benchmark for issue 10 (`cargo bench --bench plans`): planning a spread of 2,000 sessions
//! over 200 agents, and checking a 2,000-move plan for drift against a snapshot of 5,000
//! conversations. Goal: each ≤ 50 ms of CPU. The figure is the thread's CPU time, the median of
//! seven rounds.

use std::time::Duration;

use switchboard::live::{Availability, Capacity, Conversation, LiveAgent, LiveQueue, LiveSnapshot};
use switchboard::plan::{Destination, Plan, Planner, drift};
use switchboard::request::Target;

const CONVERSATIONS: usize = 5_000;
const AGENTS: usize = 200;
const MOVES: usize = 2_000;
const SOURCES: [&str; 5] = ["rtm", "whatsapp", "email", "voice", "pigeon"];

fn agent_id(i: usize) -> String {
    format!("a-{i:07x}-0cb7-462d-9453-0ee60e520001")
}

fn snapshot() -> LiveSnapshot {
    let conversations = (0..CONVERSATIONS)
        .map(|i| Conversation {
            session: format!("646f068b2462{i:012x}"),
            conversation_id: None,
            status: Some("OPEN".into()),
            source: Some(SOURCES[i % SOURCES.len()].into()),
            queue_id: Some(format!("qu-241a4d7-e5d0-45a9-8032-{:012x}", i % 20)),
            queue_name: None,
            // A third are with an agent already.
            agent_user_id: i
                .is_multiple_of(3)
                .then(|| format!("u-{:012x}", i % AGENTS)),
            agent_name: None,
            wait: Some(Duration::from_millis((i * 7_919 % 100_000) as u64)),
            triage: Default::default(),
        })
        .collect();
    let agents = (0..AGENTS)
        .map(|i| LiveAgent {
            id: agent_id(i),
            user_id: Some(format!("u-{i:012x}")),
            name: format!("Agent {i}"),
            availability: Some(if i % 10 == 0 {
                Availability::Away
            } else {
                Availability::Available
            }),
            max_chats: Some(12),
            queues: vec![],
            skills: vec![],
            // Half report channel capacities; the rest fall back to maxChatSupport.
            capacity: if i % 2 == 0 {
                ["liveChat", "messaging", "email", "voice"]
                    .iter()
                    .map(|k| {
                        (
                            k.to_string(),
                            Capacity {
                                enabled: Some(true),
                                total: Some(10),
                                used: Some(2),
                                available: Some(8),
                            },
                        )
                    })
                    .collect()
            } else {
                vec![]
            },
        })
        .collect();
    let queues = (0..20)
        .map(|i| LiveQueue {
            id: format!("qu-241a4d7-e5d0-45a9-8032-{i:012x}"),
            name: format!("Queue {i}"),
            ..LiveQueue::default()
        })
        .collect();
    LiveSnapshot {
        conversations,
        agents,
        queues,
        ..LiveSnapshot::default()
    }
}

/// This thread's CPU time so far.
fn cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `t` is.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn median_cpu(mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..7)
        .map(|_| {
            let start = cpu();
            f();
            cpu() - start
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let live = snapshot();
    let sessions: Vec<String> = live
        .conversations
        .iter()
        .filter(|c| c.agent_user_id.is_none())
        .take(MOVES)
        .map(|c| c.session.clone())
        .collect();
    assert_eq!(sessions.len(), MOVES);
    let agents: Vec<&LiveAgent> = live.agents.iter().collect();

    let mut placed = 0;
    let spread = median_cpu(|| {
        let mut plan = Plan::new("bench", "bench", "https://platform.kore.ai");
        let to = Destination::Spread {
            agents: agents.clone(),
            overflow: None,
        };
        Planner::new(&live).plan(&mut plan, &sessions, &to);
        placed = plan.moves.len();
    });

    let mut plan = Plan::new("bench", "bench", "https://platform.kore.ai");
    let planner = Planner::new(&live);
    for (i, s) in sessions.iter().enumerate() {
        let target = if i % 2 == 0 {
            Target::agent(agent_id(i % AGENTS))
        } else {
            Target::queue(format!("qu-241a4d7-e5d0-45a9-8032-{:012x}", i % 20))
        };
        planner.add(&mut plan, s, target);
    }
    let mut drifted = 0;
    let check = median_cpu(|| {
        drifted = drift::check(&plan, &live)
            .iter()
            .filter(|d| !d.is_empty())
            .count();
    });

    println!(
        "spread plan:   {:>8.2} ms CPU: {MOVES} sessions over {AGENTS} agents, {placed} placed (goal ≤ 50)",
        spread.as_secs_f64() * 1000.0
    );
    println!(
        "drift check:   {:>8.2} ms CPU: a {MOVES}-move plan against {CONVERSATIONS} conversations, {drifted} drifted (goal ≤ 50)",
        check.as_secs_f64() * 1000.0
    );
}
