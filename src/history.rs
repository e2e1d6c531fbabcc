//! What a conversation is about: its last messages, from Kore's Conversation History
//! (`POST {host}/api/public/bot/{botId}/getMessagesV2`, App Builder scope Chat History). It is an
//! automation API, under Kore's own limits for those (60 a minute and 1800 an hour per bot), so it
//! is read on demand through a budget of its own, never the contact center's 60 a minute.
//!
//! Kore's page names `type` `incoming` (the customer) and `outgoing` (the bot); it does not say how
//! an agent's messages are told apart, so an outgoing message is shown as `bot` (labelled so).

use serde::Deserialize;
use serde_json::{Value, json};

/// How many of the last messages are asked for.
pub const LIMIT: usize = 20;

/// Conversation History's path under the host, for a bot (stream).
pub fn path(stream_id: &str) -> String {
    format!("/api/public/bot/{stream_id}/getMessagesV2")
}

/// The body: the one session, its last `LIMIT` messages (Kore returns the newest first).
pub fn body(session: &str) -> Value {
    json!({"sessionId": [session], "limit": LIMIT})
}

/// Who wrote a message, as Kore's `type` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// `incoming`: the customer's input.
    Customer,
    /// `outgoing`: the bot's answer (or an agent's: Kore's page does not tell them apart).
    Bot,
    /// Any other `type`.
    Other,
}

impl Author {
    pub fn as_str(self) -> &'static str {
        match self {
            Author::Customer => "customer",
            Author::Bot => "bot",
            Author::Other => "?",
        }
    }
}

/// One message, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// When it was written (`createdOn`, UTC), as Kore sent it.
    pub at: Option<String>,
    pub author: Author,
    /// Its text components, escaped: no control character, newlines shown as `↵`.
    pub text: String,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    messages: Vec<RawMessage>,
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(rename = "createdOn", default)]
    created_on: Option<String>,
    #[serde(rename = "timestampValue", default)]
    timestamp: Option<i64>,
    #[serde(default)]
    components: Vec<RawComponent>,
}

#[derive(Deserialize)]
struct RawComponent {
    #[serde(default)]
    data: Option<Value>,
}

/// Reads an answer: the messages oldest first (Kore sends the newest first). An error says what
/// could not be understood.
pub fn parse(body: &[u8]) -> Result<Vec<Message>, String> {
    let raw: Raw =
        serde_json::from_slice(body).map_err(|e| format!("not the documented shape ({e})"))?;
    let mut messages: Vec<(i64, Message)> = raw
        .messages
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let text = m
                .components
                .iter()
                .filter_map(|c| c.data.as_ref()?.get("text")?.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let author = match m.kind.as_deref() {
                Some("incoming") => Author::Customer,
                Some("outgoing") => Author::Bot,
                _ => Author::Other,
            };
            // Without a time, the order Kore gave (newest first) is kept, reversed.
            let order = m.timestamp.unwrap_or(-(i as i64));
            (
                order,
                Message {
                    at: m.created_on,
                    author,
                    text: escape(&text),
                },
            )
        })
        .collect();
    messages.sort_by_key(|(order, _)| *order);
    Ok(messages.into_iter().map(|(_, m)| m).collect())
}

/// Why the messages could not be read, for the detail: a refused app is named as the missing
/// Chat History scope, with where to give it.
pub fn why_unread(e: &crate::live::LiveError) -> String {
    match e.status {
        Some(401 | 403) => format!(
            "the JWT app lacks the Chat History scope (App Settings › Dev Tools › API Scope, then publish): {}",
            crate::format::one_line(&e.message)
        ),
        _ => crate::format::one_line(&e.to_string()),
    }
}

/// A message's text on one line, as a terminal may show it: control characters escaped, line
/// breaks as `↵`.
fn escape(text: &str) -> String {
    let joined = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ↵ ");
    crate::format::printable(&joined).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_from_kores_sample_come_oldest_first_and_escaped() {
        // The shape of Kore's sample answer, newest first.
        let body = br#"{"total":3,"moreAvailable":false,"messages":[
          {"_id":"ms-3","type":"outgoing","createdOn":"2026-03-28T12:18:25.000Z","timestampValue":1774973905000,
           "components":[{"cT":"text","data":{"text":"One moment\nplease"}}]},
          {"_id":"ms-2","type":"outgoing","status":"pending","createdOn":"2026-03-28T12:18:23.438Z","timestampValue":1774973903438,
           "components":[{"_id":"cp-2","cT":"text","data":{"text":"Sure! Could you share your order number?"},"thumbnails":[]}]},
          {"_id":"ms-1","type":"incoming","status":"received","createdOn":"2026-03-28T12:18:22.204Z","timestampValue":1774973902204,
           "components":[{"_id":"cp-1","cT":"text","data":{"text":"I want to check my order \u001b[31mstatus"},"thumbnails":[]}]}
        ]}"#;
        let messages = parse(body).unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[0].author, Author::Customer);
        assert_eq!(messages[0].at.as_deref(), Some("2026-03-28T12:18:22.204Z"));
        assert!(!messages[0].text.contains('\u{1b}'), "{}", messages[0].text);
        assert!(messages[0].text.starts_with("I want to check my order"));
        assert_eq!(messages[2].author, Author::Bot);
        assert_eq!(messages[2].text, "One moment ↵ please");
        assert!(parse(b"<html>").is_err());
        assert_eq!(parse(b"{}").unwrap(), vec![]);
    }
}
