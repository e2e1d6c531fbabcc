//! Agents and queues by name as people say them: an id, the whole name, or a first or last name
//! that picks exactly one. An unknown or ambiguous name is an error that lists the candidates;
//! nothing is guessed.

use std::fmt;

/// Why a name picked nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// Nothing is called that; the names that come closest (or some of every name).
    Unknown {
        name: String,
        candidates: Vec<String>,
    },
    /// More than one is called that.
    Ambiguous {
        name: String,
        candidates: Vec<String>,
    },
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Unknown { name, candidates } if candidates.is_empty() => {
                write!(f, "nothing is called {name:?}")
            }
            NameError::Unknown { name, candidates } => write!(
                f,
                "nothing is called {name:?}; did you mean {}?",
                candidates.join(", ")
            ),
            NameError::Ambiguous { name, candidates } => write!(
                f,
                "{name:?} names {}: {}; give the whole name or the id",
                candidates.len(),
                candidates.join(", ")
            ),
        }
    }
}

/// How many candidates an error lists at most.
const SHOWN: usize = 8;

/// The index of the one item `name` picks among `(id, name)` pairs: its id, its whole name
/// (case-insensitive), or its first or last name when that picks exactly one.
pub fn resolve<'a>(
    name: &str,
    items: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
) -> Result<usize, NameError> {
    let wanted = name.trim();
    let lower = wanted.to_lowercase();
    if let Some(i) = items.clone().into_iter().position(|(id, _)| id == wanted) {
        return Ok(i);
    }
    let pick = |hits: Vec<(usize, &str)>| -> Option<Result<usize, NameError>> {
        match hits.as_slice() {
            [] => None,
            [(i, _)] => Some(Ok(*i)),
            many => Some(Err(NameError::Ambiguous {
                name: wanted.to_string(),
                candidates: many
                    .iter()
                    .take(SHOWN)
                    .map(|(_, n)| n.to_string())
                    .collect(),
            })),
        }
    };
    let whole: Vec<(usize, &str)> = items
        .clone()
        .into_iter()
        .enumerate()
        .filter(|(_, (_, n))| n.trim().to_lowercase() == lower)
        .map(|(i, (_, n))| (i, n))
        .collect();
    if let Some(result) = pick(whole) {
        return result;
    }
    let part: Vec<(usize, &str)> = items
        .clone()
        .into_iter()
        .enumerate()
        .filter(|(_, (_, n))| {
            let words: Vec<String> = n.split_whitespace().map(str::to_lowercase).collect();
            words.first() == Some(&lower) || words.last() == Some(&lower)
        })
        .map(|(i, (_, n))| (i, n))
        .collect();
    if let Some(result) = pick(part) {
        return result;
    }
    // Nothing: the names that hold what was typed, else some of them all.
    let names: Vec<&str> = items.into_iter().map(|(_, n)| n).collect();
    let close: Vec<String> = names
        .iter()
        .filter(|n| !lower.is_empty() && n.to_lowercase().contains(&lower))
        .take(SHOWN)
        .map(|n| n.to_string())
        .collect();
    let candidates = if close.is_empty() {
        names.iter().take(SHOWN).map(|n| n.to_string()).collect()
    } else {
        close
    };
    Err(NameError::Unknown {
        name: wanted.to_string(),
        candidates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENTS: [(&str, &str); 4] = [
        ("a-1", "Erin Agent"),
        ("a-2", "Chen Wei"),
        ("a-3", "Dan Agent"),
        ("a-4", "Wei Zhang"),
    ];

    #[test]
    fn an_id_a_whole_name_or_a_first_or_last_name_that_picks_one() {
        assert_eq!(resolve("a-3", AGENTS), Ok(2));
        assert_eq!(resolve("chen wei", AGENTS), Ok(1));
        assert_eq!(resolve("erin", AGENTS), Ok(0));
        assert_eq!(resolve("ZHANG", AGENTS), Ok(3));
    }

    #[test]
    fn an_ambiguous_or_unknown_name_lists_the_candidates_and_picks_nothing() {
        let err = resolve("agent", AGENTS).unwrap_err();
        assert_eq!(
            err,
            NameError::Ambiguous {
                name: "agent".into(),
                candidates: vec!["Erin Agent".into(), "Dan Agent".into()]
            }
        );
        assert!(err.to_string().contains("names 2: Erin Agent, Dan Agent"));
        let err = resolve("wei", AGENTS).unwrap_err();
        assert!(matches!(err, NameError::Ambiguous { .. }), "{err}");
        let err = resolve("che", AGENTS).unwrap_err();
        assert_eq!(
            err,
            NameError::Unknown {
                name: "che".into(),
                candidates: vec!["Chen Wei".into()]
            },
            "a part of a name is not a name"
        );
    }
}
