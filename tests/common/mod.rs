//! Shared by the integration tests: the stand-in on loopback port 0, settings that point at it, and
//! the ids whose last characters make the stand-in answer each fault.
#![allow(dead_code)]

pub mod cli;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use switchboard::config::{self, ENV_CLIENT_SECRET, Key, Overrides, Settings, keys};
use switchboard::dispatch::{Dispatcher, RetryPolicy};
use switchboard::engine;
use switchboard::mock::{self, MockIdentity, MockOptions, MockServer};
use switchboard::secret::Secret;

pub const SECRET: &str = "dGVzdC1vbmx5LXNlY3JldC1mb3Itc3dpdGNoYm9hcmQ=";
pub const QUEUE: &str = "qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001";
pub const AGENT: &str = "a-8cd2673-0cb7-462d-9453-0ee60e520001";

/// A session id that the stand-in answers normally.
pub fn ok_session(n: u32) -> String {
    format!("6538f8a3c9cf425ee5cf{n:04x}")
}

/// A session id whose last four characters ask the stand-in for a fault (see `mock::trigger_for`).
pub fn fault_session(suffix: &str) -> String {
    format!("66c2f6939489bfffc791{suffix}")
}

pub async fn start_mock(options: MockOptions) -> MockServer {
    mock::start(
        "127.0.0.1:0".parse().unwrap(),
        MockIdentity::demo(Secret::new(SECRET)),
        options,
    )
    .await
    .expect("the stand-in starts on loopback")
}

/// The stand-in with the demo's simulated contact center, on these options.
pub async fn start_center(options: MockOptions) -> MockServer {
    start_mock(MockOptions {
        center: Some(mock::Center::demo(tokio::time::Instant::now())),
        ..options
    })
    .await
}

/// A stand-in that allows `limit` calls in any 2 s, answering each after 20–220 ms: a strict
/// rolling window with network jitter.
pub async fn strict_stand_in(limit: u32) -> MockServer {
    start_mock(MockOptions {
        rate_limit_per_minute: limit,
        rate_window: Duration::from_millis(2000),
        latency: Duration::from_millis(20),
        latency_jitter: Duration::from_millis(200),
        ..quick_mock_options()
    })
    .await
}

/// Each of `sessions` reached the stand-in exactly once.
pub fn assert_each_sent_once(server: &MockServer, sessions: &[String]) {
    let received = server.received();
    for s in sessions {
        let sent = received
            .iter()
            .filter(|r| r.session.as_deref() == Some(s))
            .count();
        assert_eq!(sent, 1, "{s} was sent {sent} times");
    }
}

/// Unpaced and without the stand-in's rate limit, so tests run at loopback speed.
pub fn quick_mock_options() -> MockOptions {
    MockOptions {
        rate_limit_per_minute: 0,
        callback_delay: Duration::from_millis(20),
        ..MockOptions::default()
    }
}

/// Settings pointing at `host` with the demo tenant, no config file, and the given extra flags.
pub fn settings_for(host: &str, audit: &Path, extra: &[(&Key, &str)]) -> Settings {
    settings_with_env(host, audit, extra, &[(ENV_CLIENT_SECRET, SECRET)])
}

/// As `settings_for`, with this environment instead of the right secret.
pub fn settings_with_env(
    host: &str,
    audit: &Path,
    extra: &[(&Key, &str)],
    env: &[(&str, &str)],
) -> Settings {
    let id = MockIdentity::demo(Secret::new(SECRET));
    let mut o = Overrides::default();
    o.no_config_file = true;
    o.set(&keys::HOST, Some(host));
    o.set(&keys::STREAM_ID, Some(&id.stream_id));
    o.set(&keys::ORG_ID, Some(&id.org_id));
    o.set(&keys::ACCOUNT_ID, Some(&id.account_id));
    o.set(&keys::APP_ID, Some(&id.app_id));
    o.set(&keys::RATE, Some(0));
    o.set(&keys::LISTEN, Some("127.0.0.1:0"));
    o.set(&keys::AUDIT_LOG, Some(audit.display()));
    for (key, value) in extra {
        o.set(key, Some(value));
    }
    // Each test's call budget is its own, beside its audit log.
    let budget = audit.with_file_name("budget.ledger").display().to_string();
    let mut env = env.to_vec();
    env.push(("SWITCHBOARD_BUDGET_FILE", &budget));
    Settings::load(&o, config::env_from(&env)).expect("test settings load")
}

/// Retries as in production, but with waits short enough for a test.
pub fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        default_retry_after: Duration::from_millis(200),
        undelivered_backoff: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
}

pub fn dispatcher(
    settings: &Settings,
    listener: SocketAddr,
    token: Secret,
    policy: RetryPolicy,
) -> Dispatcher {
    let route = engine::callback_route(settings, listener, token).unwrap();
    let client = engine::client(settings, route).unwrap();
    let audit = engine::audit_log(settings).unwrap();
    engine::dispatcher(
        settings,
        client,
        audit,
        engine::pacer(settings).unwrap(),
        policy,
    )
    .unwrap()
}

/// A dispatcher whose callbacks would go to a port nobody listens on (port 9, discard).
pub fn quick_dispatcher(settings: &Settings) -> Dispatcher {
    dispatcher(
        settings,
        "127.0.0.1:9".parse().unwrap(),
        Secret::new("cb"),
        quick_policy(),
    )
}

/// Every line of a JSON Lines file.
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every audit line is JSON"))
        .collect()
}

/// A real `redis-server` of the test's own on a free loopback port, killed when dropped. `.ci/run`
/// installs it when missing.
pub struct Redis {
    pub port: u16,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Redis {
    pub fn start() -> Redis {
        Redis::start_with(&[])
    }

    /// With more arguments (`--requirepass`, …).
    pub fn start_with(extra: &[&str]) -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Redis::on_port(port, extra)
    }

    /// On `port` (a restart after `stop`).
    pub fn on_port(port: u16, extra: &[&str]) -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .args(extra)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed (.ci/run installs it)");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis {
            port,
            child,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills it (the store lost mid-run).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
