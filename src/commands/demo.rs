//! `switchboard --demo`: the console against the built-in stand-in and a listener on loopback, with a
//! generated secret and the sample data in `assets/demo/`. No account, no config file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use switchboard::config::{self, ENV_CLIENT_SECRET, Settings, keys};
use switchboard::console::app::{LoadedRows, Pane};
use switchboard::console::{self, Startup};
use switchboard::demo;
use switchboard::dispatch::RetryPolicy;
use switchboard::mock::{self, Center, MockIdentity, MockOptions};
use switchboard::secret::Secret;

use super::{Failure, start_logging};
use crate::cli::GlobalArgs;

/// The demo's sample rows for the console's panes.
pub fn sample_data() -> Result<Vec<(String, LoadedRows)>, Failure> {
    Ok(vec![
        (
            "assets/demo/sessions.csv".into(),
            LoadedRows::Sessions(demo::sessions()?),
        ),
        (
            "assets/demo/agents.csv".into(),
            LoadedRows::Agents(demo::agents()?),
        ),
        (
            "assets/demo/queues.csv".into(),
            LoadedRows::Queues(demo::queues()?),
        ),
    ])
}

pub async fn run(global: &GlobalArgs, files: Vec<(Pane, PathBuf)>) -> Result<ExitCode, Failure> {
    let secret = Secret::random(32);
    let identity = MockIdentity::demo(secret.clone());
    // Callbacks come a little after the answer, so a row shows `waiting` before `ok`.
    let options = MockOptions {
        callback_delay: Duration::from_millis(1500),
        // A simulated center whose state moves: transfers change it, and customers come and go.
        // With an incident going on: every alert and warning shows within a minute.
        center: Some(Center::demo(tokio::time::Instant::now()).incident()),
        churn: Some(Duration::from_secs(8)),
        // A transfer shows in the read APIs a moment after it is answered, as on the platform.
        apply_delay: Duration::from_millis(1000),
        ..MockOptions::default()
    };
    let server = mock::start(
        "127.0.0.1:0".parse().expect("valid address"),
        identity.clone(),
        options,
    )
    .await
    .map_err(|e| Failure(format!("cannot start the stand-in on loopback: {e}")))?;

    let mut overrides = global.overrides();
    overrides.no_config_file = true;
    overrides.set(&keys::HOST, Some(server.base_url()));
    overrides.set(&keys::STREAM_ID, Some(&identity.stream_id));
    overrides.set(&keys::ORG_ID, Some(&identity.org_id));
    overrides.set(&keys::ACCOUNT_ID, Some(&identity.account_id));
    overrides.set(&keys::APP_ID, Some(&identity.app_id));
    if !overrides.has(&keys::LISTEN) {
        overrides.set(&keys::LISTEN, Some("127.0.0.1:0"));
    }
    if !overrides.has(&keys::TIMEOUT) {
        // The stand-in's slow session (…0408) then shows `unknown` in seconds, not minutes.
        overrides.set(&keys::TIMEOUT, Some(3));
    }
    if !overrides.has(&keys::AUDIT_LOG) {
        // Demo attempts stay out of the real audit log.
        let path = std::env::temp_dir()
            .join("switchboard-demo")
            .join("audit.jsonl");
        overrides.set(&keys::AUDIT_LOG, Some(path.display()));
    }
    // The demo's call budget and claims are its own stand-in's (each demo serves its own account):
    // in a folder of this demo's, gone when it ends, so no later demo (which may get the same port)
    // finds this one's marks.
    let own = std::env::temp_dir().join("switchboard-demo");
    std::fs::create_dir_all(&own)
        .map_err(|e| Failure(format!("cannot make {}: {e}", own.display())))?;
    let budget_dir = tempfile::Builder::new()
        .prefix("budget-")
        .tempdir_in(&own)
        .map_err(|e| Failure(format!("cannot make a folder in {}: {e}", own.display())))?;
    let budget = budget_dir.path().join("demo.ledger").display().to_string();
    let env = config::env_from(&[
        (ENV_CLIENT_SECRET, secret.expose()),
        ("SWITCHBOARD_CALLBACK_WAIT_SECS", "10"),
        ("SWITCHBOARD_BUDGET_FILE", &budget),
    ]);
    let settings = Settings::load(&overrides, env)?;
    start_logging(&settings, global.verbose);
    let startup = Startup {
        files,
        preloaded: sample_data()?,
        policy: RetryPolicy::default(),
        label: Some("demo".into()),
        live: true,
        greeting: Some(format!(
            "demo against the stand-in on {}: Space marks sessions, 3 then j/k and Enter pick a queue, y sends · ? help",
            server.base_url()
        )),
    };
    let code = console::run(&settings, startup).await.map_err(Failure);
    drop(budget_dir);
    code
}
