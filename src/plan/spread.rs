//! Spreading sessions over several agents by their free capacity: longest-waiting sessions first,
//! each to the AVAILABLE agent with the most room for its channel, never past anyone's capacity.
//! What does not fit stays where it is (listed) or goes to an overflow queue.

use std::collections::HashMap;
use std::time::Duration;

use crate::live::LiveAgent;

/// Which of Kore's `channelCapacity` kinds a session's channel (`source`) counts against. Kore
/// documents the kinds (liveChat, messaging, email, voice, voiceMail) but not which channel falls
/// in which: this table is ours, kept in one place and in the README.
pub const CHANNEL_KINDS: &[(&str, &[&str])] = &[
    (
        "liveChat",
        &[
            "rtm", "web", "webchat", "chat", "livechat", "sdk", "webhook",
        ],
    ),
    (
        "messaging",
        &[
            "whatsapp",
            "messenger",
            "facebook",
            "sms",
            "twilio",
            "line",
            "telegram",
            "slack",
            "msteams",
            "teams",
            "instagram",
            "twitter",
            "wechat",
            "viber",
            "googlechat",
            "rcs",
            "applebusinesschat",
        ],
    ),
    ("email", &["email", "mail"]),
    (
        "voice",
        &["voice", "ivr", "korevg", "audiocodes", "phone", "call"],
    ),
];

/// The chat kinds an unknown channel is measured against: it takes the smaller figure.
const CHAT_KINDS: [&str; 2] = ["liveChat", "messaging"];

/// The capacity kind of a channel, or `None` for a channel the table does not know.
pub fn capacity_kind(channel: &str) -> Option<&'static str> {
    let channel = channel.trim().to_ascii_lowercase();
    CHANNEL_KINDS
        .iter()
        .find(|(_, channels)| channels.contains(&channel.as_str()))
        .map(|(kind, _)| *kind)
}

/// A session to place: its id, its channel and how long it has waited, when known.
#[derive(Debug, Clone, PartialEq)]
pub struct Placing {
    pub session: String,
    pub channel: Option<String>,
    pub wait: Option<Duration>,
}

/// How an agent's room for a session was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Kore's `channelCapacity` for the session's kind.
    Channel(&'static str),
    /// An unknown channel: the smaller of the agent's liveChat and messaging figures.
    SmallestChat,
    /// No `channelCapacity`: `maxChatSupport` minus the chats the agent holds.
    MaxChats,
}

/// The share of an agent's capacity a kind of session takes. Every chat kind (and an unknown
/// channel) counts against one pool, as `maxChatSupport` does — Kore does not say whether its
/// liveChat and messaging figures are separate, so a liveChat placed is counted against messaging
/// too, which can only leave room unused, never overfill. Email and voice have their own.
pub fn pool(kind: Option<&str>) -> &'static str {
    match kind {
        Some("email") => "email",
        Some("voice") => "voice",
        Some("voiceMail") => "voiceMail",
        _ => "chat",
    }
}

/// An agent's room for a kind of session, from what the live data says; `None` when nothing says.
/// A chat is held under `maxChatSupport` minus the chats held as well as under its channel figure.
pub fn free_capacity(agent: &LiveAgent, kind: Option<&str>, held: u64) -> Option<(u64, Basis)> {
    let available = |k: &str| {
        agent
            .capacity_of(k)
            .filter(|c| c.enabled != Some(false))
            .and_then(|c| c.available)
    };
    let from_channel = match kind {
        Some(k) => CHANNEL_KINDS
            .iter()
            .find(|(name, _)| *name == k)
            .and_then(|(name, _)| available(name).map(|n| (n, Basis::Channel(name)))),
        None => CHAT_KINDS
            .iter()
            .filter_map(|k| available(k))
            .min()
            .map(|n| (n, Basis::SmallestChat)),
    };
    let max_chats = agent
        .max_chats
        .map(|max| (max.saturating_sub(held), Basis::MaxChats));
    match (from_channel, max_chats) {
        (Some((free, basis)), Some((room, _))) if pool(kind) == "chat" => {
            Some((free.min(room), basis))
        }
        (Some(channel), _) => Some(channel),
        (None, max_chats) => max_chats,
    }
}

/// How much of an agent's room the sessions already given to them take, for a session of `kind`
/// counted on `basis`: `maxChatSupport` is one pool for everything, a channel figure its own pool.
pub fn taken(given: &HashMap<&'static str, u64>, kind: Option<&str>, basis: Basis) -> u64 {
    match basis {
        Basis::MaxChats => given.values().sum(),
        _ => given.get(pool(kind)).copied().unwrap_or(0),
    }
}

/// An agent's room for a kind of session, and how it was counted; `None` when nothing says.
type Room = Option<(u64, Basis)>;

/// One agent's load before and after a spread.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    pub agent: String,
    pub name: String,
    /// Open chats the live data shows the agent holding now.
    pub held: u64,
    /// Chats the spread gives them.
    pub placed: u64,
    /// Email and voice sessions the spread gives them, which have capacities of their own.
    pub placed_other: u64,
    /// The most they can take, when known (`maxChatSupport`).
    pub max_chats: Option<u64>,
}

/// What a spread decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spread {
    /// (index into the sessions given, agent id), longest-waiting first.
    pub placed: Vec<(usize, String)>,
    /// Sessions no agent had room for, with why: unsent, or for the overflow queue.
    pub left: Vec<(usize, String)>,
    /// Each agent considered, with their load before and after.
    pub loads: Vec<Load>,
    /// Notes for the reader: an unknown channel measured by the smallest chat figure, an agent
    /// left out and why.
    pub notes: Vec<String>,
}

/// Places each session on the AVAILABLE agent with the most free capacity for its channel (ties go
/// to the agent given first), longest-waiting sessions first, never past an agent's capacity.
/// `held` counts the open chats each agent holds by `u-` user id.
pub fn spread(sessions: &[Placing], agents: &[&LiveAgent], held: &HashMap<&str, u64>) -> Spread {
    let mut out = Spread::default();
    let held_by = |a: &LiveAgent| {
        a.user_id
            .as_deref()
            .and_then(|u| held.get(u))
            .copied()
            .unwrap_or(0)
    };
    for a in agents {
        out.loads.push(Load {
            agent: a.id.clone(),
            name: a.name.clone(),
            held: held_by(a),
            placed: 0,
            placed_other: 0,
            max_chats: a.max_chats,
        });
        match &a.availability {
            Some(state) if state.is_available() => {}
            Some(state) => out
                .notes
                .push(format!("{} ({}) is {state}: given nothing", a.name, a.id)),
            None => out.notes.push(format!(
                "{} ({}): presence unknown: given nothing",
                a.name, a.id
            )),
        }
    }
    // Longest-waiting first; a session whose wait is unknown after those whose wait is known, in
    // the order given.
    let mut order: Vec<usize> = (0..sessions.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sessions[i].wait.map(|w| w.as_millis())));
    // Room left per agent and per kind of session, counted down as sessions are placed.
    let mut used: Vec<HashMap<&'static str, u64>> = vec![HashMap::new(); agents.len()];
    let mut unknown_channels: Vec<String> = Vec::new();
    let available: Vec<usize> = (0..agents.len())
        .filter(|&n| {
            agents[n]
                .availability
                .as_ref()
                .is_some_and(|s| s.is_available())
        })
        .collect();
    let mut free_by_kind: HashMap<Option<&str>, Vec<Room>> = HashMap::new();
    for i in order {
        let channel = sessions[i].channel.as_deref().unwrap_or("");
        let kind = capacity_kind(channel);
        if kind.is_none() && !unknown_channels.iter().any(|c| c == channel) {
            unknown_channels.push(channel.to_string());
        }
        // Each available agent's room for this kind before the spread, worked out once a kind.
        let free = free_by_kind.entry(kind).or_insert_with(|| {
            available
                .iter()
                .map(|&n| free_capacity(agents[n], kind, held_by(agents[n])))
                .collect()
        });
        let best = available
            .iter()
            .zip(free.iter())
            .filter_map(|(&n, free)| {
                let (free, basis) = (*free)?;
                let room = free.saturating_sub(taken(&used[n], kind, basis));
                (room > 0).then_some((n, room))
            })
            // The most room; the first given among equals.
            .max_by_key(|&(n, room)| (room, std::cmp::Reverse(n)));
        match best {
            Some((n, _)) => {
                *used[n].entry(pool(kind)).or_default() += 1;
                if pool(kind) == "chat" {
                    out.loads[n].placed += 1;
                } else {
                    out.loads[n].placed_other += 1;
                }
                out.placed.push((i, agents[n].id.clone()));
            }
            None => out.left.push((
                i,
                match kind {
                    Some(k) => format!("no AVAILABLE agent has free {k} capacity"),
                    None => "no AVAILABLE agent has free chat capacity".to_string(),
                },
            )),
        }
    }
    for channel in unknown_channels {
        let shown = if channel.is_empty() {
            "no channel".to_string()
        } else {
            format!("channel {channel:?}")
        };
        out.notes.push(format!(
            "{shown} is not in the channel table: measured by the smaller of liveChat and messaging"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{Availability, Capacity};

    fn agent(id: &str, state: Availability, max: u64, live_chat: Option<u64>) -> LiveAgent {
        LiveAgent {
            id: id.into(),
            user_id: Some(format!("u-{id}")),
            name: id.to_uppercase(),
            availability: Some(state),
            max_chats: Some(max),
            queues: vec![],
            skills: vec![],
            capacity: live_chat
                .map(|n| {
                    vec![(
                        "liveChat".to_string(),
                        Capacity {
                            enabled: Some(true),
                            total: Some(max),
                            used: Some(max - n),
                            available: Some(n),
                        },
                    )]
                })
                .unwrap_or_default(),
        }
    }

    fn placing(n: usize, channel: &str, wait_secs: u64) -> Placing {
        Placing {
            session: format!("s{n}"),
            channel: Some(channel.into()),
            wait: Some(Duration::from_secs(wait_secs)),
        }
    }

    #[test]
    fn channels_map_to_kinds_and_unknown_ones_to_none() {
        assert_eq!(capacity_kind("rtm"), Some("liveChat"));
        assert_eq!(capacity_kind("WhatsApp"), Some("messaging"));
        assert_eq!(capacity_kind("email"), Some("email"));
        assert_eq!(capacity_kind("voice"), Some("voice"));
        assert_eq!(capacity_kind("carrier-pigeon"), None);
    }

    #[test]
    fn longest_waiting_first_to_the_most_room_and_never_past_capacity() {
        let a = agent("a", Availability::Available, 5, Some(2));
        let b = agent("b", Availability::Available, 5, Some(1));
        let c = agent("c", Availability::Offline, 5, Some(5));
        let sessions: Vec<Placing> = (0..5).map(|n| placing(n, "web", n as u64)).collect();
        let out = spread(&sessions, &[&a, &b, &c], &HashMap::new());
        // s4 waited longest: to a (2 free), then s3 to a or b (1 each: a, given first), s2 to b.
        assert_eq!(
            out.placed,
            vec![(4, "a".into()), (3, "a".into()), (2, "b".into())]
        );
        assert_eq!(out.left.len(), 2);
        assert!(out.left.iter().all(|(_, why)| why.contains("liveChat")));
        assert!(out.notes.iter().any(|n| n.contains("OFFLINE")));
        assert_eq!(
            out.loads.iter().map(|l| l.placed).collect::<Vec<_>>(),
            vec![2, 1, 0]
        );
    }

    #[test]
    fn without_channel_figures_max_chats_minus_held_is_one_pool() {
        let a = agent("a", Availability::Available, 3, None);
        let held = HashMap::from([("u-a", 1u64)]);
        let sessions = vec![
            placing(0, "web", 9),
            placing(1, "whatsapp", 8),
            placing(2, "email", 7),
        ];
        let out = spread(&sessions, &[&a], &held);
        assert_eq!(out.placed.len(), 2, "3 at once, 1 held: room for 2");
        assert_eq!(
            out.left,
            vec![(2, "no AVAILABLE agent has free email capacity".into())]
        );
    }

    #[test]
    fn chats_of_every_kind_share_one_pool_held_under_max_chats() {
        // liveChat and messaging each say 3 free; 4 at once with 2 held leaves room for 2 chats.
        let mut a = agent("a", Availability::Available, 4, Some(3));
        a.capacity.push((
            "messaging".into(),
            Capacity {
                enabled: Some(true),
                total: Some(4),
                used: Some(1),
                available: Some(3),
            },
        ));
        let held = HashMap::from([("u-a", 2u64)]);
        let sessions = vec![
            placing(0, "web", 9),
            placing(1, "whatsapp", 8),
            placing(2, "sms", 7),
        ];
        let out = spread(&sessions, &[&a], &held);
        assert_eq!(out.placed, vec![(0, "a".into()), (1, "a".into())]);
        assert_eq!(out.loads[0].held + out.loads[0].placed, 4);
    }

    #[test]
    fn an_unknown_channel_takes_the_smaller_chat_figure_and_says_so() {
        let mut a = agent("a", Availability::Available, 5, Some(3));
        a.capacity.push((
            "messaging".into(),
            Capacity {
                enabled: Some(true),
                total: Some(5),
                used: Some(4),
                available: Some(1),
            },
        ));
        let sessions = vec![placing(0, "pigeon", 2), placing(1, "pigeon", 1)];
        let out = spread(&sessions, &[&a], &HashMap::new());
        assert_eq!(out.placed, vec![(0, "a".into())]);
        assert_eq!(out.left.len(), 1);
        assert!(
            out.notes
                .iter()
                .any(|n| n.contains("\"pigeon\"") && n.contains("smaller")),
            "{:?}",
            out.notes
        );
    }
}
