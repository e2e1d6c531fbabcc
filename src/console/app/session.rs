//! A session row and where its moves stand: the last outcome, its whole history, its callback
//! and what the server showed after it. Also what each pane's rows offer the filter.

use tokio::time::Instant;

use crate::input::{AgentRow, QueueRow, SessionRow};
use crate::listener::CallbackState;
use crate::outcome::Outcome;
use crate::request::Target;
use crate::verify::Verification;

use super::super::columns::SessionColumn;
use super::super::table::Row;
use super::place::Place;
use crate::triage::{Sentiment, Triage};

/// Where a session's last move stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SendState {
    /// Confirmed and not yet settled: it cannot be sent again until it is.
    pub in_flight: bool,
    /// Its request is on the wire now (in flight, and past the pacer).
    pub on_wire: bool,
    pub attempt: u32,
    pub retrying: bool,
    /// The last settled move: `Some(None)` when it was not sent at all.
    pub outcome: Option<Option<Outcome>>,
    pub message: String,
    pub target: Option<Target>,
    pub callback: Option<CallbackState>,
    pub settled_at: Option<Instant>,
    /// It was `transferred` at some point: a later attempt does not undo that.
    pub ever_transferred: bool,
    /// Every settled attempt's outcome, oldest first (the Activity pane has the bodies).
    pub history: Vec<Option<Outcome>>,
    /// What the server showed after the move (with live data on).
    pub verified: Option<Verification>,
    /// A verification is under way.
    pub verifying: bool,
}

impl SendState {
    /// The word in the row's outcome column.
    pub fn word(&self) -> &'static str {
        match (self.in_flight, self.outcome) {
            // Only a request on the wire is `sending`; the rest wait for a slot.
            (true, _) if self.on_wire => "sending",
            (true, _) => "queued",
            (false, Some(Some(o))) => o.as_str(),
            (false, Some(None)) => "not sent",
            (false, None) => "",
        }
    }

    /// The row's outcome cell: the outcome, and when it was ever transferred before a later
    /// attempt that was not, both (`transferred · then rejected`).
    pub fn outcome_cell(&self) -> String {
        let word = self.word();
        if self.ever_transferred && word != "transferred" && !word.is_empty() {
            format!("transferred · then {word}")
        } else {
            word.to_string()
        }
    }

    /// The server's word on the move, when it was checked: `verified`, `not moved`, `unverified`.
    pub fn verified_word(&self) -> Option<&'static str> {
        self.verified.as_ref().map(|v| v.verified.as_str())
    }

    /// Whether the server's view can say where it went: it may have moved, and is not checked yet.
    pub(super) fn wants_verifying(&self) -> bool {
        !self.in_flight
            && !self.verifying
            && self.verified.is_none()
            && matches!(
                self.outcome,
                Some(Some(Outcome::Transferred | Outcome::Unknown))
            )
    }

    pub fn callback_word(&self) -> &'static str {
        self.callback.unwrap_or(CallbackState::None).as_str()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionItem {
    pub row: SessionRow,
    /// Marked by `'` with the rest of its batch, not chosen on its own: `r` then leaves it out if
    /// it was ever transferred.
    pub marked_with_batch: bool,
    pub state: SendState,
    /// It is in the live data now (and its live columns are kept up to date).
    pub live: bool,
    /// It came from live data, not from a file or a form: it goes when the conversation ends.
    pub from_live: bool,
    /// Where it is (its queue and agent), and when that was learned.
    pub place: Place,
    /// What Kore says to triage it by (live data), or the file's columns of the same names.
    pub triage: Option<Box<Triage>>,
}

impl SessionItem {
    /// A session as a file or a form gives it: unmarked, never sent.
    pub fn new(row: SessionRow) -> SessionItem {
        let mut item = SessionItem {
            row,
            marked_with_batch: false,
            state: SendState::default(),
            live: false,
            from_live: false,
            place: Place::default(),
            triage: None,
        };
        // What a file's priority and sentiment columns say, for the orders of `s` (boxed: most
        // rows have none; intent and language only show, and their columns are there already).
        let triage = Triage {
            priority: item.column(SessionColumn::Priority).map(str::to_owned),
            sentiment: item.column(SessionColumn::Sentiment).map(|tone| Sentiment {
                tone: tone.to_owned(),
                strength: None,
            }),
            ..Triage::default()
        };
        item.triage = (triage != Triage::default()).then(|| Box::new(triage));
        item
    }

    /// What Kore says to triage it by, or nothing.
    pub fn triage(&self) -> &Triage {
        static NONE: Triage = Triage {
            priority: None,
            sentiment: None,
            intent: None,
            language: None,
        };
        self.triage.as_deref().unwrap_or(&NONE)
    }

    /// How long it has waited, as its wait column says (Kore's `waitTime` in live data).
    pub fn wait(&self) -> Option<std::time::Duration> {
        humantime::parse_duration(self.column(SessionColumn::Wait)?.trim()).ok()
    }

    /// A column's value, by the kind of column (`queue`, `status`…), when it has one.
    pub fn column(&self, kind: SessionColumn) -> Option<&str> {
        self.row
            .extra
            .iter()
            .find(|(k, v)| SessionColumn::of(k) == kind && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }
}

impl Row for SessionItem {
    fn id(&self) -> &str {
        &self.row.id
    }

    fn haystack(&self) -> String {
        let mut h = self.row.id.clone();
        for (_, v) in &self.row.extra {
            h.push(' ');
            h.push_str(v);
        }
        h
    }

    fn field(&self, name: &str) -> Option<&str> {
        match SessionColumn::of(name) {
            SessionColumn::Other => None,
            kind => self.column(kind),
        }
    }
}

impl Row for AgentRow {
    fn id(&self) -> &str {
        &self.id
    }

    fn haystack(&self) -> String {
        [
            Some(self.id.as_str()),
            Some(self.name.as_str()),
            self.status.as_deref(),
            self.queues.as_deref(),
            self.skills.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    }

    fn field(&self, name: &str) -> Option<&str> {
        match name {
            "agent" | "customer" => Some(&self.name),
            "status" => self.status.as_deref(),
            "queue" => self.queues.as_deref(),
            _ => None,
        }
    }
}

impl Row for QueueRow {
    fn id(&self) -> &str {
        &self.id
    }

    fn haystack(&self) -> String {
        format!("{} {}", self.id, self.name)
    }

    fn field(&self, name: &str) -> Option<&str> {
        (name == "queue").then_some(self.name.as_str())
    }
}
