//! Live data: Kore's read APIs parsed from fixtures shaped like the documented samples, read over
//! HTTP from `wiremock` (pages, errors, odd fields) and from the stand-in's simulated center.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use switchboard::config::ENV_CLIENT_SECRET;
use switchboard::dispatch::StopSignal;
use switchboard::engine;
use switchboard::live::{self, Availability, LiveClient};
use switchboard::outcome::Outcome;
use switchboard::pacer::Pacer;
use switchboard::request::Target;
use wiremock::matchers::{header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

#[test]
fn conversations_are_read_leniently_from_the_documented_shape() {
    let page = live::parse_conversations(&fixture("conversations-page1.json")).unwrap();
    assert!(page.has_more);
    let [first, second] = page.results.as_slice() else {
        panic!("{:?}", page.results)
    };
    assert_eq!(first.session, "646f068b2462fdb066850001");
    assert_eq!(first.source.as_deref(), Some("audiocodes"));
    assert_eq!(first.queue_name.as_deref(), Some("Default Queue"));
    assert_eq!(
        first.agent_user_id.as_deref(),
        Some("u-b19cd89e-6533-59af-b491-eec9bf8f0001"),
        "conversations name agents by u- id"
    );
    assert_eq!(first.agent_name.as_deref(), Some("John Doe"));
    assert_eq!(first.wait, Some(Duration::from_millis(4142)));
    // The active queue entry is the current one; a wait written as a string still reads.
    assert_eq!(
        second.queue_id.as_deref(),
        Some("qu-53c78e9-d249-477e-a472-9426e25d0002")
    );
    assert_eq!(second.agent_user_id, None);
    assert_eq!(second.wait, Some(Duration::from_millis(10983)));
    let page = live::parse_conversations(&fixture("conversations-page2.json")).unwrap();
    assert!(!page.has_more);
    assert_eq!(
        (page.count, page.results.len()),
        (2, 1),
        "a result with no botSessionId is left out"
    );
    assert_eq!(
        page.results[0].queue_name.as_deref(),
        Some("Billing"),
        "queue from the participant when queues is null"
    );
    assert_eq!(page.results[0].wait, None, "a null wait is blank");
}

#[test]
fn agents_availability_and_queue_size_are_read_leniently() {
    let page = live::parse_agents(&fixture("agents.json")).unwrap();
    let [john, jane, nameless] = page.results.as_slice() else {
        panic!("{:?}", page.results)
    };
    assert_eq!(
        (john.id.as_str(), john.name.as_str()),
        ("a-1353078-d362-4d5e-95ed-554056e70001", "John Doe")
    );
    assert_eq!(john.availability, Some(Availability::Offline));
    assert_eq!(john.max_chats, Some(5));
    assert_eq!(john.queues, ["Default Queue", "Billing"]);
    assert_eq!(john.skills, ["Blue Skill"]);
    assert_eq!(jane.max_chats, Some(20), "a number written as a string");
    assert_eq!(nameless.name, "no.name@domain.com");
    assert!(nameless.skills.is_empty(), "a non-list is empty");
    let availability = live::parse_availability(&fixture("availability.json")).unwrap();
    let jane = &availability["a-898331c-c9e6-4918-9501-6c2626190002"];
    assert_eq!(jane.availability, Some(Availability::Available));
    let kinds: Vec<&str> = jane.capacity.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["liveChat", "messaging", "voice"],
        "an odd entry is left out"
    );
    assert_eq!(
        jane.capacity[0].1,
        live::Capacity {
            enabled: Some(true),
            total: Some(3),
            used: Some(1),
            available: Some(2)
        }
    );
    assert_eq!(
        jane.capacity[1].1.total,
        Some(3),
        "a number written as a string"
    );
    assert_eq!(
        availability["a-9c4b773-14ba-4295-8cc1-569036a80003"].availability,
        Some(Availability::Away)
    );
    // A presence Kore does not document a spelling for is kept as it came, and is not available.
    let other = availability["a-7d1e2f3-0000-4000-8000-000000000004"]
        .availability
        .clone()
        .unwrap();
    assert_eq!(other, Availability::Other("System Busy".into()));
    assert!(!other.is_available() && Availability::parse("available").unwrap().is_available());
    let size = live::parse_queue_size(&fixture("queue-size.json"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (size.waiting, size.engaged, size.avg_wait, size.max_wait),
        (Some(7), Some(3), Some(62000), Some(250000))
    );
    // Who serves it, as Kore's sample counts them: one AVAILABLE of one.
    assert_eq!(size.agents, Some(1));
    assert_eq!(size.health(), live::QueueHealth::Serving);
    let nobody = br#"[{"queueId":"qu-2","queueName":"Billing","agentStatus":{"available":0,"busy":1,"away":"1","offline":0},"noOfAgents":2}]"#;
    let nobody = live::parse_queue_size(nobody).unwrap().unwrap();
    assert_eq!(
        nobody.warning().unwrap(),
        "nobody AVAILABLE serves Billing: 1 BUSY, 1 AWAY; the conversations may wait"
    );
    let list = br#"{"results":[{"id":"qu-1","name":"Escalations","isActive":false},{"id":"qu-2","name":"Billing","isActive":"true"}],"hasMore":false}"#;
    let queues = live::parse_queues(list).unwrap().results;
    assert!(
        queues[0]
            .refusal()
            .unwrap()
            .contains("queue Escalations is not active")
    );
    assert_eq!(
        queues[1].health(),
        live::QueueHealth::Unknown,
        "no Queue Size yet"
    );
    assert!(live::parse_conversations(b"<html>").is_err());
}

fn respond(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture(name), "application/json")
}

async fn live_client_for(host: &str) -> (LiveClient, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_for(host, &dir.path().join("a.jsonl"), &[]);
    let api = Arc::new(engine::api(&settings).unwrap());
    (LiveClient::new(api, Pacer::new(0)), dir)
}

#[tokio::test]
async fn a_snapshot_reads_every_page_and_keeps_going_past_a_failed_queue_size() {
    let server = MockServer::start().await;
    let stream =
        switchboard::mock::MockIdentity::demo(switchboard::secret::Secret::new(SECRET)).stream_id;
    let base = format!("/agentassist/api/v1/public/{stream}");
    for (skip, file) in [
        ("0", "conversations-page1.json"),
        ("2", "conversations-page2.json"),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("{base}/conversations")))
            .and(query_param("status", "ACTIVE"))
            .and(query_param("skip", skip))
            .and(header_exists("auth"))
            .and(header_exists("accountid"))
            .respond_with(respond(file))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(format!(
            "{base}/organizations/o-8f2d4c6a-1b3e-5f70-9a8c-4d2e6b1f3a50/agents"
        )))
        .and(query_param("page", "1"))
        .respond_with(respond("agents.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{base}/agents/availability")))
        .respond_with(respond("availability.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{base}/queues")))
        .respond_with(respond("queues.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "{base}/monitor/queueStatsById/qu-53c78e9-d249-477e-a472-9426e25d0002"
        )))
        .respond_with(respond("queue-size.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "{base}/monitor/queueStatsById/qu-241a4d7-e5d0-45a9-8032-823845050001"
        )))
        .respond_with(ResponseTemplate::new(404).set_body_raw(
            r#"{"errors":[{"msg":"Queue stats unavailable","code":404}]}"#,
            "application/json",
        ))
        .mount(&server)
        .await;

    let (client, _dir) = live_client_for(&server.uri()).await;
    let snapshot = client.snapshot().await.unwrap();
    assert_eq!(snapshot.conversations.len(), 3);
    assert_eq!(snapshot.agents.len(), 3);
    // Availability wins over the agent list's online status.
    assert_eq!(
        snapshot.agents[1].availability,
        Some(Availability::Available)
    );
    assert_eq!(snapshot.agents[2].availability, Some(Availability::Away));
    let billing = snapshot
        .queues
        .iter()
        .find(|q| q.name == "Billing")
        .unwrap();
    assert_eq!(billing.waiting, Some(7));
    let default = snapshot
        .queues
        .iter()
        .find(|q| q.name == "Default Queue")
        .unwrap();
    assert_eq!(default.waiting, None, "unknown stays blank");
    assert_eq!(snapshot.warnings.len(), 1);
    assert!(
        snapshot.warnings[0].contains("Queue Size: HTTP 404: Queue stats unavailable"),
        "{:?}",
        snapshot.warnings
    );
    assert_eq!(snapshot.calls, 7);
    // The u- id pitfall: a conversation's agent maps to the a- id through userId.
    assert_eq!(
        snapshot.agent_id_for_user("u-70b19d34-e795-5059-b687-484c0bc10002"),
        Some("a-898331c-c9e6-4918-9501-6c2626190002")
    );
    assert_eq!(
        snapshot.sessions_with_agent("a-898331c-c9e6-4918-9501-6c2626190002"),
        ["646f05a0a323f0b004a10003"]
    );
}

#[tokio::test]
async fn an_api_error_carries_the_servers_message() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            r#"{"errors":[{"msg":"Invalid apikey","code":4002}]}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let (client, _dir) = live_client_for(&server.uri()).await;
    let e = client.snapshot().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "List of Conversations: HTTP 401: Invalid apikey"
    );
}

#[tokio::test]
async fn the_stand_ins_center_moves_when_a_session_is_transferred() {
    let server = start_center(quick_mock_options()).await;
    let (client, _dir) = live_client_for(&server.base_url()).await;
    let before = client.snapshot().await.unwrap();
    assert_eq!(before.conversations.len(), 44);
    assert_eq!(before.agents.len(), 8);
    assert_eq!(before.queues.len(), 4);
    assert!(before.warnings.is_empty(), "{:?}", before.warnings);
    let session = before.conversations[0].clone();
    let from = session.queue_id.clone().unwrap();
    let to = before.queues.iter().find(|q| q.id != from).unwrap().clone();
    let waiting = |s: &live::LiveSnapshot, id: &str| {
        s.queues
            .iter()
            .find(|q| q.id == id)
            .unwrap()
            .waiting
            .unwrap()
    };

    let dir = tempfile::tempdir().unwrap();
    let settings = settings_for(&server.base_url(), &dir.path().join("a.jsonl"), &[]);
    let d = quick_dispatcher(&settings);
    let r = d
        .assign_one(
            &session.session,
            &Target::queue(&to.id),
            &StopSignal::default(),
            None,
        )
        .await;
    assert_eq!(r.outcome, Some(Outcome::Transferred));
    let after = client.snapshot().await.unwrap();
    assert_eq!(waiting(&after, &from), waiting(&before, &from) - 1);
    assert_eq!(waiting(&after, &to.id), waiting(&before, &to.id) + 1);
    assert_eq!(
        after
            .conversations
            .iter()
            .find(|c| c.session == session.session)
            .unwrap()
            .queue_id
            .as_deref(),
        Some(to.id.as_str())
    );

    // To an agent: the conversation now names the agent's u- id, which maps back to the a- id.
    let agent = &after.agents[0];
    let r = d
        .assign_one(
            &session.session,
            &Target::agent(&agent.id),
            &StopSignal::default(),
            None,
        )
        .await;
    assert_eq!(r.outcome, Some(Outcome::Transferred));
    let again = client.snapshot().await.unwrap();
    assert!(
        again
            .sessions_with_agent(&agent.id)
            .contains(&session.session)
    );
    // A session the center does not hold is not found, as on the platform.
    let r = d
        .assign_one(
            &ok_session(0xffff),
            &Target::queue(&to.id),
            &StopSignal::default(),
            None,
        )
        .await;
    assert_eq!(
        (r.outcome, r.http_status),
        (Some(Outcome::Rejected), Some(404))
    );
}

#[test]
fn the_current_agent_is_the_one_still_in_the_chat() {
    let page = br#"{"results": [
        {"botSessionId": "646f068b2462fdb066850011", "status": "OVERDUE", "participants": [
            {"agentId": "u-1", "name": "Left Early", "status": "ACTIVE", "endTimeStamp": "2025-08-23T06:27:13.724Z"},
            {"agentId": "u-2", "name": "Went Quiet", "status": "INACTIVE", "reason": "OVERDUE"}
        ]},
        {"botSessionId": "646f068b2462fdb066850012", "status": "OPEN", "participants": [
            {"agentId": "u-3", "name": "Ended", "status": "ACTIVE", "endedChat": true},
            {"agentId": "u-4", "name": "Also ended", "status": "ACTIVE", "endTimeStamp": "2025-08-23T06:33:54.960Z", "endedChat": true}
        ], "queues": [{"id": "qu-1", "name": "Billing", "status": "ACTIVE"}]}
    ], "hasMore": false}"#;
    let page = live::parse_conversations(page).unwrap();
    let [held, waiting] = page.results.as_slice() else {
        panic!("{:?}", page.results)
    };
    assert_eq!(
        (held.agent_user_id.as_deref(), held.status.as_deref()),
        (Some("u-2"), Some("OVERDUE")),
        "INACTIVE/OVERDUE without an end time still holds it"
    );
    assert_eq!(
        waiting.agent_user_id, None,
        "every agent left: it is waiting"
    );
    let snapshot = live::LiveSnapshot {
        conversations: page.results.clone(),
        ..Default::default()
    };
    assert_eq!(
        snapshot.sessions_waiting_in("qu-1"),
        vec![waiting.session.clone()]
    );
}

/// A server whose every answer is `body`, on any path.
async fn answering(body: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_list_that_always_says_has_more_costs_what_it_must_and_no_more() {
    // Kore's documented queue sample: hasMore true on page 1 of totalPages 1.
    let sample = r#"{"results":[{"id":"qu-241a4d7-e5d0-45a9-8032-823845050001","name":"Queue1"}],"page":1,"limit":10,"hasMore":true,"totalPages":1,"totalResults":1}"#;
    let server = answering(sample).await;
    let (client, _dir) = live_client_for(&server.uri()).await;
    let mut calls = 0;
    let queues = client.queues(&mut calls).await.unwrap();
    assert_eq!((queues.len(), calls), (1, 1), "stops at totalPages");
    // Without totalPages, a page that brings no new id ends it.
    let server = answering(&sample.replace(r#","totalPages":1"#, "")).await;
    let (client, _dir) = live_client_for(&server.uri()).await;
    let mut calls = 0;
    let queues = client.queues(&mut calls).await.unwrap();
    assert_eq!((queues.len(), calls), (1, 2));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn reads_ask_for_every_open_status_and_the_agents_shown() {
    let server = start_center(quick_mock_options()).await;
    let wire = MockServer::start().await;
    // What the client sends, as wiremock records it; then what it makes of the stand-in's answers.
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"results":[],"hasMore":false}"#, "application/json"),
        )
        .mount(&wire)
        .await;
    let (client, _dir) = live_client_for(&wire.uri()).await;
    let mut calls = 0;
    client
        .conversations(live::OPEN_STATUSES, &mut calls)
        .await
        .unwrap();
    client
        .availability(&["a-1".into(), "a-2".into()], &mut calls)
        .await
        .unwrap_or_default();
    let sent = wire.received_requests().await.unwrap();
    let statuses: Vec<String> = sent[0]
        .url
        .query_pairs()
        .filter(|(k, _)| k == "status")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(statuses, ["ACTIVE", "OPEN", "IDLE", "OVERDUE"]);
    let body: serde_json::Value = serde_json::from_slice(&sent[1].body).unwrap();
    assert_eq!(body, serde_json::json!({"agentIds": ["a-1", "a-2"]}));
    for request in &sent {
        assert_eq!(
            request.headers["accept"], "application/json",
            "every read says what it accepts"
        );
    }

    // Against the stand-in's center: OVERDUE and IDLE conversations show, CLOSED ones do not, an
    // agent who went quiet still holds theirs, and a conversation whose agent left is waiting.
    let (client, _dir) = live_client_for(&server.base_url()).await;
    let snapshot = client.snapshot().await.unwrap();
    let center = server.center().unwrap();
    let status_of = |session: &str| {
        snapshot
            .conversations
            .iter()
            .find(|c| c.session == session)
            .map(|c| c.status.clone().unwrap_or_default())
    };
    for c in &center.conversations {
        match c.status.as_str() {
            "CLOSED" => assert_eq!(status_of(&c.session), None, "{}", c.session),
            open => assert_eq!(status_of(&c.session).as_deref(), Some(open)),
        }
    }
    let overdue = center
        .conversations
        .iter()
        .find(|c| c.status == "OVERDUE")
        .expect("the demo center has an overdue conversation");
    let holder = center
        .agents
        .iter()
        .find(|a| Some(&a.user_id) == overdue.agent_user_id.as_ref())
        .unwrap();
    assert!(
        snapshot
            .sessions_with_agent(&holder.id)
            .contains(&overdue.session),
        "--from-agent takes the overdue one too"
    );
    let abandoned = center
        .conversations
        .iter()
        .find(|c| c.is_open() && !c.left.is_empty() && c.agent_user_id.is_none())
        .expect("the demo center has a conversation whose agent left");
    assert!(
        snapshot
            .sessions_waiting_in(&abandoned.queue_id)
            .contains(&abandoned.session),
        "--from-queue takes the one whose agent left"
    );
    // Availability comes for the agents shown, with capacity; an undocumented presence stays as it came.
    let hiro = snapshot
        .agents
        .iter()
        .find(|a| a.name == "Hiro Tanaka")
        .unwrap();
    assert_eq!(
        hiro.availability,
        Some(Availability::Other("SYSTEM_BUSY".into()))
    );
    let alice = snapshot
        .agents
        .iter()
        .find(|a| a.name == "Alice Moreau")
        .unwrap();
    assert_eq!(alice.capacity_of("liveChat").unwrap().total, Some(5));
    assert!(snapshot.warnings.is_empty(), "{:?}", snapshot.warnings);
}

#[tokio::test]
async fn a_failed_read_says_the_cause_first_and_short_and_keeps_the_whole_chain() {
    // Nothing listens on port 9 (discard) on loopback.
    let (client, _dir) = live_client_for("http://127.0.0.1:9").await;
    let e = client.snapshot().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "List of Conversations: connection refused 127.0.0.1:9"
    );
    let full = e.with_chain();
    let mut lines = full.lines();
    assert_eq!(lines.next(), Some(e.to_string().as_str()));
    assert!(
        lines
            .next()
            .is_some_and(|chain| chain.contains("error sending request")),
        "{full}"
    );
}

#[tokio::test]
async fn a_read_refused_for_the_rate_limit_slows_the_budget_for_every_call() {
    for (status, body) in [
        (429, ""),
        (
            400,
            r#"{"errors":[{"msg":"You've exceeded the per-minute rate limit. Please wait.","code":400}]}"#,
        ),
        (403, "Rate limit for this API has been reached"),
    ] {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        // Tried again only briefly here: that is the next test.
        let settings = settings_with_env(
            &server.uri(),
            &dir.path().join("a.jsonl"),
            &[],
            &[
                ("SWITCHBOARD_MAX_RETRY_WAIT_SECS", "1"),
                (ENV_CLIENT_SECRET, SECRET),
            ],
        );
        let api = Arc::new(engine::api(&settings).unwrap());
        let pacer = Pacer::new(60);
        let client = LiveClient::new(api, pacer.clone());
        let mut calls = 0;
        assert!(client.queues(&mut calls).await.is_err());
        // The pacer's own task takes the news: wait for it, a little.
        let mut status_now = pacer.status();
        for _ in 0..200 {
            if status_now.lowered() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            status_now = pacer.status();
        }
        assert!(
            status_now.lowered(),
            "{status} {body:?}: the limit in force drops below 60: {status_now:?}"
        );
    }
    // Any other refusal leaves the budget as it was.
    let server = answering_with(404, r#"{"message":"no such queue"}"#).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_for(&server.uri(), &dir.path().join("a.jsonl"), &[]);
    let pacer = Pacer::new(60);
    let client = LiveClient::new(Arc::new(engine::api(&settings).unwrap()), pacer.clone());
    assert!(client.queues(&mut 0).await.is_err());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!pacer.status().lowered());
}

/// A read refused for the rate limit is tried again after the `Retry-After`, within
/// max_retry_wait_secs; past it, the refusal is the answer.
#[tokio::test]
async fn a_read_refused_for_the_rate_limit_is_tried_again_within_the_retry_wait() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"data":[]}"#))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_for(&server.uri(), &dir.path().join("a.jsonl"), &[]);
    let client = LiveClient::new(Arc::new(engine::api(&settings).unwrap()), Pacer::new(0));
    let mut calls = 0;
    let started = std::time::Instant::now();
    client
        .queues(&mut calls)
        .await
        .expect("the second try answers");
    assert_eq!(calls, 2);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After is waited"
    );

    // A Retry-After longer than max_retry_wait_secs: not tried again.
    server.reset().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30"))
        .mount(&server)
        .await;
    let settings = settings_with_env(
        &server.uri(),
        &dir.path().join("a.jsonl"),
        &[],
        &[
            ("SWITCHBOARD_MAX_RETRY_WAIT_SECS", "5"),
            (ENV_CLIENT_SECRET, SECRET),
        ],
    );
    let client = LiveClient::new(Arc::new(engine::api(&settings).unwrap()), Pacer::new(0));
    let mut calls = 0;
    let err = client.queues(&mut calls).await.unwrap_err();
    assert_eq!(calls, 1);
    assert_eq!(err.status, Some(429));
}

async fn answering_with(status: u16, body: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(status).set_body_string(body.to_string()))
        .mount(&server)
        .await;
    server
}

/// Conversation History against the stand-in: a session's last messages, oldest first, who wrote
/// each; an app without the Chat History scope is named as such, for the detail to say.
#[tokio::test(flavor = "multi_thread")]
async fn a_sessions_last_messages_come_oldest_first_and_a_missing_scope_is_named() {
    let server = start_center(quick_mock_options()).await;
    let (client, _dir) = live_client_for(&server.base_url()).await;
    let snapshot = client.snapshot().await.unwrap();
    let session = &snapshot.conversations[0].session;
    let messages = client.messages(session, &mut 0).await.unwrap();
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert_eq!(messages[0].author, switchboard::history::Author::Customer);
    assert!(messages[0].text.starts_with("Hi, I need help with"));
    assert_eq!(messages[3].author, switchboard::history::Author::Bot);
    assert!(
        messages.windows(2).all(|w| w[0].at <= w[1].at),
        "oldest first"
    );
    assert!(
        client
            .messages("000000000000000000000000", &mut 0)
            .await
            .unwrap()
            .is_empty()
    );

    let denied = start_mock(switchboard::mock::MockOptions {
        denied_scopes: vec![switchboard::api::Scope::ChatHistory],
        ..quick_mock_options()
    })
    .await;
    let (client, _dir) = live_client_for(&denied.base_url()).await;
    let e = client.messages(session, &mut 0).await.unwrap_err();
    let why = switchboard::history::why_unread(&e);
    assert!(why.contains("lacks the Chat History scope"), "{why}");
}
