//! The account's budget at Kore's real rate (`cargo bench --bench budget`, about three minutes):
//! 80 moves at 60 a minute against a stand-in that refuses any call over 60 in a strict rolling
//! minute, each answered after 20–320 ms of random network delay; then two runs of 40 at once, as
//! two processes of one account (their own pacers, one budget file); then the same two runs as two
//! machines sharing the budget through a `redis-server` the bench starts, and a slot's grant latency
//! through the store with 8 processes competing (median and 99th percentile). Goal: each run in at
//! most 81 s with no 429. Exits non-zero when a goal is missed.

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
    settings_on(server, dir, run, None)
}

/// As `settings`, sharing through the store at `store` when given.
fn settings_on(
    server: &MockServer,
    dir: &std::path::Path,
    run: &str,
    store: Option<&str>,
) -> Settings {
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
    let mut env = vec![
        (ENV_CLIENT_SECRET, SECRET),
        ("SWITCHBOARD_BUDGET_FILE", budget.as_str()),
    ];
    env.extend(store.map(|url| ("SWITCHBOARD_SHARED_STORE", url)));
    Settings::load(&o, config::env_from(&env)).expect("bench settings")
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
    let pair = two_runs(
        "two runs of 40 at once, one budget",
        [&a, &b],
        [&ours, &theirs],
        &server,
    )
    .await;
    // Two machines: their own homes, one budget in the store.
    let redis = Redis::start();
    let server = stand_in().await;
    let (sa, sb) = (
        on_store(&server, &dir.path().join("machine-a"), "a", &redis.url()).await,
        on_store(&server, &dir.path().join("machine-b"), "b", &redis.url()).await,
    );
    let machines = two_runs(
        "two machines, 40 each at once, one budget in the store",
        [&dispatcher(&sa), &dispatcher(&sb)],
        [&ours, &theirs],
        &server,
    )
    .await;

    // A slot's grant through the store, 8 processes competing: each asks 50 times, a little apart,
    // so the budget has room and what is measured is the store's part. A store of its own: the runs
    // above left calls at 60 a minute in the window, and the lowest limit in the window rules.
    let redis = Redis::start();
    let mut pacers = Vec::new();
    for i in 0..8 {
        let s = on_store(
            &server,
            &dir.path().join(format!("p{i}")),
            "p",
            &redis.url(),
        )
        .await;
        let store = s.store().unwrap().clone();
        pacers.push(switchboard::pacer::Pacer::on_store(
            switchboard::pacer::PacerOptions::per_minute(6000),
            store,
        ));
    }
    let asks = pacers.into_iter().map(|pacer| async move {
        let mut took = Vec::new();
        for _ in 0..50 {
            let asked = Instant::now();
            drop(pacer.acquire(switchboard::pacer::Priority::Assign).await);
            took.push(asked.elapsed());
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        took
    });
    let mut took: Vec<Duration> = futures_util::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect();
    took.sort();
    let at = |q: f64| took[((took.len() - 1) as f64 * q) as usize];
    println!(
        "a slot's grant through the store, 8 processes: median {:.1} ms, p99 {:.1} ms ({} grants)",
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        took.len()
    );
    if !(single && pair && machines) {
        std::process::exit(1);
    }
}

/// Two runs at once, one on each dispatcher, to the bench's queue: reported under `name`.
async fn two_runs(
    name: &str,
    [a, b]: [&Dispatcher; 2],
    [ours, theirs]: [&[String]; 2],
    server: &MockServer,
) -> bool {
    let target = Target::queue(QUEUE);
    let started = Instant::now();
    let (ra, rb) = tokio::join!(
        a.assign_all(ours, &target, None),
        b.assign_all(theirs, &target, None)
    );
    report(
        name,
        started.elapsed(),
        server,
        ra.iter()
            .chain(&rb)
            .all(|r| r.outcome == Some(Outcome::Transferred)),
    )
}

/// The settings of one machine of its own home, joined to the store at `url`.
async fn on_store(server: &MockServer, dir: &std::path::Path, run: &str, url: &str) -> Settings {
    let mut s = settings_on(server, dir, run, Some(url));
    s.connect_store().await.expect("the store is up");
    s
}

/// A bench's own `redis-server` on a free loopback port.
struct Redis {
    port: u16,
    child: std::process::Child,
}

impl Redis {
    fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis { port, child }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
