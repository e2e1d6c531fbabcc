//! Kore's id formats (kore-api.md §6). Used to warn, never to refuse: Kore's own docs mask ids with `xxxx`,
//! and a supervisor in an incident must be able to send what the platform shows them.

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
    fn path_safety() {
        assert!(is_path_safe("st-a0ec5267-a58a-5fbb-ab0e-e27ebc350001"));
        assert!(!is_path_safe("st-1/../x"));
        assert!(!is_path_safe(""));
        assert!(!is_path_safe("a b"));
    }
}
