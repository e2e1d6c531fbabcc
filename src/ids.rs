//! Kore's id formats (kore-api.md §6). Two levels:
//! - **refused** everywhere before anything is sent: an id with whitespace, control characters or
//!   URL-reserved characters (`/ ? # % &`), an agent or queue id without Kore's shape (`a-…`, `qu-…`;
//!   a `u-` user id gets its own word), and a session id that is an agent, queue or user id;
//! - **warned** about: a session id that is not 24 hex digits, since Kore's own docs mask ids with
//!   `xxxx` and a supervisor in an incident must be able to send what the platform shows.

/// What kind of id a value is meant to be; each has a documented shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// `botSessionId`: 24 hex digits.
    Session,
    /// `aId`: `a-` then a UUID whose first group has 7 hex digits.
    Agent,
    /// `queueId`: `qu-` then a UUID whose first group has 7 hex digits.
    Queue,
}

impl IdKind {
    pub fn shape(self) -> &'static str {
        match self {
            IdKind::Session => "24 hex digits",
            IdKind::Agent => "a-xxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
            IdKind::Queue => "qu-xxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            IdKind::Session => "session id",
            IdKind::Agent => "agent id",
            IdKind::Queue => "queue id",
        }
    }

    pub fn looks_valid(self, id: &str) -> bool {
        match self {
            IdKind::Session => is_hex(id, 24),
            IdKind::Agent => id.strip_prefix("a-").is_some_and(is_short_uuid),
            IdKind::Queue => id.strip_prefix("qu-").is_some_and(is_short_uuid),
        }
    }

    /// Why `id` cannot be sent as this kind of id; `None` when it can.
    pub fn refusal(self, id: &str) -> Option<String> {
        let noun = self.noun();
        if id.is_empty() {
            return Some(format!("the {noun} is empty"));
        }
        if let Some(c) = id
            .chars()
            .find(|&c| c.is_whitespace() || c.is_control() || crate::format::is_bidi_control(c))
        {
            let what = if c.is_whitespace() {
                "a space"
            } else if c.is_control() {
                "a control character"
            } else {
                "a bidi control (it shows the text around it reordered)"
            };
            return Some(format!(
                "{noun} {} holds {what}; ids never do",
                id.escape_debug()
            ));
        }
        if let Some(c) = id.chars().find(|c| RESERVED.contains(*c)) {
            return Some(format!(
                "{noun} {id:?} holds {c:?}, which would change the request's URL; ids never do"
            ));
        }
        match self {
            IdKind::Agent if id.starts_with("u-") => Some(format!(
                "{id} is a user id (u-); agents are moved to by their agent id (a-…), as the Agents pane and List All Agents show it"
            )),
            // A target names the one place a conversation goes: its id must have Kore's shape,
            // so a typo (`qu-nope`) is caught here, not by the platform after the session moved.
            IdKind::Agent | IdKind::Queue if !self.looks_valid(id) => {
                let prefix = if self == IdKind::Agent { "a-" } else { "qu-" };
                let start = if id.starts_with(prefix) {
                    String::new()
                } else {
                    format!(" does not start with {prefix} and")
                };
                Some(format!(
                    "{noun} {id:?}{start} is not Kore's shape {}",
                    self.shape()
                ))
            }
            IdKind::Session
                if id.starts_with("a-") || id.starts_with("qu-") || id.starts_with("u-") =>
            {
                Some(format!(
                    "{id} is an agent, queue or user id, not a session id ({})",
                    self.shape()
                ))
            }
            _ => None,
        }
    }

    /// A warning to show when `id` does not have this kind's shape; `None` when it does.
    pub fn warning(self, id: &str) -> Option<String> {
        if self.looks_valid(id) {
            return None;
        }
        let hint = if self == IdKind::Agent && id.starts_with("u-") {
            " (a u- id is a user id; the agent id starts with a-)"
        } else {
            ""
        };
        Some(format!(
            "{} {id:?} does not look like Kore's format ({}){hint}",
            self.noun(),
            self.shape()
        ))
    }
}

/// Characters that would change the meaning of a URL an id is put into.
const RESERVED: &str = "/?#%&";

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `xxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`: the 7-digit-first-group UUID of agent and queue ids.
fn is_short_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && [7, 4, 4, 4, 12]
            .iter()
            .zip(&groups)
            .all(|(len, g)| is_hex(g, *len))
}

/// A stream id goes into the URL path, so it may hold only characters that need no escaping there.
pub fn is_path_safe(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_samples_have_the_documented_shapes() {
        assert!(IdKind::Session.looks_valid("6538f8a3c9cf425ee5cf0001"));
        assert!(IdKind::Agent.looks_valid("a-8cd2673-0cb7-462d-9453-0ee60e520001"));
        assert!(IdKind::Queue.looks_valid("qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001"));
    }

    #[test]
    fn masked_and_wrong_ids_get_a_warning() {
        assert!(
            IdKind::Session
                .warning("6538f8a3c9cf425ee5cfxxxx")
                .is_some()
        );
        assert!(
            IdKind::Queue
                .warning("a-8cd2673-0cb7-462d-9453-0ee60e520001")
                .is_some()
        );
        let w = IdKind::Agent
            .warning("u-8cd2673-0cb7-462d-9453-0ee60e520001")
            .unwrap();
        assert!(w.contains("user id"), "{w}");
    }

    #[test]
    fn ids_that_cannot_be_sent_are_refused_with_why() {
        for (kind, id, says) in [
            (IdKind::Session, "hello world", "a space"),
            (IdKind::Session, "abc\u{1b}[2J", "a control character"),
            (
                IdKind::Session,
                "6538f8a3\u{202e}c9cf425ee5cf",
                "a bidi control",
            ),
            (IdKind::Session, "6538f8a3c9cf/425ee5cf", "URL"),
            (
                IdKind::Session,
                "a-8cd2673-0cb7-462d-9453-0ee60e520001",
                "not a session id",
            ),
            (IdKind::Queue, "qu-nope?x=1", "URL"),
            (IdKind::Queue, "billing", "does not start with qu-"),
            (IdKind::Queue, "qu-nope", "is not Kore's shape"),
            (
                IdKind::Agent,
                "u-8cd2673-0cb7-462d-9453-0ee60e520001",
                "user id",
            ),
            (IdKind::Agent, "alice", "does not start with a-"),
            (IdKind::Agent, "", "empty"),
        ] {
            let why = kind
                .refusal(id)
                .unwrap_or_else(|| panic!("{id:?} was not refused"));
            assert!(why.contains(says), "{id:?}: {why}");
        }
        // Masked or odd but harmless ids are only warned about.
        assert_eq!(IdKind::Session.refusal("6538f8a3c9cf425ee5cfxxxx"), None);
        assert_eq!(
            IdKind::Queue.refusal("qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001"),
            None
        );
    }

    #[test]
    fn path_safety() {
        assert!(is_path_safe("st-a0ec5267-a58a-5fbb-ab0e-e27ebc350001"));
        assert!(!is_path_safe("st-1/../x"));
        assert!(!is_path_safe(""));
        assert!(!is_path_safe("a b"));
    }
}
