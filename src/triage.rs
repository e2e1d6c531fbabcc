//! What Kore already says of each conversation that a supervisor triages by: its priority, the
//! customer's sentiment, the intent that brought them, their language (List of Conversations:
//! `priority`, `sentimentTone {sentiment, emoji, strength}`, `keyIntentName`, `language`), and the
//! orders a list of sessions can be read in.
//!
//! Kore documents the fields by example only. **Unknown**, and so assumed here: that a higher
//! `priority` is more urgent (the samples show 5 and 10; a transfer's `priority` is a word such as
//! `LOW`, read as 1, `MEDIUM` 5, `HIGH` 10); which sentiment words Kore sends besides the sample's
//! `fear` (the tone names of Kore's tone analysis are read: angry, disgust, fear, sad as negative;
//! joy, positive as positive; anything else as neutral).

use std::cmp::Reverse;
use std::time::Duration;

use serde_json::Value;

/// The sentiment Kore detected: its word and strength.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sentiment {
    pub tone: String,
    pub strength: Option<i64>,
}

impl Sentiment {
    /// Reads `sentimentTone`: an object `{sentiment, strength}`, or a bare word.
    pub fn from_json(value: &Value) -> Option<Sentiment> {
        let (tone, strength) = match value {
            Value::String(word) => (word.clone(), None),
            Value::Object(o) => (
                o.get("sentiment")?.as_str()?.to_string(),
                o.get("strength").and_then(|s| {
                    s.as_i64()
                        .or_else(|| s.as_f64().map(|f| f.round() as i64))
                        .or_else(|| s.as_str()?.trim().parse().ok())
                }),
            ),
            _ => return None,
        };
        let tone = tone.trim().to_string();
        (!tone.is_empty()).then_some(Sentiment { tone, strength })
    }

    /// How negative: the strength of a negative tone, less that of a positive one, 0 for neutral.
    pub fn negativity(&self) -> i64 {
        let strength = self.strength.unwrap_or(1).abs().max(1);
        let tone = self.tone.to_ascii_lowercase();
        const NEGATIVE: [&str; 6] = ["ang", "disgust", "fear", "sad", "frustrat", "negative"];
        const POSITIVE: [&str; 3] = ["joy", "positive", "happ"];
        if NEGATIVE.iter().any(|n| tone.starts_with(n)) {
            strength
        } else if POSITIVE.iter().any(|p| tone.starts_with(p)) {
            -strength
        } else {
            0
        }
    }

    /// As a cell shows it: `fear 2`.
    pub fn label(&self) -> String {
        match self.strength {
            Some(s) => format!("{} {s}", self.tone),
            None => self.tone.clone(),
        }
    }
}

/// A conversation's triage fields, each as Kore sent it (absent when it did not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Triage {
    /// `priority`: a number, or a word (`LOW`, `MEDIUM`, `HIGH`), kept as sent.
    pub priority: Option<String>,
    pub sentiment: Option<Sentiment>,
    /// `keyIntentName`.
    pub intent: Option<String>,
    pub language: Option<String>,
}

impl Triage {
    /// The priority as a number to sort by, higher first (see the module's note).
    pub fn priority_rank(&self) -> Option<i64> {
        let p = self.priority.as_deref()?.trim();
        p.parse::<i64>()
            .ok()
            .or_else(|| p.parse::<f64>().ok().map(|f| f.round() as i64))
            .or(match p.to_ascii_uppercase().as_str() {
                "LOW" => Some(1),
                "MEDIUM" | "NORMAL" => Some(5),
                "HIGH" | "URGENT" => Some(10),
                _ => None,
            })
    }
}

/// The orders a list of sessions can be read in; `s` in the console cycles them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SessionOrder {
    /// As loaded (or as the live data listed them).
    #[default]
    AsLoaded,
    /// Longest waiting first (Kore's `waitTime`, whoever holds the chat).
    Wait,
    /// Highest priority first.
    Priority,
    /// Most negative sentiment first.
    Sentiment,
}

impl SessionOrder {
    pub fn next(self) -> SessionOrder {
        match self {
            SessionOrder::AsLoaded => SessionOrder::Wait,
            SessionOrder::Wait => SessionOrder::Priority,
            SessionOrder::Priority => SessionOrder::Sentiment,
            SessionOrder::Sentiment => SessionOrder::AsLoaded,
        }
    }

    /// What a title says of it.
    pub fn describe(self) -> &'static str {
        match self {
            SessionOrder::AsLoaded => "as loaded",
            SessionOrder::Wait => "longest waiting first",
            SessionOrder::Priority => "highest priority first",
            SessionOrder::Sentiment => "most negative first",
        }
    }

    /// A sort key, smallest first; what has no value goes last, in its old order.
    pub fn key(self, wait: Option<Duration>, triage: &Triage) -> (bool, Reverse<i64>) {
        let value = match self {
            SessionOrder::AsLoaded => Some(0),
            SessionOrder::Wait => wait.map(|w| w.as_millis() as i64),
            SessionOrder::Priority => triage.priority_rank(),
            SessionOrder::Sentiment => triage.sentiment.as_ref().map(Sentiment::negativity),
        };
        (value.is_none(), Reverse(value.unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kores_sentiment_tone_reads_as_its_sample_shows_it() {
        let s = Sentiment::from_json(&json!({"sentiment": "fear", "emoji": "😨", "strength": 2}));
        assert_eq!(
            s,
            Some(Sentiment {
                tone: "fear".into(),
                strength: Some(2)
            })
        );
        assert_eq!(s.unwrap().negativity(), 2);
        let joy = Sentiment::from_json(&json!({"sentiment": "joy", "strength": 3})).unwrap();
        assert_eq!(joy.negativity(), -3);
        assert_eq!(Sentiment::from_json(&json!(null)), None);
        assert_eq!(Sentiment::from_json(&json!({"emoji": "x"})), None);
    }

    #[test]
    fn priorities_as_numbers_or_words_and_orders_put_the_missing_last() {
        let t = |p: &str| Triage {
            priority: Some(p.into()),
            ..Triage::default()
        };
        assert_eq!(t("10").priority_rank(), Some(10));
        assert_eq!(t("HIGH").priority_rank(), Some(10));
        assert_eq!(t("low").priority_rank(), Some(1));
        assert_eq!(t("x").priority_rank(), None);
        let order = SessionOrder::Priority;
        let mut keys = [
            order.key(None, &Triage::default()),
            order.key(None, &t("5")),
            order.key(None, &t("10")),
        ];
        keys.sort();
        assert_eq!(keys[0], order.key(None, &t("10")));
        assert_eq!(keys[2], order.key(None, &Triage::default()));
        assert_eq!(SessionOrder::Sentiment.next(), SessionOrder::AsLoaded);
    }
}
