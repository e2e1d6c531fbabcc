//! `t` in a session's detail: its last messages, read on demand (Conversation History, through the
//! automation APIs' own budget) and kept for the detail to show. A read that fails — a missing
//! Chat History scope most of all — is said in the detail only: it is no error of the console's.

use std::collections::HashMap;

use crate::history::Message;

use super::{App, Effect};

/// What the console knows of a session's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transcript {
    Reading,
    Read(Vec<Message>),
    /// Why they could not be read.
    Unread(String),
}

/// Each session's messages, as far as they were read.
#[derive(Debug, Default)]
pub struct Transcripts(HashMap<String, Transcript>);

impl Transcripts {
    pub fn of(&self, session: &str) -> Option<&Transcript> {
        self.0.get(session)
    }
}

/// `t`: read the session's last messages (again), unless a read is on its way.
pub(super) fn read(app: &mut App, session: &str) -> Vec<Effect> {
    if app.transcripts.of(session) == Some(&Transcript::Reading) {
        return vec![];
    }
    app.transcripts
        .0
        .insert(session.to_string(), Transcript::Reading);
    vec![Effect::ReadMessages {
        session: session.to_string(),
    }]
}

pub(super) fn on_read(app: &mut App, session: String, result: Result<Vec<Message>, String>) {
    let transcript = match result {
        Ok(messages) => Transcript::Read(messages),
        Err(why) => Transcript::Unread(why),
    };
    app.transcripts.0.insert(session, transcript);
}
