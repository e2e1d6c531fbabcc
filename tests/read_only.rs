//! Read-only mode: the process cannot send an assignment, whichever way it is asked, and everything
//! that only reads still works. The refusal is proven where requests are built, without the fronts.

mod common;

use common::cli::*;
use common::*;
use reqwest::Method;
use switchboard::api::KoreApi;
use switchboard::config::keys;
use switchboard::dispatch::{Move, Run};
use switchboard::engine;
use switchboard::outcome::Outcome;
use switchboard::request::Target;
use switchboard::secret::Secret;
use wiremock::matchers::any;
use wiremock::{Mock, ResponseTemplate};

const AGENT: &str = "a-8cd2673-0cb7-462d-9453-0ee60e520001";

/// Below every front: the API, the client and the dispatcher of a read-only process, aimed at a
/// server that counts every request it gets. None reaches it.
#[tokio::test]
async fn a_read_only_process_cannot_build_an_assignment_at_any_layer() {
    let server = wiremock::MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(0)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let settings = settings_for(&server.uri(), &audit, &[(&keys::READ_ONLY, "true")]);

    // The layer that builds requests refuses the APIs that change the center, and only them.
    let api = engine::api(&settings).unwrap();
    let url = api.url("/assign-conversation");
    let refused = api
        .request(KoreApi::AssignConversation, Method::POST, &url)
        .expect_err("no assignment can be built");
    assert!(refused.contains("read-only"), "{refused}");
    assert!(
        refused.contains("--read-only"),
        "names where it was set: {refused}"
    );
    // A queue's priority changes the center too: refused the same way.
    let refused = api
        .request(KoreApi::UpdateQueuePriority, Method::PUT, &url)
        .expect_err("no priority change can be built");
    assert!(refused.contains("--read-only"), "{refused}");
    for read in KoreApi::ALL.into_iter().filter(|a| !a.changes_the_center()) {
        assert!(api.request(read, Method::GET, &url).is_ok(), "{read:?}");
    }

    // The client's one attempt: not delivered, nothing sent.
    let route =
        engine::callback_route(&settings, "127.0.0.1:9".parse().unwrap(), Secret::new("cb"))
            .unwrap();
    let client = engine::client(&settings, route).unwrap();
    let result = client
        .attempt("6538f8a3c9cf425ee5cf0001", &Target::agent(AGENT))
        .await;
    assert_eq!(result.outcome, Outcome::Failed);
    assert!(!result.delivered);
    assert!(result.message.contains("read-only"), "{}", result.message);

    // The dispatcher: every move is cancelled, with why, and on record; no attempt line.
    let dispatcher = quick_dispatcher(&settings);
    let moves: Vec<Move> = (1..=3)
        .map(|n| Move::new(ok_session(n), Target::agent(AGENT)))
        .collect();
    let reports = dispatcher.assign_moves(&Run::new(), &moves, None).await;
    for r in &reports {
        assert_eq!(r.outcome, Some(Outcome::Cancelled), "{r:?}");
        assert!(r.message.contains("read-only"), "{}", r.message);
    }
    let lines = json_lines(&audit);
    assert!(lines.iter().all(|l| l["event"] != "attempt"), "{lines:?}");
    assert_eq!(
        lines.iter().filter(|l| l["outcome"] == "cancelled").count(),
        3
    );
    // `expect(0)` is checked when the server drops; say it here too.
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// Each way of turning it on stops `assign` and `apply` with exit 2 before anything is read or
/// sent, naming where it was turned on; reads, checks, plans and dry runs still work.
#[tokio::test(flavor = "multi_thread")]
async fn read_only_commands_say_why_they_cannot_send_and_the_rest_works() {
    let server = start_center(quick_mock_options()).await;
    let home = Home::new();
    let queue = server.center().unwrap().queues[0].id.clone();

    let flag = run(
        home.against(&server),
        &[
            "assign",
            "--read-only",
            "--from-queue",
            &queue,
            "--queue",
            &queue,
        ],
    )
    .await;
    assert_eq!(flag.status.code(), Some(2));
    assert!(
        text(&flag.stderr).contains("read-only (flag --read-only)"),
        "{}",
        text(&flag.stderr)
    );

    let mut by_env = home.against(&server);
    by_env.env("SWITCHBOARD_READ_ONLY", "1");
    let env = run(
        by_env,
        &["assign", "--session", &ok_session(1), "--queue", &queue],
    )
    .await;
    assert_eq!(env.status.code(), Some(2));
    assert!(
        text(&env.stderr).contains("environment variable SWITCHBOARD_READ_ONLY"),
        "{}",
        text(&env.stderr)
    );

    let config = home.path("config.toml");
    std::fs::write(
        &config,
        "default_profile = \"watch\"\n[profiles.watch]\nread_only = true\n",
    )
    .unwrap();
    let mut by_profile = home.against(&server);
    by_profile.env("SWITCHBOARD_CONFIG", &config);
    let plan_file = home.path("p.json");
    let planned = run(
        by_profile,
        &[
            "plan",
            "--from-queue",
            &queue,
            "--queue",
            &queue,
            "-o",
            plan_file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(planned.status.code(), Some(0), "{}", text(&planned.stderr));
    let mut by_profile = home.against(&server);
    by_profile.env("SWITCHBOARD_CONFIG", &config);
    let applied = run(by_profile, &["apply", plan_file.to_str().unwrap(), "--yes"]).await;
    assert_eq!(applied.status.code(), Some(2));
    assert!(
        text(&applied.stderr).contains("line 3 (profiles.watch.read_only)"),
        "{}",
        text(&applied.stderr)
    );

    let dry = run(
        home.against(&server),
        &[
            "assign",
            "--read-only",
            "--dry-run",
            "--session",
            &ok_session(1),
            "--queue",
            &queue,
        ],
    )
    .await;
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    assert!(text(&dry.stdout).contains("curl -X POST"));

    let live = run(home.against(&server), &["live", "queues", "--read-only"]).await;
    assert_eq!(live.status.code(), Some(0), "{}", text(&live.stderr));

    // `check` reads every API but does not send even its harmless assign probe.
    let check = run(home.against(&server), &["check", "--read-only"]).await;
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    let table = text(&check.stdout);
    let row = table
        .lines()
        .find(|l| l.starts_with("assign-conversation"))
        .unwrap();
    assert!(
        row.contains("skipped") && row.contains("read-only"),
        "{row}"
    );

    assert!(
        server.received().is_empty(),
        "no assignment reached the stand-in"
    );
    assert!(
        !std::fs::read_to_string(home.audit())
            .unwrap_or_default()
            .contains("\"attempt\""),
        "nothing was attempted"
    );
}
