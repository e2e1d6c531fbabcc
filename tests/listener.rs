//! The callback listener of SPEC §5 over real HTTP.

mod common;

use std::time::Duration;

use futures_util::StreamExt;

use common::*;
use serde_json::json;
use switchboard::audit::{AuditLog, Stamp};
use switchboard::dispatch::Report;
use switchboard::listener::{self, CallbackEvent, CallbackState, Listener, MatchedBy};
use switchboard::mock::MockOptions;
use switchboard::outcome::Outcome;
use switchboard::request::Target;
use switchboard::secret::Secret;

async fn listen(audit: Option<AuditLog>) -> Listener {
    listener::start(
        "127.0.0.1:0".parse().unwrap(),
        Secret::new("s3cr3t-token"),
        audit,
    )
    .await
    .unwrap()
}

async fn next(l: &mut Listener) -> CallbackEvent {
    tokio::time::timeout(Duration::from_secs(5), l.events.recv())
        .await
        .expect("an event arrives")
        .unwrap()
}

#[tokio::test]
async fn a_callback_is_matched_by_url() {
    let mut l = listen(None).await;
    let url = format!(
        "http://{}/callback/{}?t=s3cr3t-token",
        l.addr,
        ok_session(1)
    );
    let answer = reqwest::Client::new()
        .post(&url)
        .json(&json!({"status": "transferred"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let e = next(&mut l).await;
    assert_eq!(
        (e.session.as_deref(), e.matched_by),
        (Some(ok_session(1).as_str()), Some(MatchedBy::Url))
    );
    assert!(e.accepted);
    assert_eq!(e.status.as_deref(), Some("transferred"));
    assert_eq!(
        e.path,
        format!("/callback/{}", ok_session(1)),
        "the token is not kept"
    );
}

#[tokio::test]
async fn a_callback_is_matched_by_body_with_any_method() {
    let mut l = listen(None).await;
    let url = format!("http://{}/?t=s3cr3t-token", l.addr);
    let answer = reqwest::Client::new()
        .put(&url)
        .body(json!({"sessionId": ok_session(2), "status": "failed"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let e = next(&mut l).await;
    assert_eq!(
        (e.session.as_deref(), e.matched_by),
        (Some(ok_session(2).as_str()), Some(MatchedBy::Body))
    );
    assert_eq!(e.method, "PUT");
    let e2 = {
        reqwest::Client::new()
            .post(&url)
            .json(&json!({"botSessionId": ok_session(3)}))
            .send()
            .await
            .unwrap();
        next(&mut l).await
    };
    assert_eq!(e2.session.as_deref(), Some(ok_session(3).as_str()));
}

#[tokio::test]
async fn a_wrong_or_missing_token_gets_401_and_is_recorded_as_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let mut l = listen(Some(
        AuditLog::open(&audit_path, Stamp::for_process("t")).unwrap(),
    ))
    .await;
    for query in ["?t=guess", ""] {
        let url = format!("http://{}/callback/{}{query}", l.addr, ok_session(1));
        let answer = reqwest::Client::new()
            .post(&url)
            .json(&json!({"status": "transferred"}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401);
        let e = next(&mut l).await;
        assert!(!e.accepted);
        assert_eq!(e.rejected.as_deref(), Some("wrong or missing token"));
        assert_eq!(e.session, None, "a refused callback is never matched");
        assert_eq!(e.answered, 401);
    }
    let lines = json_lines(&audit_path);
    assert_eq!(lines.len(), 2);
    assert!(
        lines
            .iter()
            .all(|l| l["event"] == "callback" && l["accepted"] == false)
    );
    assert!(
        !std::fs::read_to_string(&audit_path)
            .unwrap()
            .contains("s3cr3t-token")
    );
}

#[tokio::test]
async fn a_body_over_64_kib_gets_413() {
    let mut l = listen(None).await;
    let url = format!(
        "http://{}/callback/{}?t=s3cr3t-token",
        l.addr,
        ok_session(1)
    );
    let answer = reqwest::Client::new()
        .post(&url)
        .body(vec![b'x'; 64 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 413);
    let e = next(&mut l).await;
    assert_eq!((e.answered, e.accepted), (413, false));
    let answer = reqwest::Client::new()
        .post(&url)
        .body(vec![b'x'; 64 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "64 KiB itself is fine");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_kept_as_text() {
    let mut l = listen(None).await;
    let url = format!(
        "http://{}/callback/{}?t=s3cr3t-token",
        l.addr,
        ok_session(1)
    );
    reqwest::Client::new()
        .post(&url)
        .header("content-type", "text/plain")
        .body("transfer done, status=ok")
        .send()
        .await
        .unwrap();
    let e = next(&mut l).await;
    assert_eq!(e.body, json!("transfer done, status=ok"));
    assert_eq!(e.content_type.as_deref(), Some("text/plain"));
    assert_eq!(e.status, None);
    assert!(e.accepted);
}

#[tokio::test]
async fn the_stand_ins_callbacks_settle_each_session() {
    let server = start_mock(MockOptions {
        callback_delay: Duration::from_millis(10),
        ..quick_mock_options()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_for(&server.base_url(), &dir.path().join("a.jsonl"), &[]);
    let mut l = listen(None).await;
    let d = dispatcher(
        &settings,
        l.addr,
        Secret::new("s3cr3t-token"),
        quick_policy(),
    );
    let sessions = vec![
        ok_session(1),
        fault_session("0cf0"),
        fault_session("0c00"),
        fault_session("0404"),
    ];
    let mut reports: Vec<Report> = d.assign_all(&sessions, &Target::queue(QUEUE), None).await;
    assert_eq!(reports[0].outcome, Some(Outcome::Transferred));
    listener::await_callbacks(&mut l.events, &mut reports, Duration::from_secs(2)).await;
    let states: Vec<_> = reports
        .iter()
        .map(|r| r.callback.as_ref().unwrap().state)
        .collect();
    assert_eq!(
        states,
        [
            CallbackState::Ok,
            CallbackState::Failed,
            CallbackState::Late,
            CallbackState::None
        ]
    );
    assert_eq!(
        reports[0].callback.as_ref().unwrap().body.as_ref().unwrap()["queueId"],
        QUEUE
    );
}

#[tokio::test]
async fn a_callback_without_a_readable_status_is_received_and_an_error_envelope_failed() {
    let mut l = listen(None).await;
    let addr = l.addr;
    let post = |session: String, body: serde_json::Value| {
        let url = format!("http://{addr}/callback/{session}?t=s3cr3t-token");
        async move {
            reqwest::Client::new()
                .post(&url)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    post(
        ok_session(1),
        json!({"sessionId": ok_session(1), "requestCompletedAt": 1}),
    )
    .await;
    let e = next(&mut l).await;
    assert_eq!(e.state(), CallbackState::Received, "no status is not ok");
    assert_eq!(e.body["requestCompletedAt"], 1, "the whole body is kept");
    post(
        ok_session(2),
        json!({"errors": [{"msg": "Agent is not available", "code": 400}]}),
    )
    .await;
    let e = next(&mut l).await;
    assert_eq!(e.state(), CallbackState::Failed);
    let mut reports = vec![Report {
        session: ok_session(3),
        target: Target::queue(QUEUE),
        outcome: Some(Outcome::Transferred),
        http_status: Some(200),
        message: String::new(),
        response: None,
        latency_ms: Some(1),
        attempts: 1,
        callback: None,
        verified: None,
        verified_detail: None,
    }];
    post(ok_session(3), json!({"note": "moved"})).await;
    listener::await_callbacks(&mut l.events, &mut reports, Duration::from_secs(2)).await;
    assert_eq!(
        reports[0].callback.as_ref().unwrap().state,
        CallbackState::Received
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_refused_posts_is_kept_as_metadata_and_counted_not_recorded_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut l = listen(Some(
        AuditLog::open(&path, Stamp::for_process("p")).unwrap(),
    ))
    .await;
    let url = format!("http://{}/callback/{}?t=guess-1234", l.addr, ok_session(1));
    let body = "x".repeat(60 * 1024);
    let client = reqwest::Client::new();
    let posts = futures_util::stream::iter(0..2000).map(|_| {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        async move {
            client
                .post(&url)
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    let answers: Vec<_> = posts.buffer_unordered(32).collect().await;
    assert!(
        answers.iter().all(|a| matches!(a, Ok(401))),
        "{:?}",
        &answers[..3]
    );
    let grew = std::fs::metadata(&path).unwrap().len();
    assert!(grew < 1024 * 1024, "the audit log grew {grew} bytes");
    let text = std::fs::read_to_string(&path).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["answered"], 401);
    assert_eq!(first["size"], 60 * 1024);
    assert!(first["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(first["body"], serde_json::Value::Null, "no stranger's body");
    assert!(
        !text.contains("guess-1234"),
        "no token, right or wrong, in the path"
    );
    // The screen gets no more than the record does.
    let mut shown = 0;
    while l.events.try_recv().is_ok() {
        shown += 1;
    }
    assert_eq!(shown, listener::REFUSED_RECORDED_PER_MINUTE as usize);
    // A real callback still gets through, and is kept whole.
    let ok = format!(
        "http://{}/callback/{}?t=s3cr3t-token",
        l.addr,
        ok_session(1)
    );
    let answer = client
        .post(&ok)
        .json(&json!({"status": "transferred"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert!(next(&mut l).await.accepted);
    // At shutdown, those not recorded one by one are counted on record.
    drop(l);
    let counted: u64 = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["event"] == "callbacks_refused_unrecorded")
        .map(|l| l["count"].as_u64().unwrap())
        .sum();
    assert_eq!(
        counted,
        2000 - u64::from(listener::REFUSED_RECORDED_PER_MINUTE)
    );
}

/// A listen address another process holds is said, with what it means for the run.
#[tokio::test(flavor = "multi_thread")]
async fn a_taken_listen_address_is_said_with_what_it_means() {
    let held = listen(None).await;
    let e = match listener::start(held.addr, Secret::new("t"), None).await {
        Err(e) => e,
        Ok(_) => panic!("a second listener on {} was allowed", held.addr),
    };
    let said = listener::bind_error(held.addr, &e);
    assert!(said.contains("the address is taken"), "{said}");
    assert!(
        said.contains("would reach that process, not this run"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn real_callbacks_are_answered_while_1100_slow_clients_hold_connections() {
    use tokio::io::AsyncBufReadExt;
    // `switchboard listen` as a child with 1,024 file descriptors.
    let mut child = tokio::process::Command::new("prlimit")
        .args([
            "--nofile=1024",
            "--",
            env!("CARGO_BIN_EXE_switchboard"),
            "listen",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("SWITCHBOARD_CALLBACK_TOKEN", "a-token-shared-by-the-run")
        .env("XDG_DATA_HOME", tempfile::tempdir().unwrap().keep())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("prlimit (util-linux) runs the listener");
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = String::new();
    while let Some(line) = stderr.next_line().await.unwrap() {
        if let Some(rest) = line.split("http://").nth(1) {
            addr = rest.split('/').next().unwrap().to_string();
            break;
        }
    }
    assert!(!addr.is_empty());
    // 1,100 clients that connect and send nothing.
    let mut slow = Vec::new();
    for _ in 0..1100 {
        if let Ok(s) = tokio::net::TcpStream::connect(&addr).await {
            slow.push(s);
        }
    }
    assert!(slow.len() >= 1000, "{} connected", slow.len());
    let started = std::time::Instant::now();
    let url = format!(
        "http://{addr}/callback/{}?t=a-token-shared-by-the-run",
        ok_session(1)
    );
    let answer = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .post(&url)
        .json(&json!({"status": "transferred"}))
        .send()
        .await
        .expect("answered within ten seconds");
    assert_eq!(answer.status().as_u16(), 200);
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(slow);
}
