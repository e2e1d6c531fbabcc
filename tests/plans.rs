//! Plans end to end against the stand-in's simulated center: a spread never goes past an agent's
//! capacity, `apply` catches each kind of drift, and a revert puts sessions back where the center
//! showed them before the run.

mod common;

use std::collections::HashMap;

use common::cli::*;
use common::*;
use serde_json::Value;
use switchboard::live::Availability;
use switchboard::mock::{Center, MockOptions, MockServer};
use switchboard::plan::Plan;
use switchboard::plan::spread::capacity_kind;

fn queue_named(center: &Center, name: &str) -> String {
    center
        .queues
        .iter()
        .find(|q| q.name == name)
        .map(|q| q.id.clone())
        .unwrap()
}

/// The sessions waiting in a queue, but for those whose ids ask the stand-in for a fault.
fn waiting_in(center: &Center, queue: &str) -> Vec<String> {
    center
        .conversations
        .iter()
        .filter(|c| c.is_open() && c.queue_id == queue && c.agent_user_id.is_none())
        .filter(|c| switchboard::mock::trigger_for(&c.session).is_none())
        .map(|c| c.session.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spread_fills_available_agents_up_to_their_capacity_and_lists_the_rest() {
    let server = start_center(quick_mock_options()).await;
    let center = server.center().unwrap();
    let home = Home::new();
    let billing = queue_named(&center, "Billing");
    let support = queue_named(&center, "Technical support");
    let waiting = [waiting_in(&center, &billing), waiting_in(&center, &support)].concat();
    let every_agent: Vec<String> = center.agents.iter().map(|a| a.id.clone()).collect();
    let path = home.path("spread.json");
    let mut args = vec!["plan"];
    for s in &waiting {
        args.extend(["--session", s.as_str()]);
    }
    let agents = every_agent.join(",");
    args.extend(["--spread-agents", &agents, "-o", path.to_str().unwrap()]);
    let out = run(home.against(&server), &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(server.received().is_empty(), "a plan sends nothing");
    let plan = Plan::read(&path).unwrap();
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("held +"),
        "each agent's load after: {stdout}"
    );

    // Only AVAILABLE agents get sessions, and none more of a kind than they had free.
    let mut given: HashMap<(String, Option<&str>), u64> = HashMap::new();
    for m in &plan.moves {
        let agent = center.agents.iter().find(|a| a.id == m.target.id).unwrap();
        assert_eq!(agent.availability, Availability::Available, "{m:?}");
        let channel = &center
            .conversations
            .iter()
            .find(|c| c.session == m.session)
            .unwrap()
            .source;
        let n = given
            .entry((agent.id.clone(), capacity_kind(channel)))
            .or_default();
        *n += 1;
        assert!(
            *n <= m.planned.target_free.unwrap(),
            "{} past its free capacity: {m:?}",
            agent.first_name
        );
    }
    // Everything is either placed or listed with why.
    assert_eq!(plan.moves.len() + plan.left_out.len(), waiting.len());
    assert!(
        plan.left_out
            .iter()
            .all(|l| l.why.contains("no AVAILABLE agent has free")),
        "{:?}",
        plan.left_out
    );
    // Longest-waiting first.
    let waited = |s: &str| {
        center
            .conversations
            .iter()
            .find(|c| c.session == s)
            .unwrap()
            .started
    };
    let starts: Vec<_> = plan.moves.iter().map(|m| waited(&m.session)).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");

    // Applied, the center shows each session with its agent, and no live chat past capacity.
    let out = run(
        home.against(&server),
        &[
            "apply",
            path.to_str().unwrap(),
            "--yes",
            "--json",
            "--no-verify",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let after = server.center().unwrap();
    for m in &plan.moves {
        let agent = after.agents.iter().find(|a| a.id == m.target.id).unwrap();
        let c = after
            .conversations
            .iter()
            .find(|c| c.session == m.session)
            .unwrap();
        assert_eq!(c.agent_user_id.as_deref(), Some(agent.user_id.as_str()));
    }
    for agent in after.agents.iter() {
        let chats = after
            .conversations
            .iter()
            .filter(|c| {
                c.is_open()
                    && c.agent_user_id.as_deref() == Some(agent.user_id.as_str())
                    && matches!(
                        capacity_kind(&c.source),
                        Some("liveChat") | Some("messaging")
                    )
            })
            .count() as u64;
        let before = center.chats_of(agent);
        assert!(
            chats <= agent.max_chats.max(before),
            "{} holds {chats} chats, can take {}",
            agent.first_name,
            agent.max_chats
        );
    }
}

/// Writes the plan that moves `sessions` to `target` (two flags), and returns its path.
async fn plan_sessions(
    home: &Home,
    server: &switchboard::mock::MockServer,
    sessions: &[String],
    target: [&str; 2],
) -> std::path::PathBuf {
    let path = home.path(&format!("plan-{}.json", sessions[0]));
    let mut args = vec!["plan"];
    for s in sessions {
        args.extend(["--session", s.as_str()]);
    }
    args.extend(target);
    args.extend(["-o", path.to_str().unwrap()]);
    let out = run(home.against(server), &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    path
}

/// The stand-in's center on `options`, a home, and a plan of `count` of the sessions waiting in
/// Billing to Retention: the plan's path, its sessions and Retention's id.
async fn billing_to_retention(
    options: MockOptions,
    count: usize,
) -> (MockServer, Home, std::path::PathBuf, Vec<String>, String) {
    let server = start_center(options).await;
    let center = server.center().unwrap();
    let home = Home::new();
    let billing = queue_named(&center, "Billing");
    let retention = queue_named(&center, "Retention");
    let waiting = waiting_in(&center, &billing)[..count].to_vec();
    let plan = plan_sessions(&home, &server, &waiting, ["--queue", &retention]).await;
    (server, home, plan, waiting, retention)
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_holds_back_each_kind_of_drift_and_sends_the_rest() {
    let server = start_center(quick_mock_options()).await;
    let center = server.center().unwrap();
    let home = Home::new();
    let billing = queue_named(&center, "Billing");
    let retention = queue_named(&center, "Retention");
    let waiting = waiting_in(&center, &billing);
    assert!(waiting.len() >= 4, "{waiting:?}");
    let dana = center
        .agents
        .iter()
        .find(|a| a.first_name == "Dana")
        .unwrap()
        .clone();
    let farid = center
        .agents
        .iter()
        .find(|a| a.first_name == "Farid")
        .unwrap()
        .clone();
    // To a queue: one stays as it was, one closes, one moves to another queue, one is picked up.
    let to_queue = plan_sessions(&home, &server, &waiting[..4], ["--queue", &retention]).await;
    // To agents: one goes offline; the other gets full.
    let to_dana = plan_sessions(&home, &server, &waiting[4..5], ["--agent", &dana.id]).await;
    let to_farid = plan_sessions(&home, &server, &waiting[5..6], ["--agent", &farid.id]).await;

    let (closed, requeued, picked_up) =
        (waiting[1].clone(), waiting[2].clone(), waiting[3].clone());
    let someone = center.agents[0].user_id.clone();
    let other_queue = queue_named(&center, "Payments");
    assert!(server.change_center(|c| {
        for conv in &mut c.conversations {
            if conv.session == closed {
                conv.status = "CLOSED".into();
            } else if conv.session == requeued {
                conv.queue_id = other_queue.clone();
            } else if conv.session == picked_up {
                conv.agent_user_id = Some(someone.clone());
            }
        }
        for agent in &mut c.agents {
            if agent.id == dana.id {
                agent.availability = Availability::Offline;
            } else if agent.id == farid.id {
                agent.max_chats = 0;
            }
        }
    }));

    let out = run(
        home.against(&server),
        &["apply", to_queue.to_str().unwrap(), "--yes", "--no-verify"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a drifted move makes the exit 1: {stderr}"
    );
    for (session, change) in [
        (&closed, "closed"),
        (&requeued, "now in queue"),
        (&picked_up, "was waiting, now with agent"),
    ] {
        assert!(
            stderr.lines().any(|l| l.contains("drifted")
                && l.contains(session.as_str())
                && l.contains(change)),
            "{session} {change}: {stderr}"
        );
    }
    let sent: Vec<Option<String>> = server
        .received()
        .iter()
        .map(|r| r.session.clone())
        .collect();
    assert_eq!(
        sent,
        vec![Some(waiting[0].clone())],
        "only the unchanged move is sent"
    );

    for (plan, change) in [(&to_dana, "is now OFFLINE"), (&to_farid, "is full")] {
        let out = run(
            home.against(&server),
            &["apply", plan.to_str().unwrap(), "--yes", "--no-verify"],
        )
        .await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(change), "{change}: {stderr}");
    }
    assert_eq!(server.received().len(), 1, "nothing drifted is sent");

    // --force sends what drifted; without a terminal and without --yes nothing is sent.
    let out = run(
        home.against(&server),
        &["apply", to_dana.to_str().unwrap(), "--force", "--no-verify"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    let out = run(
        home.against(&server),
        &[
            "apply",
            to_dana.to_str().unwrap(),
            "--yes",
            "--force",
            "--no-verify",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(server.received().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revert_puts_sessions_back_where_the_center_showed_them() {
    let server = start_center(quick_mock_options()).await;
    let center = server.center().unwrap();
    let home = Home::new();
    let billing = queue_named(&center, "Billing");
    let payments = queue_named(&center, "Payments");
    let waiting = waiting_in(&center, &billing);
    // An agent's chats and a queue's waiting sessions, each moved by a run of its own.
    let (holder, held): (String, Vec<String>) = center
        .agents
        .iter()
        .map(|a| {
            (
                a.id.clone(),
                center
                    .conversations
                    .iter()
                    .filter(|c| c.is_open() && c.agent_user_id.as_deref() == Some(&a.user_id))
                    .map(|c| c.session.clone())
                    .collect::<Vec<_>>(),
            )
        })
        .find(|(_, held)| held.len() >= 2)
        .expect("an agent with chats");
    let run_id = |stderr: &str| -> String {
        let at = stderr.find(" · run ").expect("the summary names the run") + 7;
        stderr[at..].split_whitespace().next().unwrap().to_string()
    };
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--from-queue",
            &billing,
            "--queue",
            &payments,
            "--no-verify",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let queue_run = run_id(&text(&out.stderr));
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--from-agent",
            &holder,
            "--queue",
            &payments,
            "--no-verify",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let agent_run = run_id(&text(&out.stderr));

    // Every attempt line says where the session was.
    let lines = json_lines(&home.audit());
    let attempts: Vec<&Value> = lines.iter().filter(|l| l["event"] == "attempt").collect();
    assert_eq!(attempts.len(), waiting.len() + held.len());
    for a in &attempts {
        assert!(a["from"]["queue"].is_string(), "{a}");
        assert!(
            a["run"] == queue_run.as_str() || a["run"] == agent_run.as_str(),
            "{a}"
        );
    }

    // One moved again since the run: the revert's drift check holds it back.
    let moved_again = waiting[0].clone();
    let retention = queue_named(&center, "Retention");
    server.change_center(|c| {
        if let Some(conv) = c
            .conversations
            .iter_mut()
            .find(|c| c.session == moved_again)
        {
            conv.queue_id = retention.clone();
        }
    });
    for (run_id, file) in [
        (&queue_run, "undo-queue.json"),
        (&agent_run, "undo-agent.json"),
    ] {
        let path = home.path(file);
        let out = run(
            home.command(),
            &[
                "revert",
                run_id,
                "-o",
                path.to_str().unwrap(),
                "--host",
                &server.base_url(),
            ],
        )
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let out = run(
            home.against(&server),
            &["apply", path.to_str().unwrap(), "--yes", "--no-verify"],
        )
        .await;
        let stderr = text(&out.stderr);
        if run_id == &queue_run {
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(
                stderr.contains(&format!("drifted: {moved_again}")),
                "{stderr}"
            );
        } else {
            assert_eq!(out.status.code(), Some(0), "{stderr}");
        }
    }
    let after = server.center().unwrap();
    let now = |s: &str| after.conversations.iter().find(|c| c.session == s).unwrap();
    for s in &waiting[1..] {
        assert_eq!(now(s).queue_id, billing, "{s} back in its queue");
        assert_eq!(now(s).agent_user_id, None, "{s} waiting again");
    }
    assert_eq!(now(&moved_again).queue_id, retention, "left where it went");
    let user = &center
        .agents
        .iter()
        .find(|a| a.id == holder)
        .unwrap()
        .user_id;
    for s in &held {
        assert_eq!(
            now(s).agent_user_id.as_ref(),
            Some(user),
            "{s} back with its agent"
        );
    }
    // An unknown run is an error that says so.
    let out = run(
        home.command(),
        &["revert", "nosuchrun", "--host", &server.base_url()],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no run nosuchrun"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn assign_spreads_too_and_what_no_agent_has_room_for_goes_to_the_overflow_queue() {
    let server = start_center(quick_mock_options()).await;
    let center = server.center().unwrap();
    let home = Home::new();
    let billing = queue_named(&center, "Billing");
    let support = queue_named(&center, "Technical support");
    let retention = queue_named(&center, "Retention");
    let waiting = [waiting_in(&center, &billing), waiting_in(&center, &support)].concat();
    let bruno = center
        .agents
        .iter()
        .find(|a| a.first_name == "Bruno")
        .unwrap()
        .clone();
    assert!(waiting.len() > bruno.max_chats as usize + 2, "{waiting:?}");
    let mut args = vec!["assign"];
    for s in &waiting {
        args.extend(["--session", s.as_str()]);
    }
    args.extend([
        "--spread-agents",
        &bruno.id,
        "--overflow-queue",
        &retention,
        "--json",
        "--no-verify",
    ]);
    let out = run(home.against(&server), &args).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Bruno Costa"),
        "each agent's load: {stderr}"
    );
    let reports = json_objects(&out.stdout);
    assert_eq!(reports.len(), waiting.len());
    let to = |kind: &str, id: &str| {
        reports
            .iter()
            .filter(|r| r["target"]["type"] == kind && r["target"]["id"] == id)
            .count()
    };
    let (to_bruno, overflow) = (to("agent", &bruno.id), to("queue", &retention));
    assert_eq!(to_bruno + overflow, waiting.len(), "{reports:?}");
    assert!(
        to_bruno > 0 && overflow > 0,
        "{to_bruno} to Bruno, {overflow} overflowed"
    );
    // Bruno's chats stay within what he can take.
    let after = server.center().unwrap();
    let chats = after
        .conversations
        .iter()
        .filter(|c| {
            c.is_open()
                && c.agent_user_id.as_deref() == Some(bruno.user_id.as_str())
                && matches!(capacity_kind(&c.source), Some("liveChat" | "messaging"))
        })
        .count() as u64;
    assert!(
        chats <= bruno.max_chats,
        "{chats} chats, {} at once",
        bruno.max_chats
    );

    // An overflow queue without a spread is refused before anything is read.
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--session",
            &waiting[0],
            "--queue",
            &retention,
            "--overflow-queue",
            &retention,
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--overflow-queue goes with"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_refuses_a_plan_that_names_a_session_twice_and_sends_nothing() {
    let (server, home, plan, waiting, _) = billing_to_retention(quick_mock_options(), 2).await;
    // The same plan's moves twice over, as two plans pasted together would make it.
    let mut doubled: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let moves = doubled["moves"].as_array().unwrap().clone();
    doubled["moves"]
        .as_array_mut()
        .unwrap()
        .extend(moves.iter().cloned());
    std::fs::write(&plan, serde_json::to_string_pretty(&doubled).unwrap()).unwrap();
    let out = run(
        home.against(&server),
        &["apply", plan.to_str().unwrap(), "--yes", "--no-verify"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("moves 1 and 3 both name session {}", waiting[0])),
        "{stderr}"
    );
    assert!(server.received().is_empty(), "nothing sent");
}

/// The same plan applied twice at once: each session leaves once. The stand-in shows a move only
/// after a while, so the second apply's drift check cannot see the first's moves: only the claims
/// hold them back.
#[tokio::test(flavor = "multi_thread")]
async fn the_same_plan_applied_twice_at_once_sends_each_session_once() {
    let options = MockOptions {
        apply_delay: std::time::Duration::from_secs(60),
        latency: std::time::Duration::from_millis(150),
        ..quick_mock_options()
    };
    let (server, home, plan, waiting, _) = billing_to_retention(options, 4).await;
    let args = [
        "apply",
        plan.to_str().unwrap(),
        "--yes",
        "--no-verify",
        "--json",
    ];
    let (first, second) = tokio::join!(
        run(home.against(&server), &args),
        run(home.against(&server), &args)
    );
    assert_each_sent_once(&server, &waiting[..4]);
    let outcomes: Vec<Value> = [&first, &second]
        .iter()
        .flat_map(|out| json_objects(&out.stdout))
        .collect();
    let held: Vec<&str> = outcomes
        .iter()
        .filter(|o| o["outcome"] == "cancelled")
        .map(|o| o["message"].as_str().unwrap())
        .collect();
    assert_eq!(held.len(), 4, "{outcomes:?}");
    for why in held {
        assert!(
            why.contains("claimed by run ") || why.contains("moved by run "),
            "{why}"
        );
    }
}

/// A session moved a moment ago is held back from the next run, listed by `claims`, sent again only
/// with `--force`; `claims release` ends the mark, on record.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_moved_a_moment_ago_waits_for_force_and_claims_lists_it() {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    let session = ok_session(77);
    let assign = |extra: &'static [&'static str]| {
        let mut args = vec![
            "assign".to_string(),
            "--session".into(),
            session.clone(),
            "--queue".into(),
            "qu-d7f5dd6-c3ce-4ecc-9b08-77c7cde50003".into(),
            "--json".into(),
            "--no-verify".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let command = home.against(&server);
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(command, &args).await
        }
    };
    let out = assign(&[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let first_run = json_lines(&home.audit())
        .iter()
        .find(|l| l["event"] == "attempt")
        .unwrap()["run"]
        .as_str()
        .unwrap()
        .to_string();

    let out = assign(&[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = &json_objects(&out.stdout)[0];
    assert_eq!(report["outcome"], "cancelled");
    let why = report["message"].as_str().unwrap();
    assert!(
        why.starts_with(&format!("cancelled: moved by run {first_run} ")) && why.contains(" ago ("),
        "{why}"
    );
    assert_eq!(server.received().len(), 1, "held back, not sent");

    let out = run(home.against(&server), &["claims"]).await;
    let listed = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(listed.starts_with("SESSION"), "{listed}");
    assert!(
        listed.contains(&session) && listed.contains(&first_run) && listed.contains("moved "),
        "{listed}"
    );

    let out = assign(&["--force"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(server.received().len(), 2, "--force sends it");

    // The forced run's mark now holds it; releasing that run ends it, on record.
    let forced_run = json_lines(&home.audit())
        .iter()
        .rev()
        .find(|l| l["event"] == "attempt")
        .unwrap()["run"]
        .as_str()
        .unwrap()
        .to_string();
    let out = run(home.against(&server), &["claims", "release", &forced_run]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        json_lines(&home.audit())
            .iter()
            .any(|l| l["event"] == "claims_released"
                && l["run"] == forced_run.as_str()
                && l["released"] == 1)
    );
    let out = run(home.against(&server), &["claims", "release", &forced_run]).await;
    assert_eq!(out.status.code(), Some(2), "nothing left to release");
    let out = assign(&[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "released: sent again without --force"
    );
}

/// A plan carries its account and stream: another account's is refused (exit 2, nothing sent); an
/// older plan without them is read with a warning.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_for_another_account_is_refused_and_an_older_one_warns() {
    let (server, home, path, _, _) = billing_to_retention(quick_mock_options(), 1).await;
    let mut plan: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(plan["account"], server.identity().account_id.as_str());
    assert_eq!(plan["stream"], server.identity().stream_id.as_str());

    plan["account"] = "another-account".into();
    std::fs::write(&path, plan.to_string()).unwrap();
    let out = run(
        home.against(&server),
        &["apply", path.to_str().unwrap(), "--yes", "--no-verify"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("made for account another-account"),
        "{stderr}"
    );
    assert!(server.received().is_empty());

    let old = plan.as_object_mut().unwrap();
    old.remove("account");
    old.remove("stream");
    std::fs::write(&path, plan.to_string()).unwrap();
    let out = run(
        home.against(&server),
        &["apply", path.to_str().unwrap(), "--dry-run"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("does not say which account and stream it was made for"),
        "{stderr}"
    );
}

/// Agents and queues by name, as people say them: `--queue Retention`, `--agent dana`. An unknown
/// or ambiguous name stops at once (exit 2) naming the flag, the candidates and where to find ids.
#[tokio::test(flavor = "multi_thread")]
async fn targets_and_selectors_take_names() {
    let server = start_center(quick_mock_options()).await;
    let center = server.center().unwrap();
    let home = Home::new();
    let billing = queue_named(&center, "Billing");
    let retention = queue_named(&center, "Retention");
    let waiting = waiting_in(&center, &billing);
    let out = run(
        home.against(&server),
        &["plan", "--from-queue", "billing", "--queue", "Retention"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let moves = plan["moves"].as_array().unwrap();
    assert_eq!(
        moves.len(),
        waiting.len(),
        "every session waiting in Billing"
    );
    assert!(
        moves
            .iter()
            .all(|m| m["target"]["id"] == retention.as_str())
    );
    let dana = center
        .agents
        .iter()
        .find(|a| a.first_name == "Dana")
        .unwrap()
        .id
        .clone();
    let out = run(
        home.against(&server),
        &["plan", "--session", &waiting[0], "--agent", "dana"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["moves"][0]["target"]["id"], dana.as_str());

    let out = run(
        home.against(&server),
        &["assign", "--session", &waiting[0], "--queue", "Escalashuns"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--queue: nothing is called \"Escalashuns\"")
            && stderr.contains("switchboard live queues"),
        "{stderr}"
    );
    assert!(server.received().is_empty(), "nothing sent");
    // A target given by name keeps its name on record.
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--session",
            &waiting[1],
            "--queue",
            "retention",
            "--no-verify",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let attempt = json_lines(&home.audit())
        .into_iter()
        .find(|l| l["event"] == "attempt")
        .unwrap();
    assert_eq!(attempt["target_name"], "Retention", "{attempt}");
}

/// Healthy targets: an inactive queue is never a target (exit 2, nothing sent); a queue nobody
/// AVAILABLE serves is a warning, and the move goes (scripts decide); a dry run reads nothing.
#[tokio::test(flavor = "multi_thread")]
async fn an_inactive_queue_is_refused_and_one_nobody_serves_warns() {
    let server = start_center(quick_mock_options()).await;
    let center = server.center().unwrap();
    let home = Home::new();
    let billing = queue_named(&center, "Billing");
    let retention = queue_named(&center, "Retention");
    let waiting = waiting_in(&center, &billing);
    // Billing opens tomorrow (UTC) only, 9 to 5: closed now.
    let tomorrow = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .weekday()
        .wrapping_add(1);
    let (code, short) = match tomorrow {
        jiff::civil::Weekday::Monday => ("MO", "Mon"),
        jiff::civil::Weekday::Tuesday => ("TU", "Tue"),
        jiff::civil::Weekday::Wednesday => ("WE", "Wed"),
        jiff::civil::Weekday::Thursday => ("TH", "Thu"),
        jiff::civil::Weekday::Friday => ("FR", "Fri"),
        jiff::civil::Weekday::Saturday => ("SA", "Sat"),
        jiff::civil::Weekday::Sunday => ("SU", "Sun"),
    };
    assert!(server.change_center(|c| {
        c.queues.iter_mut().find(|q| q.id == billing).unwrap().hours = serde_json::json!({
            "standardDays": {"frequency": "WEEKLY", "days": [{"start": "9:00 AM", "end": "5:00 PM", "day": code}]},
            "specialDays": {"frequency": "YEARLY", "days": []},
            "timezone": "UTC"
        });
        c.queues
            .iter_mut()
            .find(|q| q.id == retention)
            .unwrap()
            .active = false;
        // Nobody serving Billing is AVAILABLE.
        for a in c
            .agents
            .iter_mut()
            .filter(|a| a.queue_ids.contains(&billing))
        {
            a.availability = Availability::Busy;
        }
    }));
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--session",
            &waiting[0],
            "--queue",
            "Retention",
            "--no-verify",
        ],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("queue Retention is not active"), "{stderr}");
    assert!(server.received().is_empty());

    let out = run(
        home.against(&server),
        &[
            "assign",
            "--session",
            &waiting[0],
            "--queue",
            "Billing",
            "--no-verify",
        ],
    )
    .await;
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning: nobody AVAILABLE serves Billing: ") && stderr.contains("BUSY"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "warning: Billing is closed now; opens {short} 9:00 AM UTC"
        )),
        "{stderr}"
    );
    assert_eq!(server.received().len(), 1, "a warning, and the move goes");

    let out = run(
        home.against(&server),
        &[
            "assign",
            "--session",
            &waiting[1],
            "--queue",
            "Billing",
            "--dry-run",
        ],
    )
    .await;
    assert!(
        text(&out.stderr).contains("health is not read in a dry run"),
        "{}",
        text(&out.stderr)
    );
}

/// Names on record: an attempt line keeps the target's name and where the session was, by name;
/// `audit runs` and the revert's plan show names beside the ids.
#[tokio::test(flavor = "multi_thread")]
async fn the_record_names_agents_and_queues_beside_their_ids() {
    let (server, home, plan, waiting, retention) =
        billing_to_retention(quick_mock_options(), 1).await;
    let out = run(
        home.against(&server),
        &["apply", plan.to_str().unwrap(), "--yes", "--no-verify"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let audit = json_lines(&home.audit());
    let attempt = audit.iter().find(|l| l["event"] == "attempt").unwrap();
    assert_eq!(attempt["target_name"], "Retention", "{attempt}");
    assert_eq!(attempt["from"]["queue_name"], "Billing", "{attempt}");
    let run_id = attempt["run"].as_str().unwrap().to_string();

    let out = run(home.command(), &["audit", "runs"]).await;
    let runs = text(&out.stdout);
    assert!(
        runs.contains(&format!("Retention (queue {retention})")),
        "{runs}"
    );
    let out = run(
        home.command(),
        &["revert", &run_id, "--host", &server.base_url()],
    )
    .await;
    let undo: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(undo["moves"][0]["botSessionId"], waiting[0].as_str());
    assert_eq!(undo["moves"][0]["target_name"], "Billing", "{undo}");
}

/// Queue priority: `queue priority QUEUE N` takes a name, asks (or needs `--yes` off a terminal),
/// sends Kore's documented call, and records the value it replaces (what switchboard last set, or
/// `unknown`). `revert` of the run writes the plan that sets it back, which `apply` sends; a change
/// from an unknown value cannot be set back and says so. A read-only process refuses.
#[tokio::test(flavor = "multi_thread")]
async fn a_queue_priority_is_confirmed_recorded_and_set_back_by_a_revert() {
    let server = start_center(quick_mock_options()).await;
    let center = server.center().unwrap();
    let home = Home::new();
    let billing = queue_named(&center, "Billing");
    let priority_of = |server: &MockServer| {
        server
            .center()
            .unwrap()
            .queues
            .iter()
            .find(|q| q.id == billing)
            .unwrap()
            .priority
    };
    let refused = [
        (vec!["queue", "priority", "billing", "8"], "add --yes"),
        (
            vec!["queue", "priority", "Biling", "8", "--yes"],
            "QUEUE: nothing is called \"Biling\"",
        ),
        (
            vec!["queue", "priority", "billing", "11", "--yes"],
            "N: priority \"11\" is not a whole number from 1 to 10",
        ),
        (
            vec!["--read-only", "queue", "priority", "billing", "8", "--yes"],
            "read-only (flag --read-only)",
        ),
    ];
    for (args, says) in refused {
        let out = run(home.against(&server), &args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(priority_of(&server), None, "nothing was sent");
    assert!(
        !json_lines(&home.audit())
            .iter()
            .any(|l| l["event"] == "queue_priority_attempt")
    );

    let run_of = |stderr: &str| -> String {
        let at = stderr.find("switchboard: run ").expect("names the run") + 17;
        stderr[at..].split(':').next().unwrap().to_string()
    };
    let out = run(
        home.against(&server),
        &["queue", "priority", "billing", "8", "--yes"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "PUT {}/agentassist/api/v1/public/{}/queues/dynamicqueues/priorities",
            server.base_url(),
            server.identity().stream_id
        )) && stderr.contains("Dynamic Queue Reprioritization"),
        "{stderr}"
    );
    assert_eq!(text(&out.stdout).trim(), "Billing unknown → 8: set");
    assert_eq!(priority_of(&server), Some(8));
    let first = run_of(&stderr);
    let out = run(
        home.against(&server),
        &["queue", "priority", &billing, "3", "--yes"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "Billing 8 → 3: set");
    assert_eq!(priority_of(&server), Some(3));
    let second = run_of(&text(&out.stderr));
    let lines = json_lines(&home.audit());
    let recorded: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "queue_priority")
        .collect();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0]["was"], "unknown");
    assert_eq!(recorded[1]["was"], 8);
    assert_eq!(recorded[1]["outcome"], "set");
    assert_eq!(recorded[1]["queue_name"], "Billing");

    // The second run is set back to 8 by its revert's plan.
    let plan_path = home.path("back.json");
    let out = run(
        home.against(&server),
        &["revert", &second, "-o", plan_path.to_str().unwrap()],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = Plan::read(&plan_path).unwrap();
    assert_eq!(plan.priorities.len(), 1);
    assert_eq!(
        (plan.priorities[0].priority, plan.priorities[0].was),
        (8, Some(3))
    );
    let out = run(
        home.against(&server),
        &["apply", plan_path.to_str().unwrap(), "--yes"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(priority_of(&server), Some(8));
    // The first replaced a value nobody knows: nothing to set back, and the plan says why.
    let out = run(home.against(&server), &["revert", &first]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan: Plan = serde_json::from_slice(&out.stdout).unwrap();
    assert!(plan.priorities.is_empty());
    assert!(
        plan.notes.iter().any(|n| n.contains("not set back")),
        "{:?}",
        plan.notes
    );
}
