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
}

/// The sessions of run `run` in the audit log at `path`, in the order first recorded.
pub fn read_run(path: &Path, run: &str) -> Result<Vec<RunMove>, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read the audit log {}: {e}", path.display()))?;
    let mut moves: Vec<RunMove> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in std::io::BufReader::new(file).lines() {
        let line =
            line.map_err(|e| format!("cannot read the audit log {}: {e}", path.display()))?;
        // Only this run's lines are parsed whole; a torn or foreign line is no part of it.
        if !line.contains(run) {
            continue;
        }
        let Ok(l) = serde_json::from_str::<Line>(&line) else {
            continue;
        };
        if l.run.as_deref() != Some(run) || !matches!(l.event.as_str(), "attempt" | "outcome") {
            continue;
        }
        let (Some(session), Some(target)) = (l.session, l.target) else {
            continue;
        };
        let i = *index.entry(session.clone()).or_insert_with(|| {
            moves.push(RunMove {
                session,
                target,
                from: None,
                outcome: None,
            });
            moves.len() - 1
        });
        if l.event == "attempt" && l.from.is_some() {
            moves[i].from = l.from;
        }
        if l.event == "outcome" {
            moves[i].outcome = l.outcome;
        }
    }
    if moves.is_empty() {
        return Err(format!(
            "no run {run} in the audit log {} (the summary of each run names its id)",
            path.display()
        ));
    }
    Ok(moves)
}

/// The plan that moves each session `run` transferred back where it was.
pub fn plan(run: &str, moves: &[RunMove], profile: &str, host: &str) -> Plan {
    let mut plan = Plan::new(&format!("revert of run {run}"), profile, host);
    for m in moves {
        if m.outcome.as_deref() != Some("transferred") {
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
            TargetKind::Agent => Origin {
                agent: Some(m.target.id.clone()),
                ..Origin::default()
            },
            TargetKind::Queue => Origin {
                queue: Some(m.target.id.clone()),
                ..Origin::default()
            },
        };
        plan.moves.push(PlannedMove {
            session: m.session.clone(),
            target: back,
            target_name: None,
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
        let moves = read_run(&path, "r1").unwrap();
        assert_eq!(moves.len(), 4);
        let plan = plan("r1", &moves, "p", "h");
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
}
