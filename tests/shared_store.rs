//! Several supervisors on several machines, one account: the budget and the claims in a real
//! `redis-server` (started by each test on a free loopback port). Each "machine" is a home of its
//! own — its own budget ledger, claims file and audit log — so only the store can join them.

mod common;

use std::time::{Duration, Instant};

use common::cli::*;
use common::*;
use switchboard::mock::MockOptions;
use switchboard::outcome::Outcome;
use switchboard::request::Target;

/// The settings of one machine (its own home) pacing `rate` a 2 s window, joined to `store`.
async fn machine(
    server: &switchboard::mock::MockServer,
    home: &std::path::Path,
    store: &str,
    rate: &str,
) -> switchboard::config::Settings {
    let mut settings = settings_with_env(
        &server.base_url(),
        &home.join("audit.jsonl"),
        &[(&switchboard::config::keys::RATE, rate)],
        &[
            ("SWITCHBOARD_CLIENT_SECRET", SECRET),
            ("SWITCHBOARD_RATE_WINDOW_MS", "2000"),
            ("SWITCHBOARD_SHARED_STORE", store),
        ],
    );
    settings.connect_store().await.expect("the store is up");
    settings
}

fn refusals(server: &switchboard::mock::MockServer) -> usize {
    server
        .received()
        .iter()
        .filter(|r| r.answered == Some(429))
        .count()
}

/// Four machines, each believing it may spend the whole limit: together they never exceed it.
#[tokio::test(flavor = "multi_thread")]
async fn four_machines_share_one_budget_through_the_store() {
    let redis = Redis::start();
    let server = strict_stand_in(5).await;
    let homes: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut dispatchers = Vec::new();
    for home in &homes {
        let settings = machine(&server, home.path(), &redis.url(), "5").await;
        dispatchers.push(quick_dispatcher(&settings));
    }
    let started = Instant::now();
    let target = Target::queue(QUEUE);
    let runs = dispatchers.iter().enumerate().map(|(m, d)| {
        let sessions: Vec<String> = (0..4).map(|i| ok_session(100 * m as u32 + i)).collect();
        let target = target.clone();
        async move { d.assign_all(&sessions, &target, None).await }
    });
    let reports = futures_util::future::join_all(runs).await;
    assert!(
        reports
            .iter()
            .flatten()
            .all(|r| r.outcome == Some(Outcome::Transferred) && r.attempts == 1),
        "{reports:?}"
    );
    assert_eq!(
        refusals(&server),
        0,
        "not one call over the account's limit"
    );
    // Sixteen calls at five a window cannot go in less than three windows.
    assert!(started.elapsed() >= Duration::from_millis(3 * 2000));
}

/// The same plan applied at once on two machines: each session leaves once; the other machine's
/// run says who holds it.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_claimed_on_one_machine_is_never_sent_from_another() {
    let redis = Redis::start();
    let server = start_mock(MockOptions {
        latency: Duration::from_millis(150),
        ..quick_mock_options()
    })
    .await;
    let (first, second) = (Home::new(), Home::new());
    let sessions: Vec<String> = (1..=6).map(ok_session).collect();
    let assign = |home: &Home| {
        let mut c = home.against(&server);
        c.env("SWITCHBOARD_SHARED_STORE", redis.url());
        c.args(["assign", "--queue", QUEUE, "--json", "--no-verify"]);
        for s in &sessions {
            c.args(["--session", s]);
        }
        run(c, &[])
    };
    let (a, b) = tokio::join!(assign(&first), assign(&second));
    assert_each_sent_once(&server, &sessions);
    let held: Vec<String> = [&a, &b]
        .iter()
        .flat_map(|out| json_objects(&out.stdout))
        .filter(|o| o["outcome"] == "cancelled")
        .map(|o| o["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(held.len(), 6, "{held:?}");
    assert!(
        held.iter()
            .all(|why| why.contains("claimed by run ") || why.contains("moved by run ")),
        "{held:?}"
    );
    // `claims` on either machine lists them all.
    let mut c = first.against(&server);
    c.env("SWITCHBOARD_SHARED_STORE", redis.url());
    let out = run(c, &["claims"]).await;
    let listed = text(&out.stdout);
    assert!(sessions.iter().all(|s| listed.contains(s)), "{listed}");
}

/// A store that is set and cannot be reached stops a command before anything is read or sent;
/// `--shared-store none` runs alone, knowingly. A URL with a password is refused, and the password
/// comes from the environment (or a file) instead.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_store_stops_at_once_and_its_password_never_travels_in_the_url() {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let assign = ["assign", "--session", &ok_session(1), "--queue", QUEUE];
    let mut c = home.against(&server);
    c.env(
        "SWITCHBOARD_SHARED_STORE",
        format!("redis://127.0.0.1:{free_port}/0"),
    );
    let out = run(c, &assign).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot reach the shared store") && stderr.contains("--shared-store none"),
        "{stderr}"
    );
    assert!(server.received().is_empty());
    let mut c = home.against(&server);
    c.env(
        "SWITCHBOARD_SHARED_STORE",
        format!("redis://127.0.0.1:{free_port}/0"),
    );
    let out = run(c, &[&["--shared-store", "none"][..], &assign[..]].concat()).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let redis = Redis::start_with(&["--requirepass", "s3cret-store-pw"]);
    let mut c = home.against(&server);
    c.env(
        "SWITCHBOARD_SHARED_STORE",
        format!("redis://:s3cret-store-pw@127.0.0.1:{}/0", redis.port),
    );
    let out = run(c, &assign).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("s3cret-store-pw"), "{stderr}");
    assert!(
        stderr.contains("SWITCHBOARD_SHARED_STORE_PASSWORD"),
        "{stderr}"
    );
    let mut c = home.against(&server);
    c.env("SWITCHBOARD_SHARED_STORE", redis.url());
    let out = run(c, &assign).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "no password: {}",
        text(&out.stderr)
    );
    let mut c = home.against(&server);
    c.env("SWITCHBOARD_SHARED_STORE", redis.url())
        .env("SWITCHBOARD_SHARED_STORE_PASSWORD", "s3cret-store-pw");
    let out = run(c, &assign).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// What the store holds after a run: the account's keys only, and nothing secret in any of them.
#[tokio::test(flavor = "multi_thread")]
async fn nothing_secret_is_kept_in_the_store() {
    let redis = Redis::start();
    let server = start_mock(quick_mock_options()).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = machine(&server, dir.path(), &redis.url(), "30").await;
    let d = quick_dispatcher(&settings);
    let reports = d
        .assign_all(&[ok_session(1), ok_session(2)], &Target::queue(QUEUE), None)
        .await;
    assert!(
        reports
            .iter()
            .all(|r| r.outcome == Some(Outcome::Transferred))
    );
    let store = settings.store().unwrap();
    let account = server.identity().account_id.clone();
    let keys = store.keys().await.unwrap();
    assert!(!keys.is_empty());
    let mut everything = String::new();
    for key in &keys {
        assert!(key.starts_with(&format!("switchboard:{account}:")), "{key}");
        if key.ends_with(":events") {
            // The stream: every event as published.
            for (_, event) in store.recent_events(10_000).await.unwrap() {
                everything.push_str(&serde_json::to_string(&event).unwrap());
            }
        } else {
            everything.push_str(&store.get(key).await.unwrap().unwrap_or_default());
        }
    }
    assert!(
        everything.contains("\"event\":\"outcome\""),
        "the stream is read: {everything}"
    );
    assert!(
        everything.contains(&ok_session(1)),
        "the claims are there: {everything}"
    );
    for secret in [SECRET, "Bearer", "auth", "callback", "?t="] {
        assert!(
            !everything.contains(secret),
            "{secret} in the store: {everything}"
        );
    }
}

/// The store lost mid-run: sending pauses — never a private budget — and, once it has been away
/// longer than a request may take, what waits is cancelled and on record. A store back in time
/// lets the run go on.
#[tokio::test(flavor = "multi_thread")]
async fn a_store_lost_mid_run_pauses_sending_then_cancels_what_waits() {
    let mut redis = Redis::start();
    let server = strict_stand_in(60).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_with_env(
        &server.base_url(),
        &dir.path().join("audit.jsonl"),
        &[
            (&switchboard::config::keys::RATE, "20"),
            (&switchboard::config::keys::TIMEOUT, "2"),
        ],
        &[
            ("SWITCHBOARD_CLIENT_SECRET", SECRET),
            ("SWITCHBOARD_RATE_WINDOW_MS", "2000"),
            ("SWITCHBOARD_SHARED_STORE", &redis.url()),
        ],
    );
    settings.connect_store().await.unwrap();
    let d = quick_dispatcher(&settings);
    let sessions: Vec<String> = (1..=30).map(ok_session).collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let run = switchboard::dispatch::Run::new();
    let moving = {
        let (d, run, sessions) = (d.clone(), run.clone(), sessions.clone());
        tokio::spawn(async move {
            d.assign_run(&run, &sessions, &Target::queue(QUEUE), Some(tx))
                .await
        })
    };
    // Three moves settled, then the store goes.
    let mut settled = 0;
    while settled < 3 {
        if let Some(switchboard::dispatch::Progress::Settled(_)) = rx.recv().await {
            settled += 1;
        }
    }
    redis.stop();
    let sent_when_lost = server.received().len();
    let reports = tokio::time::timeout(Duration::from_secs(30), moving)
        .await
        .expect("the run ends")
        .unwrap();
    // At most the requests already granted went out after the store went.
    assert!(
        server.received().len() <= sent_when_lost + 4,
        "{} sent, {sent_when_lost} when the store went",
        server.received().len()
    );
    let cancelled: Vec<&str> = reports
        .iter()
        .filter(|r| r.outcome == Some(Outcome::Cancelled))
        .map(|r| r.message.as_str())
        .collect();
    assert!(cancelled.len() >= 20, "{reports:?}");
    assert!(
        cancelled
            .iter()
            .all(|m| m.contains("shared store unreachable")),
        "{cancelled:?}"
    );
    assert_eq!(refusals(&server), 0);
    assert!(d.pacer().status().store_lost);
}

/// One picture: what one machine does is in the store's stream, as `watch` prints it (the last ones,
/// then each as it comes), without a message or a body.
#[tokio::test(flavor = "multi_thread")]
async fn watch_prints_every_machines_moves_as_json_lines() {
    use tokio::io::AsyncBufReadExt;
    let redis = Redis::start();
    let server = start_mock(quick_mock_options()).await;
    let (first, second) = (Home::new(), Home::new());
    let with_store = |home: &Home| {
        let mut c = home.against(&server);
        c.env("SWITCHBOARD_SHARED_STORE", redis.url());
        c
    };
    let assign = |home: &Home, n: u32| {
        let mut c = with_store(home);
        c.args([
            "assign",
            "--session",
            &ok_session(n),
            "--queue",
            QUEUE,
            "--no-verify",
        ]);
        run(c, &[])
    };
    assert_eq!(assign(&first, 1).await.status.code(), Some(0));
    let mut c = with_store(&second);
    c.arg("watch").stdout(std::process::Stdio::piped());
    let mut watch = c.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(watch.stdout.take().unwrap()).lines();
    async fn next(
        lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    ) -> serde_json::Value {
        let line = tokio::time::timeout(Duration::from_secs(15), lines.next_line())
            .await
            .expect("an event within 15 s")
            .unwrap()
            .unwrap();
        serde_json::from_str(&line).unwrap()
    }
    // What the first machine did before: its attempt and its outcome.
    let attempt = next(&mut lines).await;
    assert_eq!(attempt["event"], "attempt");
    assert_eq!(attempt["botSessionId"], ok_session(1).as_str());
    assert!(attempt["who"].as_str().unwrap().contains('@'));
    let outcome = next(&mut lines).await;
    assert_eq!(outcome["outcome"], "transferred");
    assert!(outcome.get("message").is_none() && outcome.get("response").is_none());
    // And what it does now, as it comes.
    assert_eq!(assign(&first, 2).await.status.code(), Some(0));
    let mut seen = Vec::new();
    while !seen.iter().any(|e: &serde_json::Value| {
        e["event"] == "outcome" && e["botSessionId"] == ok_session(2).as_str()
    }) {
        seen.push(next(&mut lines).await);
    }
    let _ = watch.kill().await;
}

/// Two supervisors behind one public callback URL: the callback for a move reaches the other's
/// listener, goes through the store, and is the mover's.
#[tokio::test(flavor = "multi_thread")]
async fn a_callback_that_reaches_another_listener_is_the_movers() {
    let redis = Redis::start();
    let server = start_mock(quick_mock_options()).await;
    let (mover, other) = (Home::new(), Home::new());
    let token = "a-shared-callback-token-for-the-tunnel";
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The other supervisor's listener is where the tunnel points.
    let mut listen = other.against(&server);
    listen
        .env("SWITCHBOARD_SHARED_STORE", redis.url())
        .env("SWITCHBOARD_CALLBACK_TOKEN", token)
        .args(["listen", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut listening = listen.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the listener did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut c = mover.against(&server);
    c.env("SWITCHBOARD_SHARED_STORE", redis.url())
        .env("SWITCHBOARD_CALLBACK_TOKEN", token)
        .env(
            "SWITCHBOARD_CALLBACK_URL",
            format!("http://127.0.0.1:{port}"),
        );
    let session = ok_session(5);
    let out = run(
        c,
        &[
            "assign",
            "--session",
            &session,
            "--queue",
            QUEUE,
            "--json",
            "--no-verify",
            "--wait-callbacks",
            "10",
            "--listen",
            "127.0.0.1:0",
        ],
    )
    .await;
    let _ = listening.kill().await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = &json_objects(&out.stdout)[0];
    assert_eq!(report["callback"]["state"], "ok", "{report}");
    let relayed = json_lines(&mover.audit())
        .into_iter()
        .find(|l| l["event"] == "callback")
        .expect("the relayed callback is on the mover's record");
    assert_eq!(relayed["botSessionId"], session.as_str());
    assert!(relayed["peer"].as_str().unwrap().starts_with("relayed by "));
}

/// A store that restarts (without its data) within the request timeout: sending pauses while it is
/// away, then the run goes on; each process's own calls go back in, so the window is not forgotten.
#[tokio::test(flavor = "multi_thread")]
async fn a_store_back_in_time_lets_the_run_go_on_within_the_limit() {
    let mut redis = Redis::start();
    let server = strict_stand_in(5).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_with_env(
        &server.base_url(),
        &dir.path().join("audit.jsonl"),
        &[
            (&switchboard::config::keys::RATE, "5"),
            (&switchboard::config::keys::TIMEOUT, "10"),
        ],
        &[
            ("SWITCHBOARD_CLIENT_SECRET", SECRET),
            ("SWITCHBOARD_RATE_WINDOW_MS", "2000"),
            ("SWITCHBOARD_SHARED_STORE", &redis.url()),
        ],
    );
    settings.connect_store().await.unwrap();
    let d = quick_dispatcher(&settings);
    let sessions: Vec<String> = (1..=12).map(ok_session).collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let moving = {
        let d = d.clone();
        let sessions = sessions.clone();
        tokio::spawn(async move {
            d.assign_all(&sessions, &Target::queue(QUEUE), Some(tx))
                .await
        })
    };
    let mut settled = 0;
    while settled < 4 {
        if let Some(switchboard::dispatch::Progress::Settled(_)) = rx.recv().await {
            settled += 1;
        }
    }
    // Gone and back at once, empty: the calls of the last window must not be forgotten.
    let port = redis.port;
    redis.stop();
    let _back = Redis::on_port(port, &[]);
    let reports = tokio::time::timeout(Duration::from_secs(60), moving)
        .await
        .expect("the run ends")
        .unwrap();
    assert!(
        reports
            .iter()
            .all(|r| r.outcome == Some(Outcome::Transferred)),
        "{reports:?}"
    );
    assert_eq!(refusals(&server), 0, "the limit held across the restart");
}

/// `check` says what the store is: reachable, its version, one round trip.
#[tokio::test(flavor = "multi_thread")]
async fn check_reports_the_store() {
    let redis = Redis::start();
    let server = start_center(quick_mock_options()).await;
    let home = Home::new();
    let mut c = home.against(&server);
    c.env("SWITCHBOARD_SHARED_STORE", redis.url());
    let out = run(c, &["check"]).await;
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("shared store {}: reachable, Redis ", redis.url()))
            && stderr.contains("round trip"),
        "{stderr}"
    );
}

/// A priority change is shown to the account's other supervisors, through the store's stream.
#[tokio::test(flavor = "multi_thread")]
async fn a_priority_change_reaches_the_accounts_stream() {
    let redis = Redis::start();
    let server = start_center(quick_mock_options()).await;
    let home = Home::new();
    let mut c = home.against(&server);
    c.env("SWITCHBOARD_SHARED_STORE", redis.url());
    let out = run(c, &["queue", "priority", "billing", "8", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    let settings = machine(&server, dir.path(), &redis.url(), "30").await;
    let events = settings.store().unwrap().recent_events(100).await.unwrap();
    let published = events
        .iter()
        .map(|(_, e)| e)
        .find(|e| e.event == "queue_priority")
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(published.priority, Some(8));
    assert_eq!(published.outcome.as_deref(), Some("set"));
}
