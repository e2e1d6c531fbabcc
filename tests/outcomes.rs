//! Every outcome of SPEC §4, produced by the matching behaviour of the stand-in over real HTTP.

mod common;

use std::time::Duration;

use common::*;
use switchboard::config::keys;
use switchboard::dispatch::{Report, StopSignal};
use switchboard::mock::MockOptions;
use switchboard::outcome::Outcome;
use switchboard::request::Target;
use switchboard::secret::Secret;

async fn assign(
    options: MockOptions,
    session: &str,
    extra: &[(&switchboard::config::Key, &str)],
) -> (Report, Vec<switchboard::mock::Received>) {
    let server = start_mock(options).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_for(&server.base_url(), &dir.path().join("audit.jsonl"), extra);
    let d = quick_dispatcher(&settings);
    let report = d
        .assign_one(session, &Target::queue(QUEUE), &StopSignal::default(), None)
        .await;
    (report, server.received())
}

#[tokio::test]
async fn two_xx_is_transferred_for_both_shapes() {
    let server = start_mock(quick_mock_options()).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_for(&server.base_url(), &dir.path().join("a.jsonl"), &[]);
    let d = quick_dispatcher(&settings);
    for target in [Target::agent(AGENT), Target::queue(QUEUE)] {
        let r = d
            .assign_one(&ok_session(1), &target, &StopSignal::default(), None)
            .await;
        assert_eq!(r.outcome, Some(Outcome::Transferred), "{r:?}");
        assert_eq!((r.http_status, r.attempts), (Some(200), 1));
        assert_eq!(r.response.as_ref().unwrap()["status"], "transferred");
    }
}

#[tokio::test]
async fn not_found_is_rejected_with_the_servers_message() {
    let (r, received) = assign(quick_mock_options(), &fault_session("0404"), &[]).await;
    assert_eq!(
        (r.outcome, r.http_status),
        (Some(Outcome::Rejected), Some(404))
    );
    assert_eq!(r.message, "Session not found or already closed");
    assert_eq!(received.len(), 1, "a rejection is not retried");
}

#[tokio::test]
async fn the_code_message_envelope_is_read_too() {
    let (r, _) = assign(quick_mock_options(), &fault_session("0400"), &[]).await;
    assert_eq!(
        (r.outcome, r.http_status),
        (Some(Outcome::Rejected), Some(400))
    );
    assert_eq!(
        r.message,
        "Conversation cannot be transferred: the session has already ended"
    );
}

#[tokio::test]
async fn the_stand_in_refuses_what_the_platform_would() {
    // A u- user id as aId, and a wrong secret: the strict stand-in turns both away.
    let server = start_mock(quick_mock_options()).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_for(&server.base_url(), &dir.path().join("a.jsonl"), &[]);
    let d = quick_dispatcher(&settings);
    let r = d
        .assign_one(
            &ok_session(1),
            &Target::agent("u-8cd2673-0cb7-462d-9453-0ee60e520001"),
            &StopSignal::default(),
            None,
        )
        .await;
    assert_eq!(r.outcome, Some(Outcome::Rejected), "{r:?}");

    let wrong = settings_with_env(
        &server.base_url(),
        &dir.path().join("b.jsonl"),
        &[],
        &[("SWITCHBOARD_CLIENT_SECRET", "not the secret")],
    );
    let d = quick_dispatcher(&wrong);
    let r = d
        .assign_one(
            &ok_session(2),
            &Target::queue(QUEUE),
            &StopSignal::default(),
            None,
        )
        .await;
    assert_eq!(
        (r.outcome, r.http_status),
        (Some(Outcome::Unauthorized), Some(401)),
        "{r:?}"
    );
    assert!(
        r.message.starts_with("error verifying the jwt"),
        "{}",
        r.message
    );
}

#[tokio::test]
async fn unauthorized_stops_a_bulk_run() {
    let server = start_mock(quick_mock_options()).await;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    // One at a time, so the 401 is seen before anything after it is sent.
    let settings = settings_for(&server.base_url(), &audit, &[(&keys::CONCURRENCY, "1")]);
    let d = quick_dispatcher(&settings);
    let sessions = vec![
        ok_session(1),
        fault_session("0401"),
        ok_session(2),
        ok_session(3),
    ];
    let reports = d.assign_all(&sessions, &Target::queue(QUEUE), None).await;
    let outcomes: Vec<_> = reports.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Some(Outcome::Transferred),
            Some(Outcome::Unauthorized),
            Some(Outcome::Cancelled),
            Some(Outcome::Cancelled)
        ]
    );
    assert_eq!(reports[2].attempts, 0);
    assert!(
        reports[3]
            .message
            .contains("the run stopped (401 Invalid apikey)"),
        "{}",
        reports[3].message
    );
    let sent: Vec<_> = server
        .received()
        .into_iter()
        .filter_map(|r| r.session)
        .collect();
    assert_eq!(sent, [ok_session(1), fault_session("0401")]);
    // The never-sent are on record as the outcome `cancelled`, in the same run as the rest.
    let lines = json_lines(&audit);
    let cancelled: Vec<_> = lines
        .iter()
        .filter(|l| l["event"] == "outcome" && l["outcome"] == "cancelled")
        .collect();
    assert_eq!(cancelled.len(), 2);
    assert!(cancelled.iter().all(|l| l["attempt"] == 0));
    let run = &lines[0]["run"];
    assert!(run.is_string());
    assert!(
        lines.iter().all(|l| &l["run"] == run),
        "one run id: {lines:?}"
    );
    assert_eq!(
        switchboard::dispatch::summarize(&reports, Some("401 Invalid apikey")),
        "2 sent: 1 transferred, 1 unauthorized; 2 cancelled (stopped: 401 Invalid apikey)"
    );
}

#[tokio::test]
async fn a_stopped_run_cancels_what_waits_at_once_and_lets_the_wire_settle() {
    // At one call a second, a 20-session run would take 19 s; stopped after the second answer, it
    // ends at once, with the rest cancelled and on record, none of them drained through the pacer.
    let server = start_mock(MockOptions {
        latency: Duration::from_millis(300),
        ..quick_mock_options()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let settings = settings_for(&server.base_url(), &audit, &[(&keys::RATE, "60")]);
    let d = quick_dispatcher(&settings);
    let run = switchboard::dispatch::Run::new();
    let sessions: Vec<String> = (1..=20).map(ok_session).collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stopper = run.stop.clone();
    let watcher = tokio::spawn(async move {
        let mut answered = 0;
        while let Some(p) = rx.recv().await {
            if let switchboard::dispatch::Progress::Attempting { .. } = p {
                answered += 1;
                if answered == 2 {
                    // The second is on the wire: stop now.
                    stopper.stop("x pressed");
                }
            }
        }
    });
    let started = std::time::Instant::now();
    let reports = d
        .assign_run(&run, &sessions, &Target::queue(QUEUE), Some(tx))
        .await;
    let _ = watcher.await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stopping does not drain the pacer: {:?}",
        started.elapsed()
    );
    assert_eq!(reports[0].outcome, Some(Outcome::Transferred));
    assert_eq!(
        reports[1].outcome,
        Some(Outcome::Transferred),
        "the request on the wire settles"
    );
    assert!(
        reports[2..]
            .iter()
            .all(|r| r.outcome == Some(Outcome::Cancelled) && r.attempts == 0)
    );
    assert_eq!(server.received().len(), 2);
    let cancelled = json_lines(&audit)
        .into_iter()
        .filter(|l| l["outcome"] == "cancelled" && l["run"] == run.id.as_str())
        .count();
    assert_eq!(cancelled, 18);
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried_then_transferred() {
    let (r, received) = assign(quick_mock_options(), &fault_session("1429"), &[]).await;
    assert_eq!(
        (r.outcome, r.attempts),
        (Some(Outcome::Transferred), 2),
        "{r:?}"
    );
    assert_eq!(received.len(), 2);
    let gap = received[1].at_ms - received[0].at_ms;
    assert!(gap >= 950, "waited {gap} ms, Retry-After said 1 s");
}

#[tokio::test]
async fn a_retry_after_longer_than_max_retry_wait_settles_at_once_as_rate_limited() {
    let options = MockOptions {
        force_status: Some(429),
        retry_after: Some(86_400),
        ..quick_mock_options()
    };
    let started = std::time::Instant::now();
    let (r, received) = assign(options, &ok_session(1), &[]).await;
    assert_eq!(
        (r.outcome, r.attempts, received.len()),
        (Some(Outcome::RateLimited), 1, 1),
        "{r:?}"
    );
    assert!(
        r.message.contains("the server asked to wait 24h00m")
            && r.message.contains("max_retry_wait_secs (2m00s)"),
        "{}",
        r.message
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn rate_limit_without_retry_after_waits_the_default_then_transfers() {
    let (r, received) = assign(quick_mock_options(), &fault_session("2429"), &[]).await;
    assert_eq!(
        (r.outcome, r.attempts),
        (Some(Outcome::Transferred), 2),
        "{r:?}"
    );
    let gap = received[1].at_ms - received[0].at_ms;
    assert!(gap >= 190, "waited {gap} ms, the (test) default is 200 ms");
}

#[tokio::test]
async fn a_body_that_says_rate_limit_is_retried_too() {
    let (r, _) = assign(quick_mock_options(), &fault_session("3429"), &[]).await;
    assert_eq!(
        (r.outcome, r.attempts),
        (Some(Outcome::Transferred), 2),
        "{r:?}"
    );
}

#[tokio::test]
async fn rate_limit_that_persists_settles_as_rate_limited_after_three_retries() {
    let (r, received) = assign(quick_mock_options(), &fault_session("0429"), &[]).await;
    assert_eq!(
        (r.outcome, r.attempts, r.http_status),
        (Some(Outcome::RateLimited), 4, Some(429)),
        "{r:?}"
    );
    assert_eq!(received.len(), 4);
}

#[tokio::test]
async fn the_stand_ins_own_limit_answers_429_in_kores_words() {
    let options = MockOptions {
        rate_limit_per_minute: 2,
        ..quick_mock_options()
    };
    let server = start_mock(options).await;
    let client = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_for(&server.base_url(), &dir.path().join("a.jsonl"), &[]);
    let d = quick_dispatcher(&settings);
    for n in 1..=2 {
        let r = d
            .assign_one(
                &ok_session(n),
                &Target::queue(QUEUE),
                &StopSignal::default(),
                None,
            )
            .await;
        assert_eq!(r.outcome, Some(Outcome::Transferred));
    }
    let preview = d.client().preview(&ok_session(3), &Target::queue(QUEUE));
    let token = switchboard::token::TokenMaker::new(settings.credential().unwrap(), false)
        .unwrap()
        .next()
        .unwrap();
    let answer = client
        .post(&preview.url)
        .header("auth", token.expose())
        .header("accountid", &server.identity().account_id)
        .header("content-type", "application/json")
        .body(preview.body.replace("<redacted>", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 429);
    assert!(
        answer.headers().get("retry-after").is_none(),
        "Kore documents no Retry-After"
    );
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("per-minute rate limit")
    );
}
#[tokio::test]
async fn five_xx_is_failed_and_not_retried() {
    for suffix in ["0500", "0503"] {
        let (r, received) = assign(quick_mock_options(), &fault_session(suffix), &[]).await;
        assert_eq!(
            (r.outcome, r.attempts),
            (Some(Outcome::Failed), 1),
            "{suffix}: {r:?}"
        );
        assert_eq!(received.len(), 1);
    }
}

#[tokio::test]
async fn connection_refused_is_failed_after_retries() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_for(
        &format!("http://127.0.0.1:{port}"),
        &dir.path().join("a.jsonl"),
        &[],
    );
    let d = quick_dispatcher(&settings);
    let r = d
        .assign_one(
            &ok_session(1),
            &Target::queue(QUEUE),
            &StopSignal::default(),
            None,
        )
        .await;
    assert_eq!(
        (r.outcome, r.http_status, r.attempts),
        (Some(Outcome::Failed), None, 4),
        "{r:?}"
    );
    // The cause first and short; the whole chain after it.
    let first = r.message.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!("connection refused 127.0.0.1:{port}"),
        "{}",
        r.message
    );
    assert!(r.message.lines().count() > 1, "{}", r.message);
}

#[tokio::test]
async fn a_timeout_after_sending_is_unknown_and_not_retried() {
    let options = MockOptions {
        slow: Duration::from_secs(5),
        ..quick_mock_options()
    };
    let (r, received) = assign(options, &fault_session("0408"), &[(&keys::TIMEOUT, "1")]).await;
    assert_eq!(
        (r.outcome, r.attempts),
        (Some(Outcome::Unknown), 1),
        "{r:?}"
    );
    assert_eq!(received.len(), 1, "an unknown outcome is never sent again");
    assert!(r.message.contains("may have acted"), "{}", r.message);
}

#[tokio::test]
async fn a_two_xx_body_that_is_not_the_expected_json_is_unknown() {
    let (r, _) = assign(quick_mock_options(), &fault_session("0bad"), &[]).await;
    assert_eq!(
        (r.outcome, r.http_status),
        (Some(Outcome::Unknown), Some(200)),
        "{r:?}"
    );
    assert_eq!(
        r.response.as_ref().unwrap().as_str().unwrap(),
        "<html><body>Transfer accepted</body></html>"
    );
}

#[tokio::test]
async fn global_fault_switches_apply_to_every_session() {
    let options = MockOptions {
        force_status: Some(404),
        ..quick_mock_options()
    };
    let (r, _) = assign(options, &ok_session(1), &[]).await;
    assert_eq!(r.outcome, Some(Outcome::Rejected));
    let options = MockOptions {
        non_json: true,
        ..quick_mock_options()
    };
    let (r, _) = assign(options, &ok_session(1), &[]).await;
    assert_eq!(r.outcome, Some(Outcome::Unknown));
}

#[tokio::test]
async fn enforce_jti_tokens_pass_the_stand_ins_replay_check() {
    let server = start_mock(quick_mock_options()).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_with_env(
        &server.base_url(),
        &dir.path().join("a.jsonl"),
        &[],
        &[
            ("SWITCHBOARD_CLIENT_SECRET", SECRET),
            ("SWITCHBOARD_ENFORCE_JTI", "true"),
        ],
    );
    let d = quick_dispatcher(&settings);
    let reports = d
        .assign_all(
            &(1..=5).map(ok_session).collect::<Vec<_>>(),
            &Target::queue(QUEUE),
            None,
        )
        .await;
    assert!(
        reports
            .iter()
            .all(|r| r.outcome == Some(Outcome::Transferred)),
        "{reports:?}"
    );
}

#[tokio::test]
async fn every_attempt_is_audited_before_its_outcome() {
    let server = start_mock(quick_mock_options()).await;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let settings = settings_for(&server.base_url(), &audit, &[]);
    let d = dispatcher(
        &settings,
        "127.0.0.1:9".parse().unwrap(),
        Secret::new("cbtoken"),
        quick_policy(),
    );
    d.assign_one(
        &fault_session("1429"),
        &Target::queue(QUEUE),
        &StopSignal::default(),
        None,
    )
    .await;
    let lines = json_lines(&audit);
    let events: Vec<_> = lines
        .iter()
        .map(|l| (l["event"].as_str().unwrap(), l["attempt"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        events,
        [
            ("attempt", 1),
            ("outcome", 1),
            ("attempt", 2),
            ("outcome", 2)
        ]
    );
    assert_eq!(lines[1]["outcome"], "rate_limited");
    assert_eq!(lines[3]["outcome"], "transferred");
    assert_eq!(lines[0]["body"]["queueId"], QUEUE);
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(
        !text.contains("cbtoken"),
        "the callback token is redacted in the audit log"
    );
}

#[tokio::test]
async fn a_paced_bulk_run_sends_in_the_order_given() {
    let server = start_mock(quick_mock_options()).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_for(
        &server.base_url(),
        &dir.path().join("a.jsonl"),
        &[(&keys::RATE, "1200")],
    );
    let d = quick_dispatcher(&settings);
    let sessions: Vec<String> = (1..=8).map(ok_session).collect();
    d.assign_all(&sessions, &Target::queue(QUEUE), None).await;
    let received: Vec<String> = server
        .received()
        .into_iter()
        .filter_map(|r| r.session)
        .collect();
    assert_eq!(received, sessions);
}

/// A server that answers every assign call with `status` and `body`, and counts the calls.
async fn answering(status: u16, body: &str) -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(status).set_body_string(body))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn only_429_or_a_4xx_envelope_about_the_limit_is_retried() {
    const LIMIT: &str = r#"{"errors":[{"msg":"You've exceeded the per-minute rate limit. Please wait for sometime before retrying.","code":400}]}"#;
    for (status, body, outcome, sent) in [
        (200, LIMIT, Outcome::Unknown, 1),
        (500, LIMIT, Outcome::Failed, 1),
        (502, "rate limit exceeded upstream", Outcome::Failed, 1),
        (
            400,
            "<p>read about our rate limit</p>",
            Outcome::Rejected,
            1,
        ),
        (400, LIMIT, Outcome::RateLimited, 4),
        (429, "", Outcome::RateLimited, 4),
    ] {
        let server = answering(status, body).await;
        let dir = tempfile::tempdir().unwrap();
        let settings = settings_for(&server.uri(), &dir.path().join("a.jsonl"), &[]);
        let r = quick_dispatcher(&settings)
            .assign_one(
                &ok_session(1),
                &Target::queue(QUEUE),
                &StopSignal::default(),
                None,
            )
            .await;
        assert_eq!(r.outcome, Some(outcome), "HTTP {status} {body}");
        let calls = server.received_requests().await.unwrap().len();
        assert_eq!(calls, sent, "HTTP {status} {body}: sent {calls} time(s)");
    }
}

#[tokio::test]
async fn the_jwt_apps_algorithm_is_the_profiles_choice() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let public = std::fs::read_to_string(fixtures.join("jwt-test-only-rsa.pub.pem")).unwrap();
    let mut identity = switchboard::mock::MockIdentity::demo(Secret::new(SECRET));
    identity.public_key_pem = Some(public);
    let server = switchboard::mock::start(
        "127.0.0.1:0".parse().unwrap(),
        identity,
        quick_mock_options(),
    )
    .await
    .unwrap();
    let key = fixtures.join("jwt-test-only-rsa.pem").display().to_string();
    for (algorithm, private_key) in [
        ("HS256", None),
        ("HS512", None),
        ("RS256", Some(key.as_str())),
        ("rs512", Some(key.as_str())),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut env = vec![
            ("SWITCHBOARD_CLIENT_SECRET", SECRET),
            ("SWITCHBOARD_ALGORITHM", algorithm),
        ];
        env.extend(private_key.map(|k| ("SWITCHBOARD_PRIVATE_KEY_FILE", k)));
        let settings =
            settings_with_env(&server.base_url(), &dir.path().join("a.jsonl"), &[], &env);
        let r = quick_dispatcher(&settings)
            .assign_one(
                &ok_session(1),
                &Target::queue(QUEUE),
                &StopSignal::default(),
                None,
            )
            .await;
        assert_eq!(r.outcome, Some(Outcome::Transferred), "{algorithm}: {r:?}");
    }
    // RS256 without a key, a key with HS256, or an algorithm Kore does not list: each stops before
    // anything is sent, naming what to set.
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &[&str]); 3] = [
        ("SWITCHBOARD_ALGORITHM", "RS256", &["private_key_file"]),
        ("SWITCHBOARD_PRIVATE_KEY_FILE", &key, &["RS256 or RS512"]),
        (
            "SWITCHBOARD_ALGORITHM",
            "ES256",
            &["SWITCHBOARD_ALGORITHM", "HS512"],
        ),
    ];
    for (setting, value, says) in cases {
        let settings = settings_with_env(
            &server.base_url(),
            &dir.path().join("a.jsonl"),
            &[],
            &[("SWITCHBOARD_CLIENT_SECRET", SECRET), (setting, value)],
        );
        let err = switchboard::engine::api(&settings).err().unwrap().0;
        assert!(
            says.iter().all(|w| err.contains(w)),
            "{setting}={value}: {err}"
        );
    }
    assert_eq!(server.received().len(), 4);
}

/// Moves waiting for the audit log's lock (another process holds it) are not sent after a stop,
/// however the lock frees: nothing leaves that is not on record, and nothing after `x`.
#[tokio::test(flavor = "multi_thread")]
async fn moves_waiting_for_the_audit_logs_lock_are_cancelled_by_a_stop() {
    let server = start_mock(quick_mock_options()).await;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let settings = settings_for(&server.base_url(), &audit, &[]);
    let d = quick_dispatcher(&settings);
    // Another writer holds the log.
    let holder = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&audit)
        .unwrap();
    holder.lock().unwrap();
    let run = switchboard::dispatch::Run::new();
    let sessions: Vec<String> = (1..=3).map(ok_session).collect();
    let moving = {
        let (d, run, sessions) = (d.clone(), run.clone(), sessions.clone());
        tokio::spawn(async move {
            d.assign_run(&run, &sessions, &Target::queue(QUEUE), None)
                .await
        })
    };
    // Long enough for every move to reach the lock and wait there.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!moving.is_finished(), "the moves wait for the lock");
    run.stop.stop("x pressed");
    holder.unlock().unwrap();
    let reports = tokio::time::timeout(Duration::from_secs(10), moving)
        .await
        .expect("the run ends once the lock frees")
        .unwrap();
    assert!(server.received().is_empty(), "{:?}", server.received());
    for r in &reports {
        assert_eq!(r.outcome, Some(Outcome::Cancelled), "{r:?}");
        assert!(r.message.contains("x pressed"), "{}", r.message);
    }
    let lines = json_lines(&audit);
    assert!(lines.iter().all(|l| l["event"] != "attempt"), "{lines:?}");
    assert_eq!(
        lines.iter().filter(|l| l["outcome"] == "cancelled").count(),
        3
    );
}
