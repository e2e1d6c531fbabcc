//! Where each session is — its queue and its agent — and when that was learned. A move's answer
//! shows at once (the row takes its target, the Agents and Queues panes their counts); a read asked
//! for before the answer never undoes it; a read asked after it, or the server's word on the move,
//! settles it. One fact: the row's queue and agent cells and the panes' counts derive from it.

use std::borrow::Cow;
use std::collections::HashMap;

use tokio::time::Instant;

use crate::input::{AgentRow, QueueRow};
use crate::live::Conversation;

use super::super::columns::SessionColumn;
use super::App;
use super::session::SessionItem;

/// A queue and an agent, as far as they are known: ids where the data gave them, names to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spot {
    pub queue_id: Option<String>,
    pub queue: Option<String>,
    /// The agent's `u-` user id (conversations name agents by it).
    pub agent_user: Option<String>,
    /// The agent's `a-` id (a move names the agent by it).
    pub agent_id: Option<String>,
    pub agent: Option<String>,
}

impl Spot {
    /// Where a live conversation is.
    pub fn of(c: &Conversation) -> Spot {
        Spot {
            queue_id: c.queue_id.clone(),
            queue: c.queue_name.clone().or_else(|| c.queue_id.clone()),
            agent_user: c.agent_user_id.clone(),
            agent_id: None,
            agent: c.agent_name.clone().or_else(|| c.agent_user_id.clone()),
        }
    }

    pub fn has_agent(&self) -> bool {
        self.agent_user.is_some() || self.agent_id.is_some() || self.agent.is_some()
    }

    /// Whether the agent holds it: by id where both sides have one, else by the whole name.
    pub fn is_with(&self, agent: &AgentRow) -> bool {
        if self.agent_id.as_deref() == Some(agent.id.as_str()) {
            return true;
        }
        if let (Some(mine), Some(theirs)) = (&self.agent_user, &agent.user_id) {
            return mine == theirs;
        }
        self.agent_id.is_none()
            && self
                .agent
                .as_deref()
                .is_some_and(|n| !n.trim().is_empty() && n.eq_ignore_ascii_case(&agent.name))
    }

    /// Whether it waits in the queue, with no agent.
    pub fn is_waiting_in(&self, queue: &QueueRow) -> bool {
        if self.has_agent() {
            return false;
        }
        match &self.queue_id {
            Some(id) => *id == queue.id,
            None => self
                .queue
                .as_deref()
                .is_some_and(|n| n == queue.id || n.eq_ignore_ascii_case(&queue.name)),
        }
    }
}

/// Where a session is: what the last read showed, and where a move's answer put it since, until a
/// read shows it. Absent for a row no read or move has placed (then its file's queue and agent
/// columns say where it is), and boxed: a pane holds 100,000 rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place(Option<Box<Placed>>);

#[derive(Debug, Clone, PartialEq)]
struct Placed {
    /// What the last read of the server showed (`None`: what the file said).
    read: Option<Spot>,
    /// Where a `transferred` answer put it, not yet seen by a read: what the row shows meanwhile.
    moved: Option<Spot>,
    /// When what the row shows was learned: a read asked for before this does not overwrite it.
    learned: Instant,
}

impl Place {
    /// Not yet seen by a read: the row marks it.
    pub fn unseen(&self) -> bool {
        self.moved().is_some()
    }

    fn moved(&self) -> Option<&Spot> {
        self.0.as_ref()?.moved.as_ref()
    }

    fn read(&self) -> Option<&Spot> {
        self.0.as_ref()?.read.as_ref()
    }

    fn set(&mut self, read: Option<Spot>, moved: Option<Spot>, learned: Instant) {
        self.0 = Some(Box::new(Placed {
            read,
            moved,
            learned,
        }));
    }
}

impl SessionItem {
    /// Where the session is, as best known now: where a move put it, else what the last read
    /// showed, else what its file's columns say.
    pub fn spot(&self) -> Cow<'_, Spot> {
        match self.place.moved() {
            Some(moved) => Cow::Borrowed(moved),
            None => self.read_spot(),
        }
    }

    /// Where the last read (or else the file) showed it.
    pub fn read_spot(&self) -> Cow<'_, Spot> {
        match self.place.read() {
            Some(read) => Cow::Borrowed(read),
            None => Cow::Owned(Spot {
                queue: self.column(SessionColumn::Queue).map(str::to_owned),
                agent: self.column(SessionColumn::Agent).map(str::to_owned),
                ..Spot::default()
            }),
        }
    }

    /// Whether its agent (or else its queue) is one a move changed and no read has shown yet.
    pub fn unseen_in(&self, agent: bool) -> bool {
        let Some(moved) = self.place.moved() else {
            return false;
        };
        let read = self.read_spot();
        if agent {
            moved.agent != read.agent
        } else {
            moved.queue != read.queue
        }
    }

    /// What a read asked for at `asked` showed: it settles the place unless something newer is
    /// known (a move answered after the read was asked).
    pub fn read_at(&mut self, spot: Spot, asked: Instant) {
        match self.place.0.as_mut() {
            Some(placed) if placed.learned > asked => placed.read = Some(spot),
            _ => self.place.set(Some(spot), None, asked),
        }
        self.write_place_cells();
    }

    /// A move answered `transferred` at `at`: the row takes its target at once.
    pub fn moved_to(&mut self, spot: Spot, at: Instant) {
        // Where the file said it was is kept before the row's cells say where it went.
        let read = self.read_spot().into_owned();
        self.place.set(Some(read), Some(spot), at);
        self.write_place_cells();
    }

    /// The server's word on a move (a verification): where it is, whatever was believed.
    pub fn seen_at(&mut self, spot: Spot, at: Instant) {
        self.place.set(Some(spot), None, at);
        self.write_place_cells();
    }

    /// The server's word that a move did not happen, without where it is: back to the last read.
    pub fn not_moved(&mut self, at: Instant) {
        let read = self.read_spot().into_owned();
        self.place.set(Some(read), None, at);
        self.write_place_cells();
    }

    /// The row's queue and agent cells, written from the place (and added when the row had none).
    fn write_place_cells(&mut self) {
        let now = self.spot().into_owned();
        let cells = [("queue", now.queue), ("agent", now.agent)];
        for (name, value) in cells {
            let value = value.unwrap_or_default();
            match self.row.extra.iter_mut().find(|(k, _)| &**k == name) {
                Some(slot) => slot.1 = value,
                None if !value.is_empty() => self.row.extra.push((name.into(), value)),
                None => {}
            }
        }
    }
}

/// What the moves not yet seen by a read change in the panes' counts: per agent id, chats; per
/// queue id, sessions waiting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moving {
    pub chats: HashMap<String, i64>,
    pub waiting: HashMap<String, i64>,
}

impl Moving {
    pub fn chats_of(&self, agent: &AgentRow) -> Option<u64> {
        let delta = self.chats.get(&agent.id).copied().unwrap_or(0);
        agent.active_chats.map(|n| (n as i64 + delta).max(0) as u64)
    }

    pub fn waiting_in(&self, queue: &QueueRow) -> Option<u64> {
        let delta = self.waiting.get(&queue.id).copied().unwrap_or(0);
        queue.waiting.map(|n| (n as i64 + delta).max(0) as u64)
    }
}

/// Works the panes' corrections out again from every session's place: each move not yet seen
/// takes one from where the read showed it and gives one to where it went.
pub(super) fn recount(app: &mut App) {
    let mut moving = Moving::default();
    for s in app.sessions.rows() {
        let Some(moved) = s.place.moved() else {
            continue;
        };
        let read = s.read_spot();
        for (spot, by) in [(&*read, -1i64), (moved, 1)] {
            if let Some(agent) = app.agents.rows().iter().find(|a| spot.is_with(a)) {
                *moving.chats.entry(agent.id.clone()).or_default() += by;
            } else if let Some(queue) = app.queues.rows().iter().find(|q| spot.is_waiting_in(q)) {
                *moving.waiting.entry(queue.id.clone()).or_default() += by;
            }
        }
    }
    app.moving = moving;
}
