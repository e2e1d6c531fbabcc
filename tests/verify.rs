//! Moves checked with the server, over real HTTP against the stand-in's simulated center: a transfer
//! the platform applies a moment after answering is verified (not called `not moved` while in
//! progress), one whose callback says it failed is `not moved`, agents are matched through their user
//! id, and a missing scope leaves the move `unverified`. Batches read the list when it is cheaper.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use switchboard::api::Scope;
use switchboard::dispatch::StopSignal;
use switchboard::engine;
use switchboard::live::LiveClient;
use switchboard::mock::{self, MockOptions, MockServer};
use switchboard::outcome::Outcome;
use switchboard::pacer::Pacer;
use switchboard::request::Target;
use switchboard::verify::{Verified, Verifier, VerifyPolicy};

const FAILS_ITS_CALLBACK: &str = "66c2f6939489bfffc7910cf0";

fn verifier(server: &MockServer, dir: &std::path::Path, policy: VerifyPolicy) -> Verifier {
    let settings = settings_for(&server.base_url(), &dir.join("a.jsonl"), &[]);
    let live = LiveClient::new(Arc::new(engine::api(&settings).unwrap()), Pacer::new(0));
    Verifier::new(&live, policy)
}

fn quick(looks: u32) -> VerifyPolicy {
    VerifyPolicy {
        first_after: Duration::ZERO,
        looks,
        between: Duration::from_millis(400),
    }
}

/// Moves `session` to `target` through the dispatcher; the answer must be `transferred`.
async fn transfer(server: &MockServer, dir: &std::path::Path, session: &str, target: &Target) {
    let settings = settings_for(&server.base_url(), &dir.join("a.jsonl"), &[]);
    let r = quick_dispatcher(&settings)
        .assign_one(session, target, &StopSignal::default(), None)
        .await;
    assert_eq!(r.outcome, Some(Outcome::Transferred), "{r:?}");
}

#[tokio::test]
async fn a_transfer_in_progress_is_looked_at_again_until_it_shows() {
    let server = start_center(MockOptions {
        apply_delay: Duration::from_millis(700),
        ..quick_mock_options()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let c = server.center().unwrap();
    let session = c.conversations[0].session.clone();
    let to = c
        .queues
        .iter()
        .find(|q| q.id != c.conversations[0].queue_id)
        .unwrap()
        .id
        .clone();
    let moves = vec![(session.clone(), Target::queue(&to))];
    transfer(&server, dir.path(), &session, &moves[0].1).await;
    // At once, the platform has not applied it yet: one look alone would call it not moved.
    let once = verifier(&server, dir.path(), quick(1))
        .verify_all(&moves)
        .await;
    assert_eq!(once[0].verified, Verified::NotMoved, "{once:?}");
    // Looking again a bounded number of times finds it where it was sent.
    let polled = verifier(&server, dir.path(), quick(4))
        .verify_all(&moves)
        .await;
    assert_eq!(polled[0].verified, Verified::Verified, "{polled:?}");
    assert!(polled[0].detail.contains("in queue"), "{polled:?}");
}

#[tokio::test]
async fn a_transfer_whose_callback_failed_is_not_moved_and_says_where_it_is() {
    let server = start_center(quick_mock_options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = server.center().unwrap();
    let before = c
        .conversations
        .iter()
        .find(|x| x.session == FAILS_ITS_CALLBACK)
        .unwrap()
        .clone();
    let to = c.queues.iter().find(|q| q.id != before.queue_id).unwrap();
    let target = Target::queue(&to.id);
    transfer(&server, dir.path(), FAILS_ITS_CALLBACK, &target).await;
    let v = verifier(&server, dir.path(), quick(2))
        .verify_all(&[(FAILS_ITS_CALLBACK.to_string(), target)])
        .await;
    assert_eq!(v[0].verified, Verified::NotMoved);
    let home = c.queues.iter().find(|q| q.id == before.queue_id).unwrap();
    assert!(v[0].detail.contains(&home.name), "{v:?}");
}

#[tokio::test]
async fn an_agent_move_is_matched_through_the_agents_user_id() {
    let server = start_center(quick_mock_options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = server.center().unwrap();
    let session = c.conversations[1].session.clone();
    let agent = c.agents[0].clone();
    let target = Target::agent(&agent.id);
    transfer(&server, dir.path(), &session, &target).await;
    let reads_before = server.reads();
    let v = verifier(&server, dir.path(), quick(1))
        .verify_all(&[(session, target)])
        .await;
    assert_eq!(v[0].verified, Verified::Verified, "{v:?}");
    assert!(v[0].detail.contains(&agent.first_name), "{v:?}");
    assert_eq!(
        server.reads() - reads_before,
        2,
        "one availability call for the user id, one details call for the session"
    );
}

#[tokio::test]
async fn a_batch_reads_the_list_when_it_is_cheaper_than_one_call_a_session() {
    let server = start_center(quick_mock_options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = server.center().unwrap();
    let to = c.queues[3].id.clone();
    let sessions: Vec<String> = c
        .conversations
        .iter()
        .filter(|x| x.is_open() && x.queue_id != to && mock::trigger_for(&x.session).is_none())
        .take(5)
        .map(|x| x.session.clone())
        .collect();
    let moves: Vec<(String, Target)> = sessions
        .iter()
        .map(|s| (s.clone(), Target::queue(&to)))
        .collect();
    for (s, t) in &moves {
        transfer(&server, dir.path(), s, t).await;
    }
    let reads_before = server.reads();
    let v = verifier(&server, dir.path(), quick(1))
        .verify_all(&moves)
        .await;
    assert!(v.iter().all(|v| v.verified == Verified::Verified), "{v:?}");
    assert_eq!(
        server.reads() - reads_before,
        1,
        "the open conversations fit one page: one call for five sessions"
    );
}

#[tokio::test]
async fn without_the_scope_a_move_is_unverified_and_says_why() {
    let server = start_center(MockOptions {
        denied_scopes: vec![Scope::SmartAssistAnalytics],
        ..quick_mock_options()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let session = server.center().unwrap().conversations[0].session.clone();
    let v = verifier(&server, dir.path(), quick(3))
        .verify_all(&[(session, Target::queue(QUEUE))])
        .await;
    assert_eq!(v[0].verified, Verified::Unverified);
    assert!(
        v[0].detail
            .contains("SmartAssist Analytics scope is missing"),
        "{v:?}"
    );
}
