//! `switchboard --demo`: the stand-in and the listener on loopback with a generated secret, and a
//! bulk move of sample sessions through the same path as `assign`. (The console takes this over once
//! it exists.)

use std::process::ExitCode;
use std::time::Duration;

use switchboard::config::{self, ENV_CLIENT_SECRET, Settings, keys};
use switchboard::dispatch::RetryPolicy;
use switchboard::input::{Format, parse_sessions};
use switchboard::mock::{self, MockIdentity, MockOptions};
use switchboard::request::Target;
use switchboard::secret::Secret;

use super::assign::{AssignOptions, execute};
use super::{Failure, start_logging};
use crate::cli::GlobalArgs;

pub const DEMO_SESSIONS: &str = include_str!("../../assets/demo/sessions.csv");
pub const DEMO_QUEUES: &str = include_str!("../../assets/demo/queues.csv");

/// The sample sessions the demo moves: ordinary ones and one of most failures the stand-in can show.
/// (A 401 session is left out: it would stop the run, which is the point of it, but not of a demo.)
fn demo_selection(all: Vec<String>) -> Vec<String> {
    let ordinary = all
        .iter()
        .filter(|s| mock::trigger_for(s).is_none())
        .take(6);
    let faults = all
        .iter()
        .filter(|s| mock::trigger_for(s).is_some() && !s.ends_with("0401"));
    ordinary.chain(faults).cloned().collect()
}

pub async fn run(global: &GlobalArgs) -> Result<ExitCode, Failure> {
    let secret = Secret::random(32);
    let identity = MockIdentity::demo(secret.clone());
    let options = MockOptions {
        slow: Duration::from_secs(30),
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
    overrides.set(&keys::LISTEN, Some("127.0.0.1:0"));
    overrides.set(&keys::CALLBACK_URL, None::<String>);
    if !overrides.has(&keys::TIMEOUT) {
        overrides.set(&keys::TIMEOUT, Some(3));
    }
    if !overrides.has(&keys::AUDIT_LOG) {
        // Demo attempts stay out of the real audit log.
        let path = std::env::temp_dir()
            .join("switchboard-demo")
            .join("audit.jsonl");
        overrides.set(&keys::AUDIT_LOG, Some(path.display()));
    }
    let settings = Settings::load(
        &overrides,
        config::env_from(&[(ENV_CLIENT_SECRET, secret.expose())]),
    )?;
    start_logging(&settings, global.verbose);

    let sessions = parse_sessions("assets/demo/sessions.csv", DEMO_SESSIONS, Format::Csv)?;
    let queue =
        switchboard::input::parse_queues("assets/demo/queues.csv", DEMO_QUEUES, Format::Csv)?
            .rows
            .into_iter()
            .next()
            .ok_or_else(|| Failure("the demo queues file is empty".into()))?;
    let selection = demo_selection(sessions.rows.into_iter().map(|r| r.id).collect());
    eprintln!(
        "switchboard demo: stand-in on {}; moving {} sample sessions to queue {} ({}), paced at {}/min…",
        server.base_url(),
        selection.len(),
        queue.name,
        queue.id,
        settings.rate_per_minute()?
    );
    let options = AssignOptions {
        dry_run: false,
        json: false,
        wait_callbacks: Some(Duration::from_secs(3)),
        policy: RetryPolicy {
            default_retry_after: Duration::from_secs(2),
            ..RetryPolicy::default()
        },
    };
    execute(&settings, selection, Target::queue(queue.id), options).await
}
