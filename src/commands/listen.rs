//! `switchboard listen`: only the callback listener, one JSON line per callback on stdout.

use std::io::Write;
use std::process::ExitCode;

use switchboard::config::Settings;
use switchboard::{engine, listener};

use super::Failure;

pub async fn run(settings: &Settings) -> Result<ExitCode, Failure> {
    let bind = settings.listen()?;
    if settings.callback_token().is_none() {
        eprintln!(
            "switchboard: warning: no callback_token is set, so this listener made its own and will refuse the \
             callbacks of other runs; set SWITCHBOARD_CALLBACK_TOKEN (the same for `assign`) to share one"
        );
    }
    let token = engine::callback_token(settings);
    let audit = engine::audit_log(settings)?;
    let mut listener = listener::start(bind, token, Some(audit))
        .await
        .map_err(|e| Failure(listener::bind_error(bind, &e)))?;
    eprintln!(
        "switchboard: listening for callbacks on http://{}/callback/{{botSessionId}}?t=… (Ctrl-C stops)",
        listener.addr
    );
    loop {
        tokio::select! {
            event = listener.events.recv() => {
                let Some(event) = event else { break };
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", serde_json::to_string(&event).expect("events serialize"));
                let _ = out.flush();
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(ExitCode::SUCCESS)
}
