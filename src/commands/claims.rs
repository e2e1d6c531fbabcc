//! `switchboard claims`: the sessions runs of this account on this machine are moving now, and those
//! they moved in the last 10 minutes; `claims release RUN` ends a run's claims and marks, on record.

use std::process::ExitCode;
use std::time::Duration;

use switchboard::claims::{Claim, Held};
use switchboard::config::Settings;
use switchboard::{engine, format};

use super::Failure;
use crate::cli::ClaimsAction;

pub async fn run(settings: &Settings, action: Option<ClaimsAction>) -> Result<ExitCode, Failure> {
    let claims = engine::claims(settings)?;
    let path = claims.place();
    match action {
        None => {
            let (list, now) = claims
                .list()
                .await
                .map_err(|e| Failure(format!("cannot read the claims ({path}): {e}")))?;
            if list.is_empty() {
                eprintln!(
                    "switchboard: no session is claimed or was moved in the last 10 minutes ({path})"
                );
                return Ok(ExitCode::SUCCESS);
            }
            print_table(&list, now);
            Ok(ExitCode::SUCCESS)
        }
        Some(ClaimsAction::Release { run }) => {
            let ended = claims
                .release(&run)
                .await
                .map_err(|e| Failure(format!("cannot change the claims ({path}): {e}")))?;
            if ended == 0 {
                return Err(Failure(format!(
                    "run {} holds no claim or mark ({path}); `switchboard claims` lists them",
                    format::one_line(&run)
                )));
            }
            let audit = engine::audit_log(settings)?;
            audit
                .record(
                    Some(&run),
                    "claims_released",
                    &serde_json::json!({ "released": ended, "by": switchboard::claims::who() }),
                )
                .map_err(|e| {
                    Failure(format!(
                        "released {ended} claim(s) of run {run}, but cannot write the audit log {}: {e}",
                        audit.path().display()
                    ))
                })?;
            eprintln!(
                "switchboard: released {ended} claim(s) and mark(s) of run {run}; on record in {}",
                audit.path().display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One row per claim: the session, the run, who, and what it holds.
fn print_table(list: &[Claim], now: u64) {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            let state = match c.held(now) {
                Held::Claimed { .. } => format!(
                    "moving for {}",
                    format::duration(Duration::from_millis(now.saturating_sub(c.since)))
                ),
                Held::Moved { ago, .. } => format!("moved {} ago", format::duration(ago)),
            };
            vec![c.session.clone(), c.run.clone(), c.who.clone(), state]
        })
        .collect();
    format::write_table(
        &mut std::io::stdout().lock(),
        &["SESSION", "RUN", "WHO", "STATE"],
        &rows,
    );
}
