//! The outcome of one attempt (SPEC §4): the same words on screen, in `--json` output and in the audit
//! log. Classifying a response is pure, so every row of the SPEC's table is unit-tested here.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 2xx and a JSON body whose `status` is `transferred`.
    Transferred,
    /// A 4xx other than 401, 403 and 429: the platform refused this one session.
    Rejected,
    /// 401 or 403: every later call would fail the same way, so a bulk move stops.
    Unauthorized,
    /// 429, or a 4xx error envelope saying the rate limit was exceeded, still so after the retries.
    RateLimited,
    /// 5xx (whatever its body says), or the request was never delivered.
    Failed,
    /// It may have reached the platform and the result is not known (a timeout after sending, a cut
    /// connection, a 2xx that is not `transferred`); never retried by itself.
    Unknown,
    /// Never sent: the run was stopped (`x`, quit, a signal, an `unauthorized`) or could not record it.
    Cancelled,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Transferred,
        Outcome::Rejected,
        Outcome::Unauthorized,
        Outcome::RateLimited,
        Outcome::Failed,
        Outcome::Unknown,
        Outcome::Cancelled,
    ];

    /// The outcome a word names (`transferred`, `rate_limited`, …); none for any other word.
    pub fn from_word(word: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == word)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Transferred => "transferred",
            Outcome::Rejected => "rejected",
            Outcome::Unauthorized => "unauthorized",
            Outcome::RateLimited => "rate_limited",
            Outcome::Failed => "failed",
            Outcome::Unknown => "unknown",
            Outcome::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one HTTP response means.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub outcome: Outcome,
    pub message: String,
    /// For `rate_limited`: how long the platform asked us to wait, when it said.
    pub retry_after: Option<Duration>,
}

/// Longest server message kept from a raw (non-JSON) body.
const MAX_RAW_MESSAGE: usize = 300;

/// Reads one answer as SPEC §4's table says. Only a 429, or a 4xx in Kore's rate-limit words (JSON
/// or text), is `rate_limited` (and so retried): a 2xx that mentions it is still `unknown` and a 5xx
/// is still `failed`, since either may have acted and must never be sent again by itself.
pub fn classify(status: u16, retry_after: Option<&str>, body: &[u8]) -> Classified {
    let message = server_message(body);
    let retry_after = retry_after.and_then(parse_retry_after);
    let make = |outcome, message: String| Classified {
        outcome,
        message,
        retry_after: if outcome == Outcome::RateLimited {
            retry_after
        } else {
            None
        },
    };
    match status {
        200..=299 => {
            let parsed: Option<Value> = serde_json::from_slice(body).ok();
            match parsed
                .as_ref()
                .and_then(|v| v.get("status"))
                .and_then(Value::as_str)
            {
                Some(s) if s.eq_ignore_ascii_case("transferred") => {
                    make(Outcome::Transferred, String::new())
                }
                Some(other) => make(
                    Outcome::Unknown,
                    format!("HTTP {status} but status is {other:?}: {message}"),
                ),
                None if parsed.is_some() => make(
                    Outcome::Unknown,
                    format!("HTTP {status} without a status field: {message}"),
                ),
                None => make(
                    Outcome::Unknown,
                    format!("HTTP {status} with a body that is not JSON: {message}"),
                ),
            }
        }
        429 => make(Outcome::RateLimited, message),
        // Kore documents the words of a rate-limit refusal, not its status: whatever 4xx carries
        // them (a 400, even a 403) is waited out and retried, never taken as the session refused
        // or the app unauthorized.
        400..=499 if says_rate_limit(&message) => make(Outcome::RateLimited, message),
        401 | 403 => make(Outcome::Unauthorized, message),
        400..=499 => make(Outcome::Rejected, message),
        500..=599 => make(Outcome::Failed, message),
        _ => make(
            Outcome::Failed,
            format!("unexpected HTTP {status}: {message}"),
        ),
    }
}

/// The platform's own words: `errors[].msg`, else `message`, else the raw body (kore-api.md §4).
pub fn server_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        if let Some(errors) = v.get("errors").and_then(Value::as_array) {
            let msgs: Vec<&str> = errors
                .iter()
                .filter_map(|e| e.get("msg").and_then(Value::as_str))
                .collect();
            if !msgs.is_empty() {
                return msgs.join("; ");
            }
        }
        if let Some(m) = v.get("message").and_then(Value::as_str) {
            return m.to_string();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX_RAW_MESSAGE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Whether the platform's words (an envelope's `errors[].msg` or `message`, else a plain-text body)
/// are one of Kore's rate-limit refusals: "You've exceeded the per-minute rate limit…" or the older
/// "Rate limit for this API has been reached…". A page that merely mentions the limit is not one.
pub fn says_rate_limit(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    (m.contains("rate limit") || m.contains("rate-limit"))
        && (m.contains("exceed") || m.contains("has been reached"))
}

/// `Retry-After` as whole seconds. The HTTP-date form is not used by Kore as far as anyone has seen; it
/// falls back to the default wait.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_success_is_transferred() {
        let body = br#"{"sessionId":"6538f8a3c9cf425ee5cf0001","agentId":"a-8cd2673-0cb7-462d-9453-0ee60e520001","status":"transferred","requestCompletedAt":1698825180041,"extra":1}"#;
        assert_eq!(classify(200, None, body).outcome, Outcome::Transferred);
    }

    #[test]
    fn two_xx_that_is_not_the_expected_json_is_unknown() {
        for body in [
            &b"<html>ok</html>"[..],
            b"{\"status\":\"queued\"}",
            b"{}",
            b"",
        ] {
            let c = classify(200, None, body);
            assert_eq!(c.outcome, Outcome::Unknown, "{body:?}");
        }
    }

    #[test]
    fn both_error_envelopes_give_the_server_message() {
        let c = classify(
            404,
            None,
            br#"{"errors":[{"msg":"Session not found","code":404}]}"#,
        );
        assert_eq!(
            (c.outcome, c.message.as_str()),
            (Outcome::Rejected, "Session not found")
        );
        let c = classify(
            400,
            None,
            br#"{"code":400,"message":"Linked bot details could not be found"}"#,
        );
        assert_eq!(
            (c.outcome, c.message.as_str()),
            (Outcome::Rejected, "Linked bot details could not be found")
        );
        let c = classify(409, None, b"conflict, plain text");
        assert_eq!(c.message, "conflict, plain text");
    }

    #[test]
    fn auth_failures_are_unauthorized() {
        assert_eq!(classify(401, None, b"").outcome, Outcome::Unauthorized);
        assert_eq!(classify(403, None, b"").outcome, Outcome::Unauthorized);
    }

    #[test]
    fn rate_limits_by_status_or_by_body() {
        let c = classify(429, Some("7"), b"");
        assert_eq!(
            (c.outcome, c.retry_after),
            (Outcome::RateLimited, Some(Duration::from_secs(7)))
        );
        let c = classify(429, None, b"");
        assert_eq!((c.outcome, c.retry_after), (Outcome::RateLimited, None));
        let body = br#"{"errors":[{"msg":"You've exceeded the per-minute rate limit. Please wait for sometime before retrying.","code":400}]}"#;
        assert_eq!(classify(400, None, body).outcome, Outcome::RateLimited);
        let other_envelope =
            br#"{"code":403,"message":"You've exceeded the per-minute rate limit."}"#;
        assert_eq!(
            classify(403, None, other_envelope).outcome,
            Outcome::RateLimited,
            "Kore's words, whatever the 4xx: waited and retried, never stopping the run"
        );
        assert_eq!(
            classify(
                400,
                None,
                b"Rate limit for this API has been reached. Try later."
            )
            .outcome,
            Outcome::RateLimited,
            "the older wording, as plain text"
        );
        assert_eq!(
            classify(403, None, br#"{"message":"app not authorized"}"#).outcome,
            Outcome::Unauthorized
        );
        assert_eq!(
            classify(400, None, b"<html>see our rate limit policy</html>").outcome,
            Outcome::Rejected,
            "a mention is not a refusal"
        );
        assert_eq!(
            classify(
                400,
                None,
                br#"{"message":"You've exceeded the per-minute rate limit"}"#
            )
            .outcome,
            Outcome::RateLimited
        );
    }

    #[test]
    fn words_about_the_rate_limit_do_not_make_other_answers_retried() {
        let body = br#"{"errors":[{"msg":"You've exceeded the per-minute rate limit. Please wait for sometime before retrying.","code":400}]}"#;
        // A 2xx may have acted: unknown, never sent again. A 5xx is failed, never sent again.
        assert_eq!(classify(200, None, body).outcome, Outcome::Unknown);
        assert_eq!(classify(500, None, body).outcome, Outcome::Failed);
        assert_eq!(
            classify(503, None, b"rate limit exceeded").outcome,
            Outcome::Failed
        );
        // Kore's words as plain text count (its docs give the words, not the body's shape); an
        // envelope about something else is a rejection.
        assert_eq!(
            classify(400, None, b"you have exceeded the rate limit").outcome,
            Outcome::RateLimited
        );
        assert_eq!(
            classify(
                400,
                None,
                br#"{"errors":[{"msg":"See our rate limit docs","code":400}]}"#
            )
            .outcome,
            Outcome::Rejected
        );
    }

    #[test]
    fn server_errors_fail() {
        assert_eq!(classify(500, None, b"oops").outcome, Outcome::Failed);
        assert_eq!(classify(503, None, b"").outcome, Outcome::Failed);
        assert_eq!(classify(302, None, b"").outcome, Outcome::Failed);
    }

    #[test]
    fn long_raw_bodies_are_cut() {
        let body = "x".repeat(1000);
        assert!(server_message(body.as_bytes()).chars().count() <= MAX_RAW_MESSAGE + 1);
    }

    #[test]
    fn words_match_the_spec() {
        let words: Vec<_> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(
            words,
            [
                "transferred",
                "rejected",
                "unauthorized",
                "rate_limited",
                "failed",
                "unknown",
                "cancelled"
            ]
        );
        assert_eq!(
            serde_json::to_string(&Outcome::RateLimited).unwrap(),
            "\"rate_limited\""
        );
    }
}
