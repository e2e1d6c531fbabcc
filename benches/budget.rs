//! The account's budget at Kore's real rate (`cargo bench --bench budget`, about three minutes):
//! 80 moves at 60 a minute against a stand-in that refuses any call over 60 in a strict rolling
//! minute, each answered after 20–320 ms of random network delay; then two runs of 40 at once, as
//! two processes of one account (their own pacers, one budget file). Goal: each in at most 81 s
//! with no 429. Exits non-zero when a goal is missed.

use std::time::{Duration, Instant};

use switchboard::config::{self, ENV_CLIENT_SECRET, Overrides, Settings, keys};
use switchboard::dispatch::{Dispatcher, RetryPolicy};
use switchboard::engine;
use switchboard::mock::{self, MockIdentity, MockOptions, MockServer};
use switchboard::outcome::Outcome;
use switchboard::request::Target;
use switchboard::secret::Secret;

const SECRET: &str = "YmVuY2htYXJrLW9ubHktc2VjcmV0LWZvci1idWRnZXQ=";
const QUEUE: &str = "qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001";
const GOAL: Duration = Duration::from_secs(81);

fn settings(server: &MockServer, dir: &std::path::Path, run: &str) -> Settings {
    let id = server.identity();
    let mut o = Overrides::default();
    o.no_config_file = true;
    o.set(&keys::HOST, Some(server.base_url()));
    o.set(&keys::STREAM_ID, Some(&id.stream_id));
    o.set(&keys::ORG_ID, Some(&id.org_id));
    o.set(&keys::ACCOUNT_ID, Some(&id.account_id));
    o.set(&keys::APP_ID, Some(&id.app_id));
    o.set(&keys::RATE, Some(60));
    o.set(&keys::CONCURRENCY, Some(8));
    o.set(
        &keys::AUDIT_LOG,
        Some(dir.join(format!("{run}.jsonl")).display()),
    );
    let budget = dir.join("budget.ledger").display().to_string();
    Settings::load(
        &o,
        config::env_from(&[
            (ENV_CLIENT_SECRET, SECRET),
            ("SWITCHBOARD_BUDGET_FILE", &budget),
        ]),
    )
    .expect("bench settings")
}

fn dispatcher(settings: &Settings) -> Dispatcher {
    let route = engine::callback_route(
        settings,
        "127.0.0.1:9".parse().unwrap(),
        Secret::new("bench-callback-token"),
    )
    .unwrap();
    engine::dispatcher(
        settings,
        engine::client(settings, route).unwrap(),
        engine::audit_log(settings).unwrap(),
        engine::pacer(settings).unwrap(),
        RetryPolicy::default(),
    )
    .unwrap()
}

fn sessions(from: u32, n: u32) -> Vec<String> {
    (from..from + n)
        .map(|i| format!("6538f8a3c9cf425e{i:08x}"))
        .collect()
}

async fn stand_in() -> MockServer {
    mock::start(
        "127.0.0.1:0".parse().unwrap(),
        MockIdentity::demo(Secret::new(SECRET)),
        MockOptions {
            rate_limit_per_minute: 60,
            rate_window: Duration::from_secs(60),
            latency: Duration::from_millis(20),
            latency_jitter: Duration::from_millis(300),
            callback_delay: Duration::from_millis(10),
            ..MockOptions::default()
        },
    )
    .await
    .expect("the stand-in starts")
}

fn report(name: &str, took: Duration, server: &MockServer, all_transferred: bool) -> bool {
    let refused = server
        .received()
        .iter()
        .filter(|r| r.answered == Some(429))
        .count();
    let ok = took <= GOAL && refused == 0 && all_transferred;
    println!(
        "{name}: {:.1} s (goal ≤ {} s), {refused} refused with 429, all transferred: {all_transferred} — {}",
        took.as_secs_f64(),
        GOAL.as_secs(),
        if ok { "ok" } else { "MISSED" }
    );
    ok
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::queue(QUEUE);

    let server = stand_in().await;
    let one = dispatcher(&settings(&server, &dir.path().join("one"), "run"));
    let started = Instant::now();
    let reports = one.assign_all(&sessions(1, 80), &target, None).await;
    let single = report(
        "80 moves at 60/min, one run",
        started.elapsed(),
        &server,
        reports
            .iter()
            .all(|r| r.outcome == Some(Outcome::Transferred)),
    );

    let server = stand_in().await;
    let shared = dir.path().join("two");
    let (a, b) = (
        dispatcher(&settings(&server, &shared, "a")),
        dispatcher(&settings(&server, &shared, "b")),
    );
    let (ours, theirs) = (sessions(0x1001, 40), sessions(0x2001, 40));
    let started = Instant::now();
    let (ra, rb) = tokio::join!(
        a.assign_all(&ours, &target, None),
        b.assign_all(&theirs, &target, None)
    );
    let pair = report(
        "two runs of 40 at once, one budget",
        started.elapsed(),
        &server,
        ra.iter()
            .chain(&rb)
            .all(|r| r.outcome == Some(Outcome::Transferred)),
    );
    if !(single && pair) {
        std::process::exit(1);
    }
}
