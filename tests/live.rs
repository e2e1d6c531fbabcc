//! Live data: Kore's read APIs parsed from fixtures shaped like the documented samples, read over
//! HTTP from `wiremock` (pages, errors, odd fields) and from the stand-in's simulated center.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use switchboard::dispatch::StopSignal;
use switchboard::engine;
use switchboard::live::{self, Availability, LiveClient};
use switchboard::mock::{Center, MockOptions};
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
    assert_eq!(
        availability["a-898331c-c9e6-4918-9501-6c2626190002"],
        Availability::Available
    );
    assert_eq!(
        availability["a-9c4b773-14ba-4295-8cc1-569036a80003"],
        Availability::Away
    );
    let size = live::parse_queue_size(&fixture("queue-size.json"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (size.waiting, size.engaged, size.avg_wait, size.max_wait),
        (Some(7), Some(3), Some(62000), Some(250000))
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
    let options = MockOptions {
        center: Some(Center::demo(tokio::time::Instant::now())),
        ..quick_mock_options()
    };
    let server = start_mock(options).await;
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
