//! `switchboard watch`: the account's moves as every supervisor makes them, from the shared store's
//! stream: the last 50 (or those since `--since`), then each as it comes, one JSON line each.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use switchboard::config::Settings;
use switchboard::picture;

use super::Failure;

/// What `watch` prints first when no `--since` is given.
const RECENT: usize = 50;

pub async fn run(settings: &Settings, since: Option<Duration>) -> Result<ExitCode, Failure> {
    let Some(store) = settings.store().cloned() else {
        return Err(Failure(
            "watch follows the shared store, and none is set: set shared_store (or --shared-store redis://HOST:PORT/DB)".into(),
        ));
    };
    let unreadable = |e: redis::RedisError| {
        Failure(format!(
            "cannot read the shared store {}: {e}",
            store.label()
        ))
    };
    let first = match since {
        None => store.recent_events(RECENT).await.map_err(unreadable)?,
        Some(ago) => {
            let (now, _) = store
                .read_with_time(&store.key("events"))
                .await
                .map_err(unreadable)?;
            let from = now.saturating_sub(ago.as_millis() as u64);
            store
                .events_since(from, picture::STREAM_MAX)
                .await
                .map_err(unreadable)?
        }
    };
    let last = first.last().map(|(id, _)| id.clone());
    for (_, event) in &first {
        if !print(event) {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let mut follow = picture::follow(store, last);
    loop {
        tokio::select! {
            next = follow.recv() => match next {
                Some((_, event)) => {
                    if !print(&event) {
                        return Ok(ExitCode::SUCCESS);
                    }
                }
                None => return Ok(ExitCode::SUCCESS),
            },
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        }
    }
}

/// One JSON line; false when stdout is gone (the reader went away).
fn print(event: &picture::SharedEvent) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        serde_json::to_string(event).expect("events serialize")
    )
    .is_ok()
        && out.flush().is_ok()
}
