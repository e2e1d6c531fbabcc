//! `switchboard mock`: the AgentAssist stand-in, until Ctrl-C.

use std::process::ExitCode;
use std::time::Duration;

use switchboard::config::{ENV_CLIENT_SECRET, Key, keys};
use switchboard::mock::{self, CallbackMode, Center, MockIdentity, MockOptions};
use switchboard::secret::Secret;

use super::Failure;
use crate::cli::{CallbackChoice, GlobalArgs, MockArgs};

pub async fn run(global: &GlobalArgs, args: MockArgs) -> Result<ExitCode, Failure> {
    // The stand-in's tenant: the demo's ids unless flags or the environment name others. It never reads
    // a profile, which describes a real tenant.
    let env = |key: &Key| {
        key.env
            .and_then(|var| std::env::var(var).ok())
            .filter(|v| !v.is_empty())
    };
    let (secret, generated) = match std::env::var(ENV_CLIENT_SECRET)
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(s) => (Secret::new(s), false),
        None => (Secret::random(32), true),
    };
    let mut identity = MockIdentity::demo(secret);
    let pick = |flag: &Option<String>, key: &Key, default: &mut String| {
        if let Some(v) = flag.clone().or_else(|| env(key)) {
            *default = v;
        }
    };
    pick(&global.stream_id, &keys::STREAM_ID, &mut identity.stream_id);
    pick(&global.org_id, &keys::ORG_ID, &mut identity.org_id);
    pick(
        &global.account_id,
        &keys::ACCOUNT_ID,
        &mut identity.account_id,
    );
    pick(&global.app_id, &keys::APP_ID, &mut identity.app_id);
    if let Some(path) = &args.public_key_file {
        identity.public_key_pem = Some(
            std::fs::read_to_string(path)
                .map_err(|e| Failure(format!("--public-key-file {}: {e}", path.display())))?,
        );
    }
    let options = MockOptions {
        rate_limit_per_minute: args.rate_limit,
        rate_window: Duration::from_millis(args.rate_window_ms),
        denied_scopes: args.deny_scope.clone(),
        apply_delay: Duration::from_millis(args.apply_delay_ms),
        latency: Duration::from_millis(args.latency_ms),
        latency_jitter: Duration::from_millis(args.latency_jitter_ms),
        slow: Duration::from_millis(args.slow_ms),
        callback_delay: Duration::from_millis(args.callback_delay_ms),
        callbacks: match args.callbacks {
            CallbackChoice::Ok => CallbackMode::Ok,
            CallbackChoice::Failed => CallbackMode::Failed,
            CallbackChoice::Off => CallbackMode::Off,
        },
        force_status: args.status,
        retry_after: args.retry_after,
        non_json: args.non_json,
        center: (!args.no_center).then(|| Center::demo(tokio::time::Instant::now())),
        churn: (args.churn_secs > 0).then(|| Duration::from_secs(args.churn_secs)),
    };
    let server = mock::start(args.bind, identity.clone(), options)
        .await
        .map_err(|e| {
            Failure(format!(
                "cannot serve on {}: {e} (set --bind ADDR)",
                args.bind
            ))
        })?;
    println!(
        "switchboard mock: AgentAssist stand-in on {}",
        server.base_url()
    );
    println!("export SWITCHBOARD_HOST={}", server.base_url());
    println!("export SWITCHBOARD_STREAM_ID={}", identity.stream_id);
    println!("export SWITCHBOARD_ORG_ID={}", identity.org_id);
    println!("export SWITCHBOARD_ACCOUNT_ID={}", identity.account_id);
    println!("export SWITCHBOARD_APP_ID={}", identity.app_id);
    if generated {
        // A throwaway secret made for this stand-in alone; it signs nothing outside this machine.
        println!("export {ENV_CLIENT_SECRET}={}", identity.secret.expose());
    }
    let mut feed = server.subscribe();
    loop {
        tokio::select! {
            received = feed.recv() => match received {
                Ok(r) => println!(
                    "{:>8} ms  {}  {}  {}",
                    r.at_ms,
                    r.session.as_deref().unwrap_or("-"),
                    r.answered.map(|s| s.to_string()).unwrap_or_default(),
                    r.message
                ),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => println!("({n} requests not shown)"),
                Err(_) => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(ExitCode::SUCCESS)
}
