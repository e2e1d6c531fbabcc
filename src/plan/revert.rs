//! Undoing a run: from the audit log, the plan that moves each session the run transferred back
//! where it was — to its agent when it was with one, else to its queue. Where it was comes from the
//! run's own attempt lines (`from`); a session whose origin is unknown is listed, never guessed.

use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;

use super::{LeftOut, Plan, Planned, PlannedMove};
use crate::dispatch::Origin;
use crate::request::{Target, TargetKind};

/// One session of a run, as the audit log tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMove {
    pub session: String,
    pub target: Target,
    /// Where it was before, when the attempt line says.
    pub from: Option<Origin>,
    /// Its last outcome in the run (`transferred`, `rejected`, `cancelled`, …).
    pub outcome: Option<String>,
    /// The agent (`u-`) the run's verification saw it with, when it saw one.
    pub seen_with: Option<String>,
}

#[derive(Deserialize)]
struct Line {
    event: String,
    #[serde(default)]
    run: Option<String>,
    #[serde(rename = "botSessionId", default)]
    session: Option<String>,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    from: Option<Origin>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    seen: Option<Seen>,
}

/// Where a verification saw the session.
#[derive(Deserialize)]
struct Seen {
    #[serde(default)]
    agent_user: Option<String>,
}

/// A run as the audit log tells it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunRecord {
    /// Its sessions, in the order first recorded.
    pub moves: Vec<RunMove>,
    /// The queue priorities it changed, each with its outcome (`unknown` for an attempt whose
    /// outcome is not on record).
    pub priorities: Vec<(crate::priority::Change, String)>,
    /// The host its lines name: where its sessions are, whatever the profile says now.
    pub host: Option<String>,
    /// The number (from 1) of its last line: the chain is checked through it.
    pub last_line: u64,
    /// Lines that are not UTF-8 text, skipped (by number): no run's record.
    pub unreadable: Vec<u64>,
}

/// Why a revert's plan was not written.
#[derive(Debug, Clone, PartialEq)]
pub enum RevertError {
    /// The audit log's chain is broken at or before the run's last line: what it says of the run
    /// may be forged (exit 1).
    Broken(String),
    /// No such run, or the log cannot be read (exit 2).
    Unreadable(String),
}

impl std::fmt::Display for RevertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevertError::Broken(why) | RevertError::Unreadable(why) => f.write_str(why),
        }
    }
}

/// The run `run` from the audit log at `path`, trusted only as far as the chain is whole: a break
/// at or before the run's last line refuses it, unless `force`, when it comes with the warning.
pub fn read_checked(
    path: &Path,
    run: &str,
    force: bool,
) -> Result<(RunRecord, Option<String>), RevertError> {
    let record = read_run(path, run).map_err(RevertError::Unreadable)?;
    let file = std::fs::File::open(path).map_err(|e| {
        RevertError::Unreadable(format!("cannot read the audit log {}: {e}", path.display()))
    })?;
    let chain = crate::audit::chain::verify(file).map_err(|e| {
        RevertError::Unreadable(format!("cannot read the audit log {}: {e}", path.display()))
    })?;
    let Some(first) = chain.breaks.iter().find(|b| b.line <= record.last_line) else {
        return Ok((record, None));
    };
    let why = format!(
        "the audit log {} is broken at {first}, at or before run {run}'s last line ({}): what it says of the run may not be what happened",
        path.display(),
        record.last_line
    );
    if force {
        Ok((record, Some(format!("{why}; written anyway (--force)"))))
    } else {
        Err(RevertError::Broken(format!(
            "{why}; no plan was written (`switchboard audit verify` shows every break; --force writes it with this warning)"
        )))
    }
}

/// The sessions of run `run` in the audit log at `path`, in the order first recorded.
pub fn read_run(path: &Path, run: &str) -> Result<RunRecord, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read the audit log {}: {e}", path.display()))?;
    let mut record = RunRecord::default();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut reader = std::io::BufReader::new(file);
    let mut bytes = Vec::new();
    let mut number = 0u64;
    loop {
        bytes.clear();
        let read = reader
            .read_until(b'\n', &mut bytes)
            .map_err(|e| format!("cannot read the audit log {}: {e}", path.display()))?;
        if read == 0 {
            break;
        }
        number += 1;
        let Ok(line) = std::str::from_utf8(&bytes) else {
            record.unreadable.push(number);
            continue;
        };
        // Only this run's lines are parsed whole; a torn or foreign line is no part of it.
        if !line.contains(run) {
            continue;
        }
        if line.contains(crate::priority::EVENT)
            && let Some(l) = crate::priority::parse_line(line.as_bytes())
        {
            if l.run.as_deref() == Some(run) {
                record.last_line = number;
                // The attempt is `unknown` (it may have been applied) until its outcome comes.
                let outcome = l.outcome.unwrap_or_else(|| "unknown".into());
                match record
                    .priorities
                    .iter_mut()
                    .find(|(c, _)| c.queue == l.change.queue)
                {
                    Some(known) => known.1 = outcome,
                    None => record.priorities.push((l.change, outcome)),
                }
            }
            continue;
        }
        let Ok(l) = serde_json::from_str::<Line>(line) else {
            continue;
        };
        if l.run.as_deref() != Some(run)
            || !matches!(l.event.as_str(), "attempt" | "outcome" | "verify")
        {
            continue;
        }
        let (Some(session), Some(target)) = (l.session, l.target) else {
            continue;
        };
        record.last_line = number;
        if l.host.is_some() {
            record.host = l.host;
        }
        let moves = &mut record.moves;
        let i = *index.entry(session.clone()).or_insert_with(|| {
            moves.push(RunMove {
                session,
                target,
                from: None,
                outcome: None,
                seen_with: None,
            });
            moves.len() - 1
        });
        if l.event == "verify" {
            moves[i].seen_with = l.seen.and_then(|s| s.agent_user);
            continue;
        }
        if l.event == "attempt" && l.from.is_some() {
            moves[i].from = l.from;
        }
        if l.event == "outcome" {
            moves[i].outcome = l.outcome;
        }
    }
    if record.moves.is_empty() && record.priorities.is_empty() {
        return Err(format!(
            "no run {run} in the audit log {} (the summary of each run names its id)",
            path.display()
        ));
    }
    Ok(record)
}

/// The plan that moves each session `run` transferred back where it was.
/// A session whose outcome was `unknown` may have moved: it is offered back too, with a note, and
/// the drift check decides (it goes back only if the server shows it where the run sent it). The
/// plan is for the host the run's lines name, else `host`.
pub fn plan(run: &str, record: &RunRecord, profile: &str, host: &str) -> Plan {
    let host = record.host.as_deref().unwrap_or(host);
    let mut plan = Plan::new(&format!("revert of run {run}"), profile, host);
    plan.undoes = Some(run.to_string());
    if !record.unreadable.is_empty() {
        plan.notes.push(format!(
            "audit log lines not UTF-8 text, skipped: {}",
            crate::format::line_numbers(&record.unreadable)
        ));
    }
    for (change, outcome) in &record.priorities {
        match (outcome.as_str(), change.undo()) {
            ("set" | "unknown", Some(back)) => plan.priorities.push(back),
            ("set" | "unknown", None) => plan.notes.push(format!(
                "{}: run {run} set its priority to {}, and what it replaced is unknown (switchboard never set it, and Kore has no call that reads it): not set back",
                change.queue_label(),
                change.priority
            )),
            (other, _) => plan.notes.push(format!(
                "{}: its priority was not changed in run {run} ({}): nothing to undo",
                change.queue_label(),
                if other.is_empty() { "no outcome on record" } else { other }
            )),
        }
    }
    for m in &record.moves {
        let outcome = m.outcome.as_deref();
        if outcome == Some("unknown") {
            plan.notes.push(format!(
                "{}: its outcome in run {run} was unknown, so it may have moved: offered back, and sent only if the server shows it where the run sent it",
                m.session
            ));
        } else if outcome != Some("transferred") {
            plan.left_out.push(LeftOut {
                session: m.session.clone(),
                why: format!(
                    "not transferred in run {run} ({}): nothing to undo",
                    m.outcome.as_deref().unwrap_or("no outcome on record")
                ),
            });
            continue;
        }
        let from = m.from.clone().unwrap_or_default();
        let back = match (&from.agent, &from.queue) {
            (Some(agent), _) => Target::agent(agent.clone()),
            (None, Some(queue)) => Target::queue(queue.clone()),
            (None, None) => {
                plan.left_out.push(LeftOut {
                    session: m.session.clone(),
                    why: "where it was before the run is unknown (the live data did not show it)"
                        .into(),
                });
                continue;
            }
        };
        // Where the run put it: what the drift check expects to find.
        let at = match m.target.kind {
            // With the agent's user id when the run's verification saw it there: the drift check
            // then knows the agent even if the agent list no longer names them.
            TargetKind::Agent => Origin {
                agent: Some(m.target.id.clone()),
                agent_user: m.seen_with.clone(),
                ..Origin::default()
            },
            TargetKind::Queue => Origin {
                queue: Some(m.target.id.clone()),
                ..Origin::default()
            },
        };
        // Back to where it was, named as the live data named it then.
        let target_name = match back.kind {
            TargetKind::Agent => from.agent_name.clone(),
            TargetKind::Queue => from.queue_name.clone(),
        };
        plan.moves.push(PlannedMove {
            session: m.session.clone(),
            target: back,
            target_name,
            planned: Planned {
                at,
                ..Planned::default()
            },
        });
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A priority change whose outcome never made it to the log may have been applied: it is set
    /// back like one that was; a failed one is not.
    #[test]
    fn a_priority_change_on_the_wire_when_the_process_died_is_set_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let lines = [
            r#"{"event":"queue_priority_attempt","run":"r1","queue":"qu-1","priority":8,"was":3}"#,
            r#"{"event":"queue_priority_attempt","run":"r2","queue":"qu-1","priority":9,"was":8}"#,
            r#"{"event":"queue_priority","run":"r2","queue":"qu-1","priority":9,"was":8,"outcome":"failed"}"#,
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        let died = plan("r1", &read_run(&path, "r1").unwrap(), "p", "h");
        assert_eq!(
            died.priorities
                .iter()
                .map(|c| (c.priority, c.was))
                .collect::<Vec<_>>(),
            [(3, Some(8))]
        );
        let failed = plan("r2", &read_run(&path, "r2").unwrap(), "p", "h");
        assert!(failed.priorities.is_empty());
        assert!(
            failed.notes[0].contains("nothing to undo"),
            "{:?}",
            failed.notes
        );
    }

    #[test]
    fn a_run_reads_back_from_its_lines_and_reverts_what_it_transferred() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let lines = [
            r#"{"event":"attempt","run":"r1","botSessionId":"s1","target":{"type":"queue","id":"qu-2"},"from":{"queue":"qu-1","agent":"a-1","agent_user":"u-1"},"attempt":1}"#,
            r#"{"event":"outcome","run":"r1","botSessionId":"s1","target":{"type":"queue","id":"qu-2"},"outcome":"transferred"}"#,
            r#"{"event":"attempt","run":"r1","botSessionId":"s2","target":{"type":"queue","id":"qu-2"},"from":{"queue":"qu-1"},"attempt":1}"#,
            r#"{"event":"outcome","run":"r1","botSessionId":"s2","target":{"type":"queue","id":"qu-2"},"outcome":"transferred"}"#,
            r#"{"event":"attempt","run":"r1","botSessionId":"s3","target":{"type":"queue","id":"qu-2"},"attempt":1}"#,
            r#"{"event":"outcome","run":"r1","botSessionId":"s3","target":{"type":"queue","id":"qu-2"},"outcome":"transferred"}"#,
            r#"{"event":"outcome","run":"r1","botSessionId":"s4","target":{"type":"queue","id":"qu-2"},"outcome":"cancelled"}"#,
            r#"{"event":"attempt","run":"r2","botSessionId":"s5","target":{"type":"queue","id":"qu-2"},"attempt":1}"#,
            r#"{"event":"attempt","run":"r1","botSess"#,
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        let record = read_run(&path, "r1").unwrap();
        assert_eq!(record.moves.len(), 4);
        let plan = plan("r1", &record, "p", "h");
        assert_eq!(plan.moves.len(), 2);
        assert_eq!(
            plan.moves[0].target,
            Target::agent("a-1"),
            "back to its agent"
        );
        assert_eq!(
            plan.moves[1].target,
            Target::queue("qu-1"),
            "else its queue"
        );
        assert_eq!(plan.moves[0].planned.at.queue.as_deref(), Some("qu-2"));
        let left: Vec<&str> = plan.left_out.iter().map(|l| l.why.as_str()).collect();
        assert!(left[0].contains("unknown"), "{left:?}");
        assert!(left[1].contains("cancelled"), "{left:?}");
        assert!(read_run(&path, "r9").unwrap_err().contains("no run r9"));
    }

    #[test]
    fn a_move_to_an_agent_carries_the_agent_the_verification_saw() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let lines = [
            r#"{"event":"attempt","run":"r1","botSessionId":"s1","target":{"type":"agent","id":"a-7"},"from":{"queue":"qu-1"},"attempt":1}"#,
            r#"{"event":"outcome","run":"r1","botSessionId":"s1","target":{"type":"agent","id":"a-7"},"outcome":"transferred"}"#,
            r#"{"event":"verify","run":"r1","botSessionId":"s1","target":{"type":"agent","id":"a-7"},"verified":"verified","seen":{"queue":"qu-1","agent_user":"u-7"}}"#,
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        let plan = plan("r1", &read_run(&path, "r1").unwrap(), "p", "h");
        assert_eq!(plan.moves[0].planned.at.agent.as_deref(), Some("a-7"));
        assert_eq!(plan.moves[0].planned.at.agent_user.as_deref(), Some("u-7"));
    }

    #[test]
    fn only_a_whole_chain_is_trusted_and_the_run_names_its_host() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let stamp = crate::audit::Stamp {
            process: "p".into(),
            user: "sup".into(),
            profile: Some("prod".into()),
            host: Some("https://run-host.example".into()),
        };
        let log = crate::audit::AuditLog::open(&path, stamp).unwrap();
        let target = serde_json::json!({"type": "queue", "id": "qu-2"});
        for (session, outcome) in [("s1", "transferred"), ("s2", "unknown")] {
            log.record(
                Some("r1"),
                "attempt",
                &serde_json::json!({"botSessionId": session, "target": target, "from": {"queue": "qu-1"}, "attempt": 1}),
            )
            .unwrap();
            log.record(
                Some("r1"),
                "outcome",
                &serde_json::json!({"botSessionId": session, "target": target, "outcome": outcome}),
            )
            .unwrap();
        }
        let (record, warning) = read_checked(&path, "r1", false).unwrap();
        assert_eq!(warning, None);
        assert_eq!(record.host.as_deref(), Some("https://run-host.example"));
        let plan = plan("r1", &record, "prod", "https://profile-host.example");
        assert_eq!(plan.host, "https://run-host.example", "the run's host");
        assert_eq!(plan.moves.len(), 2, "the unknown one is offered back");
        assert!(
            plan.notes
                .iter()
                .any(|n| n.starts_with("s2: its outcome in run r1 was unknown"))
        );

        // A line not UTF-8 after the run is skipped and named; the run still reads.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"\xff\xfe not text\n");
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read_run(&path, "r1").unwrap().unreadable, vec![5]);

        // An edit to the run's first line breaks the chain before its end: refused, or written
        // with the warning when forced.
        let text =
            String::from_utf8_lossy(&bytes).replace("\"queue\":\"qu-1\"", "\"queue\":\"qu-9\"");
        std::fs::write(&path, text.as_bytes()).unwrap();
        let Err(RevertError::Broken(why)) = read_checked(&path, "r1", false) else {
            panic!("a broken chain is refused")
        };
        assert!(why.contains("broken at line 1: edited"), "{why}");
        let (_, warning) = read_checked(&path, "r1", true).unwrap();
        assert!(warning.unwrap().ends_with("written anyway (--force)"));
    }
}
