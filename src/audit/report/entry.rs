//! One line of the audit log as the report reads it: the fields it needs, found by a quick scan of
//! the line's top-level members (the full JSON parser for anything the scan does not take), with
//! strings borrowed from the line rather than copied.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::dispatch::Origin;

/// The fields of a line the report reads; the rest (request and response bodies) is skipped.
#[derive(Deserialize)]
pub(super) struct Entry<'a> {
    #[serde(borrow)]
    pub(super) ts: Text<'a>,
    #[serde(borrow, default)]
    pub(super) run: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) process: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) user: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) profile: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) host: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) event: Text<'a>,
    #[serde(rename = "botSessionId", borrow, default)]
    pub(super) session: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) target: Option<TargetRef<'a>>,
    #[serde(borrow, default)]
    pub(super) target_name: Option<Text<'a>>,
    #[serde(default)]
    pub(super) from: Option<Origin>,
    #[serde(default)]
    pub(super) attempt: Option<u32>,
    /// A move's outcome word (`transferred`, …) or a priority change's (`set`, …).
    #[serde(borrow, default)]
    pub(super) outcome: Option<Text<'a>>,
    #[serde(default)]
    pub(super) http_status: Option<u16>,
    #[serde(borrow, default)]
    pub(super) message: Option<Text<'a>>,
    #[serde(default)]
    pub(super) latency_ms: Option<u64>,
    #[serde(default)]
    pub(super) accepted: Option<bool>,
    #[serde(borrow, default)]
    pub(super) status: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) body: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(super) verified: Option<Text<'a>>,
    /// A priority change's queue name, value, and the value it replaced when known.
    #[serde(borrow, default)]
    pub(super) queue_name: Option<Text<'a>>,
    #[serde(default, deserialize_with = "crate::priority::read_known_or_unknown")]
    pub(super) priority: Option<u8>,
    #[serde(default, deserialize_with = "crate::priority::read_known_or_unknown")]
    pub(super) was: Option<u8>,
}

impl<'a> Entry<'a> {
    /// The entry read the quick way: the line's top-level members are found by scanning, and only
    /// the values the report reads are decoded; none when the line is not a plain JSON object (the
    /// full parser then reads it).
    pub(super) fn scan(line: &'a str) -> Option<Entry<'a>> {
        let mut e = Entry {
            ts: Text(Cow::Borrowed("")),
            run: None,
            process: None,
            user: None,
            profile: None,
            host: None,
            event: Text(Cow::Borrowed("")),
            session: None,
            target: None,
            target_name: None,
            from: None,
            attempt: None,
            outcome: None,
            http_status: None,
            message: None,
            latency_ms: None,
            accepted: None,
            status: None,
            body: None,
            verified: None,
            queue_name: None,
            priority: None,
            was: None,
        };
        let (mut has_ts, mut has_event) = (false, false);
        let mut ok = true;
        let decoded = members(line, |key, raw| {
            let text = || Text::decode(raw);
            let value = |v: Option<Text<'a>>, ok: &mut bool| {
                *ok &= v.is_some() || raw == "null";
                v
            };
            match key {
                "ts" => match Text::decode(raw) {
                    Some(t) => (e.ts, has_ts) = (t, true),
                    None => ok = false,
                },
                "event" => match Text::decode(raw) {
                    Some(t) => (e.event, has_event) = (t, true),
                    None => ok = false,
                },
                "run" => e.run = value(text(), &mut ok),
                "process" => e.process = value(text(), &mut ok),
                "user" => e.user = value(text(), &mut ok),
                "profile" => e.profile = value(text(), &mut ok),
                "host" => e.host = value(text(), &mut ok),
                "botSessionId" => e.session = value(text(), &mut ok),
                "message" => e.message = value(text(), &mut ok),
                "status" => e.status = value(text(), &mut ok),
                "verified" => e.verified = value(text(), &mut ok),
                "target" => e.target = serde_json::from_str(raw).ok()?,
                "target_name" => e.target_name = value(text(), &mut ok),
                "from" => e.from = serde_json::from_str(raw).ok()?,
                "attempt" => e.attempt = serde_json::from_str(raw).ok()?,
                "outcome" => e.outcome = value(text(), &mut ok),
                "queue_name" => e.queue_name = value(text(), &mut ok),
                "priority" => e.priority = serde_json::from_str(raw).ok(),
                "was" => e.was = serde_json::from_str(raw).ok(),
                "http_status" => e.http_status = serde_json::from_str(raw).ok()?,
                "latency_ms" => e.latency_ms = serde_json::from_str(raw).ok()?,
                "accepted" => e.accepted = serde_json::from_str(raw).ok()?,
                "body" => e.body = serde_json::from_str(raw).ok()?,
                _ => {}
            }
            Some(())
        });
        (decoded.is_some() && ok && has_ts && has_event).then_some(e)
    }
}

/// Calls `each` with the key and the raw value of each top-level member of a one-line JSON object;
/// none when the line is not one (or `each` says no). Strings are skipped by their quotes and
/// escapes, nested values by their brackets; nothing else is decoded.
fn members<'a>(line: &'a str, mut each: impl FnMut(&'a str, &'a str) -> Option<()>) -> Option<()> {
    let b = line.as_bytes();
    let ws = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut i = ws(0);
    (b.get(i) == Some(&b'{')).then_some(())?;
    i = ws(i + 1);
    if b.get(i) == Some(&b'}') {
        return (ws(i + 1) == b.len()).then_some(());
    }
    loop {
        (b.get(i) == Some(&b'"')).then_some(())?;
        let key_end = string_end(b, i)?;
        let key = &line[i + 1..key_end - 1];
        // A key with an escape is none the report reads; the full parser handles the line.
        (!key.contains('\\')).then_some(())?;
        i = ws(key_end);
        (b.get(i) == Some(&b':')).then_some(())?;
        i = ws(i + 1);
        let start = i;
        i = value_end(b, i)?;
        each(key, &line[start..i])?;
        i = ws(i);
        match b.get(i) {
            Some(b',') => i = ws(i + 1),
            Some(b'}') => return (ws(i + 1) == b.len()).then_some(()),
            _ => return None,
        }
    }
}

/// Where the string starting at `i` (its opening quote) ends: just past its closing quote.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    // A plain loop: the strings here are short, shorter than a vector search pays off for.
    let mut j = i + 1;
    loop {
        match b.get(j)? {
            b'"' => return Some(j + 1),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
}

/// Where the value starting at `i` ends.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let end = b[i..]
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace())
                .map_or(b.len(), |p| i + p);
            (end > i).then_some(end)
        }
    }
}

/// A string of a line, borrowed from it unless it holds an escape (serde copies every
/// `Option<Cow<str>>`; this is the borrowing kind).
pub(super) struct Text<'a>(pub(super) Cow<'a, str>);

impl<'a> Text<'a> {
    /// A raw JSON string value: borrowed when it holds no escape; none when it is not a string.
    fn decode(raw: &'a str) -> Option<Text<'a>> {
        let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
        if !inner.contains('\\') {
            return Some(Text(Cow::Borrowed(inner)));
        }
        serde_json::from_str::<String>(raw)
            .ok()
            .map(|s| Text(Cow::Owned(s)))
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Borrowing;
        impl<'de> serde::de::Visitor<'de> for Borrowing {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(Borrowing).map(Text)
    }
}

/// A target as a line holds it, read without copying; a `Target` only for a session's first line.
#[derive(Deserialize)]
pub(super) struct TargetRef<'a> {
    #[serde(rename = "type")]
    pub(super) kind: crate::request::TargetKind,
    #[serde(borrow)]
    pub(super) id: Cow<'a, str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a line says, as a test compares it.
    fn said(e: &Entry) -> String {
        let t = |v: &Option<Text>| v.as_deref().map(str::to_string);
        format!(
            "{:?}",
            (
                (&*e.ts, &*e.event, t(&e.run), t(&e.process)),
                (t(&e.user), t(&e.profile), t(&e.host), t(&e.session)),
                e.target.as_ref().map(|t| (t.kind, t.id.to_string())),
                &e.from,
                (
                    e.attempt,
                    t(&e.outcome),
                    e.http_status,
                    e.latency_ms,
                    e.accepted
                ),
                (t(&e.message), t(&e.status), t(&e.verified)),
                (t(&e.queue_name), e.priority, e.was),
                e.body.map(|b| b.get().to_string()),
            )
        )
    }

    #[test]
    fn the_quick_reading_of_a_line_is_the_full_parsers() {
        let lines = [
            r#"{"ts":"2026-11-28T03:00:00.000Z","run":"r1","process":"p","user":"sup","profile":"prod","host":"https://h","event":"attempt","botSessionId":"s1","target":{"type":"queue","id":"qu-1"},"from":{"queue":"qu-0","agent":"a-1","agent_user":"u-1"},"attempt":2,"method":"POST","url":"https://h/x","body":{"callbackUrl":"https://t/cb/s1?t=<redacted>","n":[1,{"a":"}"}]},"seq":3,"prev":"00"}"#,
            r#"{"ts":"2026-11-28T03:00:01Z","run":"r1","event":"outcome","botSessionId":"s1","target":{"type":"agent","id":"a-2"},"attempt":1,"outcome":"rejected","http_status":404,"message":"said \"no\"\nthen | more \\ \u00e9","latency_ms":12,"response":{"errors":[{"msg":"x,}]"}]}}"#,
            r#"{ "ts" : "2026-11-28T03:00:02Z" , "run" : null , "event" : "callback" , "botSessionId" : "s1" , "accepted" : true , "status" : "transferred" , "body" : { "status" : "transferred" } }"#,
            r#"{"ts":"2026-11-28T03:00:03Z","event":"verify","botSessionId":"s1","verified":"not moved","detail":"in queue","profile":null}"#,
            r#"{"ts":"2026-11-28T03:00:04Z","run":"r2","event":"queue_priority","queue":"qu-1","queue_name":"Billing","target":{"type":"queue","id":"qu-1"},"priority":8,"was":"unknown","outcome":"set"}"#,
            r#"{"ts":"2026-11-28T03:00:05Z","run":"r3","event":"queue_priority","queue":"qu-1","target":{"type":"queue","id":"qu-1"},"priority":3,"was":8,"outcome":"failed","http_status":403}"#,
        ];
        for line in lines {
            let quick = Entry::scan(line).unwrap_or_else(|| panic!("not read quickly: {line}"));
            let full: Entry = serde_json::from_str(line).unwrap();
            assert_eq!(said(&quick), said(&full), "{line}");
        }
        // What is not one plain object is left to the full parser.
        for bad in [
            r#"[1,2]"#,
            r#"{"ts":"x","event":"a"} trailing"#,
            r#"{"ts":"x","event":"a""#,
            r#"{"ts":"x","event":"a","run":5}"#,
            r#"{"ts":"x","event":"a","attempt":"two"}"#,
            r#"{"event":"a"}"#,
        ] {
            assert!(Entry::scan(bad).is_none(), "{bad}");
        }
    }
}
