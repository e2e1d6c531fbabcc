//! A filter query's field terms beside its words: `agent:chen`, `queue:billing`, `status:overdue`,
//! `channel:web`, `customer:ava` hold a row to a column's value; `wait>5m` and `wait<30s` to its
//! wait. The words that are left are ranked as before (the table's own matcher).

use std::time::Duration;

use super::table::Row;

/// The columns a field term can name.
pub const FIELDS: [&str; 5] = ["agent", "queue", "status", "channel", "customer"];

/// One condition on a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// The column's value has a word that starts with this (lower-case), or starts with it whole.
    Field { name: &'static str, value: String },
    /// The row's wait is longer (`more`) or shorter than this.
    Wait { more: bool, than: Duration },
}

impl Term {
    pub fn matches<T: Row>(&self, row: &T) -> bool {
        match self {
            Term::Field { name, value } => row.field(name).is_some_and(|v| {
                let v = v.to_lowercase();
                v.starts_with(value.as_str())
                    || v.split(|c: char| !c.is_alphanumeric())
                        .any(|w| w.starts_with(value.as_str()))
            }),
            Term::Wait { more, than } => row
                .field("wait")
                .and_then(|w| humantime::parse_duration(w.trim()).ok())
                .is_some_and(|w| if *more { w > *than } else { w < *than }),
        }
    }
}

/// A query split into its field terms and the words left for ranking.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    pub terms: Vec<Term>,
    pub words: String,
}

/// Splits the field terms out of a query. A term still being typed (`agent:`, `wait>5`) holds
/// nothing back yet, and is not ranked as a word either.
pub fn parse(query: &str) -> Query {
    let mut parsed = Query::default();
    let mut words = Vec::new();
    for word in query.split_whitespace() {
        match term(word) {
            Some(Some(term)) => parsed.terms.push(term),
            Some(None) => {}
            None => words.push(word),
        }
    }
    parsed.words = words.join(" ");
    parsed
}

/// `None`: not a field term; `Some(None)`: one still being typed.
fn term(word: &str) -> Option<Option<Term>> {
    let lower = word.to_lowercase();
    for (op, more) in [(">", true), ("<", false)] {
        if let Some(rest) = lower.strip_prefix(&format!("wait{op}")) {
            return Some(
                humantime::parse_duration(rest)
                    .ok()
                    .map(|than| Term::Wait { more, than }),
            );
        }
    }
    let (name, value) = lower.split_once(':')?;
    let name = FIELDS.iter().find(|f| **f == name)?;
    Some((!value.is_empty()).then(|| Term::Field {
        name,
        value: value.to_string(),
    }))
}

/// Whether a query has field terms (then typing more of it is not always narrowing).
pub fn has_terms(query: &str) -> bool {
    query.split_whitespace().any(|w| term(w).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_terms_come_out_and_the_words_stay() {
        let q = parse("agent:Chen wei wait>5m  refund queue:");
        assert_eq!(
            q.terms,
            [
                Term::Field {
                    name: "agent",
                    value: "chen".into()
                },
                Term::Wait {
                    more: true,
                    than: Duration::from_secs(300)
                }
            ]
        );
        assert_eq!(q.words, "wei refund", "`queue:` is still being typed");
        assert_eq!(parse("http://x").words, "http://x", "not a field");
        assert!(parse("wait>5").terms.is_empty(), "no unit yet");
    }
}
