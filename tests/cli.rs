//! The `switchboard` binary end to end: `assign`, `token`, `config`, `listen` and `mock`, against the
//! stand-in on loopback, each in a home directory of its own.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::cli::*;
use common::*;
use serde_json::Value;
use switchboard::mock::{MockIdentity, MockOptions};
use switchboard::secret::Secret;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test(flavor = "multi_thread")]
async fn assign_prints_one_json_object_per_session_and_exits_1_when_one_is_not_transferred() {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    let file = home.path("sessions.csv");
    std::fs::write(
        &file,
        format!(
            "botSessionId,customer\n{},Ann\n{},Bo\n",
            ok_session(2),
            fault_session("0404")
        ),
    )
    .unwrap();
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--session",
            &ok_session(1),
            "--sessions",
            file.to_str().unwrap(),
            "--queue",
            QUEUE,
            "--json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let lines = json_objects(&out.stdout);
    assert_eq!(lines.len(), 3);
    for key in [
        "botSessionId",
        "target",
        "outcome",
        "http_status",
        "message",
        "response",
        "latency_ms",
        "attempts",
        "callback",
    ] {
        assert!(lines[0].get(key).is_some(), "missing {key}: {}", lines[0]);
    }
    assert_eq!(lines[0]["botSessionId"], ok_session(1));
    assert_eq!(
        lines[0]["target"],
        serde_json::json!({"type": "queue", "id": QUEUE})
    );
    assert_eq!(lines[0]["outcome"], "transferred");
    assert_eq!(lines[2]["outcome"], "rejected");
    assert_eq!(lines[2]["message"], "Session not found or already closed");
    assert_eq!(lines[2]["http_status"], 404);

    let out = run(
        home.against(&server),
        &["assign", "--session", &ok_session(3), "--agent", AGENT],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.starts_with("SESSION"), "{table}");
    assert!(
        table.contains(&ok_session(3)) && table.contains("transferred"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_callbacks_shows_each_sessions_callback() {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--session",
            &ok_session(1),
            "--session",
            &fault_session("0cf0"),
            "--queue",
            QUEUE,
            "--json",
            "--wait-callbacks",
            "10",
            "--listen",
            "127.0.0.1:0",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_objects(&out.stdout);
    assert_eq!(lines[0]["callback"]["state"], "ok");
    assert_eq!(lines[0]["callback"]["body"]["status"], "transferred");
    assert_eq!(lines[1]["callback"]["state"], "failed");
    let audit = json_lines(&home.audit());
    assert_eq!(audit.iter().filter(|l| l["event"] == "callback").count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_prints_curl_commands_and_sends_nothing() {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--session",
            &ok_session(1),
            "--session",
            &ok_session(2),
            "--agent",
            AGENT,
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("curl -X POST").count(), 2, "{stdout}");
    assert!(stdout.contains("-H 'auth: <redacted>'"), "{stdout}");
    assert!(stdout.contains(&format!("\"aId\":\"{AGENT}\"")), "{stdout}");
    assert!(server.received().is_empty());
    assert!(!home.audit().exists(), "nothing sent, nothing to audit");
    assert!(
        !text(&out.stderr).contains("cannot reach"),
        "a host on this machine reaches the listener"
    );

    // A real host and no callback_url: Kore could not reach the listener, and the dry run says so
    // before anything (it sends nothing, so no address but the stand-in's is ever contacted).
    let identity = server.identity().clone();
    let out = run(
        aimed(home.command(), "https://platform.kore.ai", &identity),
        &[
            "assign",
            "--session",
            &ok_session(1),
            "--agent",
            AGENT,
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot reach this machine's listener")
            && stderr.contains("set callback_url in profile"),
        "{stderr}"
    );
    let out = run(
        aimed(home.command(), "https://platform.kore.ai", &identity),
        &[
            "assign",
            "--session",
            &ok_session(1),
            "--agent",
            AGENT,
            "--dry-run",
            "--callback-url",
            "https://tunnel.example/cb",
        ],
    )
    .await;
    assert!(
        !text(&out.stderr).contains("cannot reach"),
        "a callback_url that Kore can reach: {}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_sessions_file_names_file_and_line_and_sends_nothing() {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    let file = home.path("sessions.csv");
    std::fs::write(
        &file,
        format!("botSessionId,customer\n{},Ann\n,Bo\n", ok_session(1)),
    )
    .unwrap();
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--sessions",
            file.to_str().unwrap(),
            "--queue",
            QUEUE,
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{} line 3, field botSessionId: empty",
            file.display()
        )),
        "{stderr}"
    );
    assert!(server.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_come_from_stdin_too() {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    let mut c = home.against(&server);
    c.args(["assign", "--sessions", "-", "--queue", QUEUE, "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    use tokio::io::AsyncWriteExt;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{{\"botSessionId\":\"{}\"}}\n", ok_session(7)).as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_objects(&out.stdout)[0]["botSessionId"], ok_session(7));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_setting_is_exit_2_and_says_what_to_set() {
    let home = Home::new();
    let out = run(
        home.command(),
        &["assign", "--session", &ok_session(1), "--queue", QUEUE],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("missing setting `host`")
            && stderr.contains("--host")
            && stderr.contains("SWITCHBOARD_HOST"),
        "{stderr}"
    );
    let out = run(home.command(), &["assign", "--session", &ok_session(1)]).await;
    assert_eq!(out.status.code(), Some(2), "a usage error is exit 2 too");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_config_file_is_exit_2_naming_file_and_line() {
    let home = Home::new();
    let config = home.path("config.toml");
    std::fs::write(&config, "default_profile = \"prod\"\n[profiles.prod]\nhost = \"https://platform.kore.ai\"\nrate = 5\n").unwrap();
    let out = run(
        home.command(),
        &["--config", config.to_str().unwrap(), "token"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{} line 4", config.display())) && stderr.contains("`rate`"),
        "{stderr}"
    );
}

/// SIGKILL in the middle of a bulk run: every request the stand-in received has its audit line.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_bulk_run_has_an_audit_line_for_every_request_received() {
    let server = start_mock(MockOptions {
        latency: Duration::from_millis(20),
        ..quick_mock_options()
    })
    .await;
    let home = Home::new();
    let file = home.path("sessions.csv");
    let sessions: Vec<String> = (1..=2000).map(ok_session).collect();
    std::fs::write(&file, format!("botSessionId\n{}\n", sessions.join("\n"))).unwrap();
    let mut c = home.against(&server);
    c.args([
        "assign",
        "--sessions",
        file.to_str().unwrap(),
        "--queue",
        QUEUE,
        "--concurrency",
        "8",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while server.received().len() < 50 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never got going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    let received: Vec<String> = server
        .received()
        .into_iter()
        .filter_map(|r| r.session)
        .collect();
    assert!(received.len() < sessions.len(), "killed before the end");
    let attempted: std::collections::HashSet<String> = json_lines(&home.audit())
        .into_iter()
        .filter(|l| l["event"] == "attempt")
        .map(|l| l["botSessionId"].as_str().unwrap().to_string())
        .collect();
    for session in &received {
        assert!(
            attempted.contains(session),
            "{session} reached the stand-in with no audit line"
        );
    }
}

/// The client secret, the token and the callback token appear nowhere: not on stdout or stderr, not
/// in the audit log, not in the log file.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_appear_nowhere() {
    let server = start_mock(MockOptions {
        callback_delay: Duration::from_millis(10),
        ..quick_mock_options()
    })
    .await;
    let home = Home::new();
    let callback_token = "callback-token-0f9e8d7c6b5a";
    let log = home.path("switchboard.log");
    let plain_token = {
        let id = MockIdentity::demo(Secret::new(SECRET));
        switchboard::token::TokenMaker::new(
            switchboard::token::Credential::ClientSecret {
                app_id: id.app_id,
                secret: Secret::new(SECRET),
            },
            false,
        )
        .unwrap()
        .next()
        .unwrap()
    };
    let sessions = [
        ok_session(1),
        fault_session("0404"),
        fault_session("0500"),
        fault_session("0bad"),
        fault_session("0401"),
    ];
    let mut outputs = Vec::new();
    for (jti, extra) in [
        ("false", vec!["--json"]),
        ("true", vec![]),
        ("false", vec!["--dry-run"]),
    ] {
        let mut c = home.against(&server);
        c.env("SWITCHBOARD_ENFORCE_JTI", jti)
            .env("SWITCHBOARD_CALLBACK_TOKEN", callback_token);
        let mut args = vec![
            "assign",
            "-vv",
            "--log-file",
            log.to_str().unwrap(),
            "--queue",
            QUEUE,
            "--concurrency",
            "1",
        ];
        args.extend(["--wait-callbacks", "2", "--listen", "127.0.0.1:0"]);
        for s in &sessions {
            args.extend(["--session", s.as_str()]);
        }
        args.extend(extra);
        let out = run(c, &args).await;
        outputs.push(text(&out.stdout));
        outputs.push(text(&out.stderr));
    }
    assert!(
        server.received().len() >= 4,
        "the runs reached the stand-in"
    );
    outputs.push(std::fs::read_to_string(home.audit()).unwrap());
    outputs.push(std::fs::read_to_string(&log).unwrap());
    for (i, output) in outputs.iter().enumerate() {
        for secret in [SECRET, plain_token.expose(), callback_token] {
            assert!(
                !output.contains(secret),
                "output {i} holds a secret:\n{output}"
            );
        }
        // Every JWT, whatever its claims, starts with the base64 of `{"`.
        assert!(!output.contains("eyJ"), "output {i} holds a JWT:\n{output}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn token_prints_kores_documented_payload() {
    let home = Home::new();
    let mut c = home.command();
    c.env("SWITCHBOARD_CLIENT_SECRET", SECRET);
    let out = run(
        c,
        &[
            "token",
            "--app-id",
            "cs-50febaa3-743f-55b3-8956-718e96f6bb90",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let token = text(&out.stdout);
    assert_eq!(
        token.trim().split('.').nth(1),
        Some("eyJhcHBJZCI6ImNzLTUwZmViYWEzLTc0M2YtNTViMy04OTU2LTcxOGU5NmY2YmI5MCJ9")
    );
    let out = run(home.command(), &["token", "--app-id", "cs-1"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("SWITCHBOARD_CLIENT_SECRET"));
}

#[tokio::test(flavor = "multi_thread")]
async fn config_path_and_init_write_a_template_that_works() {
    let home = Home::new();
    let out = run(home.command(), &["config", "path"]).await;
    let expected = home.path("config/switchboard/config.toml");
    assert_eq!(text(&out.stdout).trim(), expected.display().to_string());
    let out = run(home.command(), &["config", "init"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        std::fs::read_to_string(&expected)
            .unwrap()
            .contains("[profiles.prod]")
    );
    let out = run(home.command(), &["config", "init"]).await;
    assert_eq!(out.status.code(), Some(2), "never overwrites");
    // The template names KORE_PROD_SECRET; with it set, the profile signs a token.
    let mut c = home.command();
    c.env("KORE_PROD_SECRET", SECRET);
    let out = run(c, &["token"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).matches('.').count(), 2);
    let mut c = home.command();
    c.env("SWITCHBOARD_CONFIG", home.path("elsewhere.toml"));
    let out = run(c, &["config", "path"]).await;
    assert_eq!(
        text(&out.stdout).trim(),
        home.path("elsewhere.toml").display().to_string()
    );
}

async fn first_line(reader: &mut (impl AsyncBufReadExt + Unpin)) -> String {
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(20), reader.read_line(&mut line))
        .await
        .expect("a line in time")
        .unwrap();
    line
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_blank_or_short_callback_token_is_refused_at_start() {
    let home = Home::new();
    for token in ["", "   ", "short-token"] {
        let mut c = home.command();
        c.env("SWITCHBOARD_CALLBACK_TOKEN", token);
        let out = run(c, &["listen", "--listen", "127.0.0.1:0"]).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{token:?}: {err}");
        assert!(
            err.contains("callback_token") && err.contains("SWITCHBOARD_CALLBACK_TOKEN"),
            "{err}"
        );
        assert!(err.contains("at least 16 characters"), "{err}");
        if !token.trim().is_empty() {
            assert!(!err.contains(token), "the token is not echoed: {err}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn listen_prints_each_callback_as_a_json_line() {
    let home = Home::new();
    let mut c = home.command();
    c.env("SWITCHBOARD_CALLBACK_TOKEN", "shared-token-of-a-listener")
        .args(["listen", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let banner = first_line(&mut stderr).await;
    let addr = banner
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect(&banner)
        .to_string();
    let url = format!(
        "http://{addr}/callback/{}?t=shared-token-of-a-listener",
        ok_session(1)
    );
    let answer = reqwest::Client::new()
        .post(&url)
        .json(&serde_json::json!({"status": "transferred"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let event: Value = serde_json::from_str(&first_line(&mut stdout).await).unwrap();
    assert_eq!(event["botSessionId"], ok_session(1));
    assert_eq!(event["matched_by"], "url");
    assert_eq!(event["body"]["status"], "transferred");
}

#[tokio::test(flavor = "multi_thread")]
async fn mock_serves_the_assign_endpoint_and_documents_its_faults() {
    let home = Home::new();
    let out = run(home.command(), &["mock", "--help"]).await;
    let help = text(&out.stdout);
    for switch in [
        "--status",
        "--retry-after",
        "--latency-ms",
        "--non-json",
        "--callbacks",
        "--rate-limit",
        "0404",
        "1429",
        "0bad",
    ] {
        assert!(
            help.contains(switch),
            "mock --help does not mention {switch}"
        );
    }
    let mut c = home.command();
    c.env("SWITCHBOARD_CLIENT_SECRET", SECRET)
        .args(["mock", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let banner = first_line(&mut stdout).await;
    let base = banner.split_whitespace().last().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{banner}");
    let id = MockIdentity::demo(Secret::new(SECRET));
    let mut c = home.command();
    c.env("SWITCHBOARD_HOST", &base)
        .env("SWITCHBOARD_STREAM_ID", &id.stream_id)
        .env("SWITCHBOARD_ORG_ID", &id.org_id)
        .env("SWITCHBOARD_ACCOUNT_ID", &id.account_id)
        .env("SWITCHBOARD_APP_ID", &id.app_id)
        .env("SWITCHBOARD_CLIENT_SECRET", SECRET);
    let out = run(
        c,
        &[
            "assign",
            "--session",
            &ok_session(1),
            "--queue",
            QUEUE,
            "--json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json_objects(&out.stdout)[0]["outcome"], "transferred");
}

#[tokio::test(flavor = "multi_thread")]
async fn assign_can_take_what_an_agent_or_a_queue_holds_from_live_data() {
    let server = start_center(quick_mock_options()).await;
    let center = server.center().unwrap();
    let queue = center.queues[0].id.clone();
    let other = center.queues[1].id.clone();
    let waiting: Vec<String> = center
        .conversations
        .iter()
        .filter(|c| c.queue_id == queue && c.agent_user_id.is_none() && c.is_open())
        .map(|c| c.session.clone())
        .collect();
    assert!(!waiting.is_empty());
    let home = Home::new();

    // The dry run shows exactly the sessions it would move, and sends nothing.
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--from-queue",
            &queue,
            "--queue",
            &other,
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.matches("curl -X POST").count(),
        waiting.len(),
        "{stdout}"
    );
    for session in &waiting {
        assert!(
            stdout.contains(session.as_str()),
            "{session} missing from:\n{stdout}"
        );
    }
    assert!(server.received().is_empty());

    // An agent's conversations move, and the center shows it.
    let (agent, held) = center
        .agents
        .iter()
        .map(|a| {
            (
                a,
                center
                    .conversations
                    .iter()
                    .filter(|c| c.agent_user_id.as_deref() == Some(a.user_id.as_str()))
                    .count(),
            )
        })
        .find(|(_, n)| *n > 0)
        .expect("the demo has an agent with conversations");
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--from-agent",
            &agent.id,
            "--queue",
            &other,
            "--json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json_objects(&out.stdout).len(), held);
    let after = server.center().unwrap();
    assert!(
        !after
            .conversations
            .iter()
            .any(|c| c.agent_user_id.as_deref() == Some(agent.user_id.as_str()))
    );

    // A u- user id is never sent as aId.
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--session",
            &waiting[0],
            "--agent",
            &agent.user_id,
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is a user id (u-)"),
        "{}",
        text(&out.stderr)
    );
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--from-agent",
            "a-0000000-0000-0000-0000-000000000000",
            "--queue",
            &other,
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown agent is an error, not an empty move"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pacing_off_is_for_a_stand_in_on_loopback_only() {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    let mut c = home.against(&server);
    // The same settings aimed at Kore's host: nothing may be sent unpaced there.
    c.env("SWITCHBOARD_HOST", "https://platform.kore.ai");
    let out = run(
        c,
        &["assign", "--session", &ok_session(1), "--queue", QUEUE],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("rate 0")
            && stderr.contains("SWITCHBOARD_RATE")
            && stderr.contains("loopback"),
        "{stderr}"
    );
    let mut c = home.against(&server);
    c.env("SWITCHBOARD_HOST", "https://platform.kore.ai")
        .env("SWITCHBOARD_RATE", "60")
        .env("SWITCHBOARD_RATE_WINDOW_MS", "1000");
    let out = run(
        c,
        &["assign", "--session", &ok_session(1), "--queue", QUEUE],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("rate_window_ms"),
        "{}",
        text(&out.stderr)
    );
    assert!(server.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn check_calls_each_api_once_names_the_missing_scope_and_moves_nothing() {
    let server = start_center(quick_mock_options()).await;
    let home = Home::new();
    let out = run(home.against(&server), &["check"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for (api, scope) in [
        ("assign-conversation", "Routing"),
        ("List of Conversations", "SmartAssist Analytics"),
        ("List All Agents", "SmartAssist Analytics"),
        ("Check Agent Availability", "Configuration"),
        ("Get a List of Queues", "Configuration"),
        ("Queue Size", "SmartAssist Analytics"),
        ("Get Conversation Details", "SmartAssist Analytics"),
        ("Hours of Operation", "Configuration"),
        ("Conversation History", "Chat History"),
    ] {
        let row = table
            .lines()
            .find(|l| l.starts_with(api))
            .unwrap_or_else(|| panic!("no row for {api}:\n{table}"));
        assert!(row.contains(scope) && row.contains(" ok "), "{row}");
    }
    // Update Queue Priority cannot be probed without changing a queue: not called, and said so.
    let row = table
        .lines()
        .find(|l| l.starts_with("Update Queue Priority"))
        .unwrap();
    assert!(
        row.contains("skipped") && row.contains("would change a queue"),
        "{row}"
    );
    // The assign probe named a session that cannot exist; nothing moved.
    let probes = server.received();
    assert_eq!(probes.len(), 1);
    assert_eq!(
        probes[0].session.as_deref(),
        Some("000000000000000000000000")
    );
    assert_eq!(probes[0].answered, Some(404));
    assert_eq!(server.reads(), 8, "each read API once");

    let denied = start_mock(MockOptions {
        denied_scopes: vec![
            switchboard::api::Scope::Configuration,
            switchboard::api::Scope::Routing,
            switchboard::api::Scope::ChatHistory,
        ],
        ..quick_mock_options()
    })
    .await;
    let out = run(home.against(&denied), &["check"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for api in [
        "assign-conversation",
        "Check Agent Availability",
        "Get a List of Queues",
        "Hours of Operation",
        "Conversation History",
    ] {
        let row = table.lines().find(|l| l.starts_with(api)).unwrap();
        assert!(
            row.contains("scope missing") && row.contains("HTTP 401") && row.contains("scope"),
            "{row}"
        );
    }
    let row = table
        .lines()
        .find(|l| l.starts_with("List All Agents"))
        .unwrap();
    assert!(row.contains(" ok "), "{row}");

    // Nobody listening: unreachable, exit 1.
    let mut c = home.against(&server);
    c.env("SWITCHBOARD_HOST", "http://127.0.0.1:9");
    let out = run(c, &["check"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout).matches("unreachable").count(), 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn absurd_numbers_are_refused_before_anything_is_sent() {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    let session = ok_session(1);
    let queue = "qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001";
    let base = ["assign", "--session", &session, "--queue", queue];
    // Flags, environment, and what the error must name.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 6] = [
        (
            &["--wait-callbacks", "18446744073709551615"],
            &[],
            "--wait-callbacks",
        ),
        (&["--timeout", "99999999"], &[], "--timeout"),
        (&["--rate", "100000"], &[], "--rate"),
        (&["--concurrency", "0"], &[], "--concurrency"),
        (
            &[],
            &[("SWITCHBOARD_CALLBACK_WAIT_SECS", "99999999")],
            "SWITCHBOARD_CALLBACK_WAIT_SECS",
        ),
        (
            &[],
            &[("SWITCHBOARD_MAX_RETRY_WAIT_SECS", "0")],
            "SWITCHBOARD_MAX_RETRY_WAIT_SECS",
        ),
    ];
    for (flags, env, named) in cases {
        let mut c = home.against(&server);
        for (k, v) in env {
            c.env(k, v);
        }
        let args: Vec<&str> = base.iter().chain(flags.iter()).copied().collect();
        let out = run(c, &args).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{named}: {err}");
        assert!(err.contains(named), "{named} is named: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(server.received().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_settings_stop_before_the_first_request() {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    let session = ok_session(1);
    let queue = "qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001";
    let base = server.base_url();
    let cases = [
        (
            "SWITCHBOARD_ACCOUNT_ID",
            "650d9eb6\r\nx-evil: 1".to_string(),
            "account_id",
        ),
        (
            "SWITCHBOARD_TOKEN",
            "eyJ\nabc".to_string(),
            "SWITCHBOARD_TOKEN",
        ),
        ("SWITCHBOARD_HOST", format!("{base}/some/path"), "no path"),
        ("SWITCHBOARD_HOST", format!("{base}?q=1"), "no path, query"),
        ("SWITCHBOARD_HOST", format!("{base}#top"), "fragment"),
        (
            "SWITCHBOARD_HOST",
            base.replace("http://", "http://user:pw@"),
            "user:password@",
        ),
        (
            "SWITCHBOARD_HOST",
            "http://platform.kore.ai".to_string(),
            "allow_insecure_http",
        ),
        (
            "SWITCHBOARD_LISTEN",
            "0.0.0.0:0".to_string(),
            "callback_url",
        ),
    ];
    for (var, value, says) in cases {
        let mut c = home.against(&server);
        c.env(var, &value);
        let out = run(
            c,
            &[
                "assign",
                "--session",
                &session,
                "--queue",
                queue,
                "--wait-callbacks",
                "1",
            ],
        )
        .await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value:?}: {err}");
        assert!(err.contains(says), "{var}={value:?}: {err}");
        if var == "SWITCHBOARD_TOKEN" {
            assert!(!err.contains("eyJ"), "the token is not echoed: {err}");
        }
    }
    assert!(server.received().is_empty(), "nothing was sent");
    // With callback_url, every interface is fine; and plain http needs saying so.
    let allowed: [&[(&str, &str)]; 2] = [
        &[
            ("SWITCHBOARD_LISTEN", "0.0.0.0:0"),
            (
                "SWITCHBOARD_CALLBACK_URL",
                "https://tunnel.example.net/callback",
            ),
        ],
        &[
            ("SWITCHBOARD_HOST", "http://platform.kore.ai"),
            ("SWITCHBOARD_ALLOW_INSECURE_HTTP", "true"),
            ("SWITCHBOARD_RATE", "60"),
        ],
    ];
    for env in allowed {
        let mut c = home.against(&server);
        c.envs(env.iter().copied());
        let args = [
            "assign",
            "--session",
            &session,
            "--queue",
            queue,
            "--dry-run",
        ];
        let out = run(c, &args).await;
        assert_eq!(out.status.code(), Some(0), "{env:?}: {}", text(&out.stderr));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_that_cannot_connect_says_the_cause_first_and_the_audit_keeps_the_chain() {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    let mut c = home.against(&server);
    c.env("SWITCHBOARD_HOST", "http://127.0.0.1:9");
    let out = run(
        c,
        &[
            "assign",
            "--session",
            &ok_session(1),
            "--queue",
            "qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001",
            "--no-verify",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let table = text(&out.stdout);
    let row = table.lines().nth(1).unwrap_or_default();
    assert!(row.contains("failed"), "{table}");
    assert!(
        row.trim_end().ends_with("connection refused 127.0.0.1:9"),
        "the cause, short: {table}"
    );
    let audit = std::fs::read_to_string(home.audit()).unwrap();
    assert!(
        audit.contains("connection refused 127.0.0.1:9\\n"),
        "the audit log has the whole chain after it: {audit}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn live_prints_what_the_console_shows() {
    let server = start_center(quick_mock_options()).await;
    let center = server.center().unwrap();
    let home = Home::new();
    let out = run(home.against(&server), &["live", "sessions", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let sessions = json_objects(&out.stdout);
    let open = center.conversations.iter().filter(|c| c.is_open()).count();
    assert_eq!(sessions.len(), open);
    for status in ["ACTIVE", "OPEN", "IDLE", "OVERDUE"] {
        assert!(
            sessions.iter().any(|s| s["status"] == status),
            "no {status} in {sessions:?}"
        );
    }
    let held = sessions.iter().find(|s| s["status"] == "OVERDUE").unwrap();
    assert!(
        held["agentUserId"].as_str().unwrap().starts_with("u-"),
        "an overdue conversation is still held: {held}"
    );
    assert!(
        held["agentId"].as_str().unwrap().starts_with("a-"),
        "the agent's a- id beside the user id: {held}"
    );
    for s in &sessions {
        assert!(s["priority"].is_string(), "Kore's priority: {s}");
        assert!(s["sentiment"]["tone"].is_string(), "{s}");
        assert!(s["intent"].is_string() && s["language"] == "en", "{s}");
    }

    // --sort: each order, as the console's `s` reads it.
    let sorted = |by: &'static str| {
        let home = &home;
        let server = &server;
        async move {
            let out = run(
                home.against(server),
                &["live", "sessions", "--json", "--sort", by],
            )
            .await;
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            json_objects(&out.stdout)
        }
    };
    let by_wait: Vec<u64> = sorted("wait")
        .await
        .iter()
        .map(|s| s["waitMs"].as_u64().unwrap())
        .collect();
    assert!(by_wait.windows(2).all(|w| w[0] >= w[1]), "{by_wait:?}");
    let by_priority: Vec<i64> = sorted("priority")
        .await
        .iter()
        .map(|s| s["priority"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        by_priority.windows(2).all(|w| w[0] >= w[1]),
        "{by_priority:?}"
    );
    assert!(by_priority.first() > by_priority.last(), "{by_priority:?}");
    let by_sentiment = sorted("sentiment").await;
    let negativity = |s: &serde_json::Value| {
        switchboard::triage::Sentiment {
            tone: s["sentiment"]["tone"].as_str().unwrap().into(),
            strength: s["sentiment"]["strength"].as_i64(),
        }
        .negativity()
    };
    let scores: Vec<i64> = by_sentiment.iter().map(negativity).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let out = run(home.against(&server), &["live", "agents", "--sort", "wait"]).await;
    assert_eq!(out.status.code(), Some(2), "sessions only");
    let out = run(
        home.against(&server),
        &["live", "sessions", "--status", "closed"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert_eq!(table.lines().count(), 1 + 3, "{table}");
    assert!(
        table.lines().skip(1).all(|l| l.contains("CLOSED")),
        "{table}"
    );

    let out = run(home.against(&server), &["live", "agents"]).await;
    let table = text(&out.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.contains("Hiro Tanaka") && l.contains("SYSTEM_BUSY")),
        "{table}"
    );
    assert!(text(&out.stderr).contains("call(s)"));
    let out = run(home.against(&server), &["live", "queues", "--json"]).await;
    let queues = json_objects(&out.stdout);
    assert_eq!(queues.len(), 4);
    assert!(queues.iter().all(|q| q["waiting"].is_u64()));

    let out = run(
        home.against(&server),
        &["live", "sessions", "--status", "STUCK"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("OVERDUE"));
    assert!(server.received().is_empty(), "reads only");
}

#[tokio::test(flavor = "multi_thread")]
async fn assign_checks_with_the_server_where_each_session_went() {
    let server = start_center(quick_mock_options()).await;
    let c = server.center().unwrap();
    let moved = c.conversations[0].session.clone();
    let refused_by_agent = "66c2f6939489bfffc7910cf0";
    let queue_of = |session: &str| {
        c.conversations
            .iter()
            .find(|x| x.session == session)
            .unwrap()
            .queue_id
            .clone()
    };
    let to = c
        .queues
        .iter()
        .find(|q| q.id != queue_of(&moved) && q.id != queue_of(refused_by_agent))
        .unwrap()
        .id
        .clone();
    let home = Home::new();
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--session",
            &moved,
            "--session",
            refused_by_agent,
            "--queue",
            &to,
            "--json",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "not moved is a failure: {}",
        text(&out.stderr)
    );
    let lines = json_objects(&out.stdout);
    assert_eq!(lines[0]["outcome"], "transferred");
    assert_eq!(lines[0]["verified"], "verified", "{}", lines[0]);
    assert_eq!(lines[1]["outcome"], "transferred");
    assert_eq!(lines[1]["verified"], "not moved", "{}", lines[1]);
    assert!(
        lines[1]["verified_detail"]
            .as_str()
            .unwrap()
            .contains("the server shows it in queue"),
        "{}",
        lines[1]
    );
    let audit = json_lines(&home.audit());
    let verify_lines: Vec<_> = audit.iter().filter(|l| l["event"] == "verify").collect();
    assert_eq!(verify_lines.len(), 2, "{audit:?}");

    let out = run(
        home.against(&server),
        &[
            "assign",
            "--session",
            &moved,
            "--queue",
            &to,
            "--json",
            "--no-verify",
            // It was moved a moment ago: sent again only when insisted on.
            "--force",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(json_objects(&out.stdout)[0]["verified"].is_null());
}

/// SIGINT, SIGHUP or SIGTERM in the middle of a paced run: it stops at once; the unsent are
/// `cancelled`, on record and in the output; the exit code is 128 + the signal.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_run_records_the_unsent_as_cancelled_and_exits_128_plus_the_signal() {
    // SIGHUP is a dropped ssh: the record is written all the same.
    for (signal, code) in [("INT", 130), ("HUP", 129), ("TERM", 143)] {
        interrupted_by(signal, code).await;
    }
}

async fn interrupted_by(signal: &str, code: i32) {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    let sessions: Vec<String> = (1..=30).map(ok_session).collect();
    let mut c = home.against(&server);
    // A minute a session's worth of pacing: without a stop this run would take half a minute.
    c.env("SWITCHBOARD_RATE", "60");
    c.args(["assign", "--queue", QUEUE, "--json", "--no-verify"]);
    for s in &sessions {
        c.args(["--session", s]);
    }
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    let pid = child.id().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while server.received().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never got going"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = std::time::Instant::now();
    std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("it stops at once")
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(code), "{}", text(&out.stderr));
    let lines = json_objects(&out.stdout);
    assert_eq!(lines.len(), 30);
    let sent = server.received().len();
    let cancelled = lines.iter().filter(|l| l["outcome"] == "cancelled").count();
    assert_eq!(sent + cancelled, 30, "each session was sent or cancelled");
    assert!(cancelled >= 20, "{cancelled}");
    assert!(
        text(&out.stderr).contains(&format!("cancelled (stopped: interrupted by SIG{signal})")),
        "{}",
        text(&out.stderr)
    );
    let audit = json_lines(&home.audit());
    assert_eq!(
        audit
            .iter()
            .filter(|l| l["event"] == "outcome" && l["outcome"] == "cancelled")
            .count(),
        cancelled
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn assign_refuses_ids_that_cannot_be_sent() {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    for (args, says) in [
        (
            vec!["--session", "hello world", "--queue", QUEUE],
            "--session number 1",
        ),
        (
            vec![
                "--session",
                "6538f8a3c9cf425ee5cf0001",
                "--queue",
                "qu-nope",
            ],
            "not Kore's shape",
        ),
        (
            vec!["--session", "6538f8a3c9cf425ee5cf0001", "--agent", "u-7f3a"],
            "is a user id (u-)",
        ),
        // A name is looked up: one nobody is called is refused, naming the flag.
        (
            vec!["--session", "6538f8a3c9cf425ee5cf0001", "--agent", "alice"],
            "--agent: nothing is called \"alice\"",
        ),
    ] {
        let mut all = vec!["assign"];
        all.extend(args);
        let out = run(home.against(&server), &all).await;
        assert_eq!(out.status.code(), Some(2), "{all:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(says),
            "{all:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(server.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn server_text_cannot_take_over_the_terminal_and_a_closed_pipe_ends_quietly() {
    use wiremock::matchers::any;
    use wiremock::{Mock, ResponseTemplate};
    // A server whose message would clear the screen and retitle the window.
    let hostile = wiremock::MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(400).set_body_json(
            serde_json::json!({"message": "bad\u{1b}[2J\u{1b}]0;owned\u{7} request"}),
        ))
        .mount(&hostile)
        .await;
    let home = Home::new();
    let identity = MockIdentity::demo(Secret::new(SECRET));
    let mut c = aimed(home.command(), &hostile.uri(), &identity);
    c.env("SWITCHBOARD_RATE", "0");
    let session = ok_session(1);
    let out = run(
        c,
        &[
            "assign",
            "--session",
            &session,
            "--queue",
            "qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001",
            "--no-verify",
        ],
    )
    .await;
    let shown = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
        "{shown:?}"
    );
    assert!(shown.contains("bad\\u{1b}[2J"), "shown, escaped: {shown}");

    // `assign … | head -1`: the rest of the output has nowhere to go, and that is all.
    let file = home.path("many.csv");
    let mut csv = String::from("botSessionId\n");
    for i in 0..500 {
        csv.push_str(&format!("{}\n", ok_session(i)));
    }
    std::fs::write(&file, csv).unwrap();
    let line = format!(
        "{BIN} assign --sessions {} --queue qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001 --dry-run | head -1; echo \"status ${{PIPESTATUS[0]}}\"",
        file.display()
    );
    let c = aimed(home.shell(), &hostile.uri(), &identity);
    let out = run(c, &["-c", &line]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!stderr.contains("panicked"), "{stderr}");
    let status = stdout.lines().last().unwrap_or_default();
    assert!(
        status == "status 0" || status == "status 141",
        "{status}: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_tears_no_audit_line_and_sends_nothing_unrecorded() {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    let file = home.path("sessions.csv");
    let mut csv = String::from("botSessionId\n");
    for i in 0..20 {
        csv.push_str(&format!("{}\n", ok_session(i)));
    }
    std::fs::write(&file, csv).unwrap();
    let audit = home.path("audit.jsonl");
    // A 4 KiB file size limit: the disk fills a few lines in, in the middle of one.
    let line = format!(
        "ulimit -f 4; exec {BIN} assign --sessions {} --queue qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001 --no-verify --audit-log {}",
        file.display(),
        audit.display()
    );
    let mut c = aimed(home.shell(), &server.base_url(), server.identity());
    c.env("SWITCHBOARD_RATE", "0")
        .env("SWITCHBOARD_CONCURRENCY", "1");
    let out = run(c, &["-c", &line]).await;
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(log.len() <= 4096, "{}", log.len());
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a torn line {l:?}: {e}")))
        .collect();
    let attempts = lines.iter().filter(|l| l["event"] == "attempt").count();
    assert!(attempts < 20, "the disk filled before the end");
    assert_eq!(
        server.received().len(),
        attempts,
        "every request sent has its attempt line, and no more were sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn files_are_private_and_secrets_stay_out_of_errors() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let home = Home::new();
    // `config init` under the loosest umask: still 0600 in a 0700 directory.
    let out = run(
        home.shell(),
        &["-c", &format!("umask 000; exec {BIN} config init")],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let config = home.path("config/switchboard/config.toml");
    assert_eq!(mode(&config), 0o600);
    assert_eq!(mode(config.parent().unwrap()), 0o700);

    // A secret file others can read is named, with the chmod that fixes it.
    let secret_file = home.path("secret.txt");
    std::fs::write(&secret_file, SECRET).unwrap();
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let profile = home.path("loose.toml");
    std::fs::write(
        &profile,
        format!(
            "[profiles.prod]\nhost = \"https://platform.kore.ai\"\napp_id = \"cs-1\"\nclient_secret_file = \"{}\"\n",
            secret_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&profile, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut c = home.command();
    c.env("SWITCHBOARD_CONFIG", &profile);
    let out = run(c, &["token"]).await;
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "client_secret_file {} can be read by others",
            secret_file.display()
        )) && err.contains(&format!("chmod 600 {}", secret_file.display())),
        "{err}"
    );
    assert!(
        !err.contains("the config file"),
        "the config is private: {err}"
    );

    // A TOML error names the line, and does not echo it.
    let broken = home.path("broken.toml");
    std::fs::write(
        &broken,
        "[profiles.prod]\ncallback_token = \"s3cr3t-callback-token-value\n",
    )
    .unwrap();
    let mut c = home.command();
    c.env("SWITCHBOARD_CONFIG", &broken);
    let out = run(c, &["token"]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");

    // The log file and the audit log are private.
    let server = start_mock(quick_mock_options()).await;
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--session",
            &ok_session(1),
            "--queue",
            "qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001",
            "--no-verify",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(mode(&home.audit()), 0o600);
    assert_eq!(mode(&home.path("data/switchboard/switchboard.log")), 0o600);
}

#[tokio::test(flavor = "multi_thread")]
async fn input_has_limits_named_by_file_and_line() {
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    // `assign --sessions FILE` with the environment `env`: its exit code and what it said.
    let refused = |file: &str, env: &[(&str, &str)]| {
        let mut c = home.against(&server);
        c.envs(env.iter().copied());
        let args = [
            "assign",
            "--sessions",
            file,
            "--queue",
            "qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001",
        ]
        .map(str::to_owned);
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run(c, &args).await;
            (out.status.code(), text(&out.stderr))
        }
    };
    // /dev/zero ends at once, with exit 2, not gigabytes of memory.
    let started = std::time::Instant::now();
    let (code, err) = refused("/dev/zero", &[]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("/dev/zero") && err.contains("larger than max_input_mb (64 MB)"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // A smaller limit, from the environment.
    let big = home.path("big.csv");
    let mut csv = String::from("botSessionId\n");
    while csv.len() < 1_100_000 {
        csv.push_str(&format!("{}\n", ok_session(csv.len() as u32)));
    }
    std::fs::write(&big, &csv).unwrap();
    let (code, err) = refused(big.to_str().unwrap(), &[("SWITCHBOARD_MAX_INPUT_MB", "1")]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("larger than max_input_mb (1 MB)"), "{err}");
    // A field over 1 KiB, and a header that repeats a column.
    let long = home.path("long.csv");
    std::fs::write(
        &long,
        format!(
            "botSessionId,note\n{},ok\n{},{}\n",
            ok_session(1),
            ok_session(2),
            "x".repeat(2000)
        ),
    )
    .unwrap();
    let (code, err) = refused(long.to_str().unwrap(), &[]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("long.csv line 3, field note: 2000 bytes"),
        "{err}"
    );
    let twice = home.path("twice.csv");
    std::fs::write(
        &twice,
        format!("botSessionId,customer,customer\n{},a,b\n", ok_session(1)),
    )
    .unwrap();
    let (code, err) = refused(twice.to_str().unwrap(), &[]).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("twice.csv line 1, field customer: the header names this column twice"),
        "{err}"
    );
    assert!(server.received().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn completions_man_page_and_version_come_from_the_same_definitions() {
    let home = Home::new();
    for (shell, mark) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef switchboard"),
        ("fish", "complete -c switchboard"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = run(home.command(), &["completions", shell]).await;
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = text(&out.stdout);
        assert!(script.contains(mark), "{shell}: {script}");
        // Every subcommand, the audit ones among them, is offered.
        for sub in [
            "assign",
            "apply",
            "audit",
            "verify",
            "report",
            "completions",
        ] {
            assert!(script.contains(sub), "{shell} lacks {sub}");
        }
    }
    let man = run(home.command(), &["man"]).await;
    let page = text(&man.stdout);
    assert!(page.contains(".TH switchboard 1"), "{page}");
    assert!(page.contains("read\\-only"), "the global flags are in it");
    assert!(page.contains("audit"), "and the subcommands");

    let version = run(home.command(), &["--version"]).await;
    let said = text(&version.stdout);
    assert!(
        said.starts_with(concat!("switchboard ", env!("CARGO_PKG_VERSION"))),
        "{said}"
    );
    // Built from this checkout, it names this commit.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match head {
        Some(commit) => assert!(said.contains(&format!("commit {commit}")), "{said}"),
        None => assert!(said.contains("not built from a git checkout"), "{said}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn records_that_are_links_or_fifos_are_refused_and_nothing_else_is_touched() {
    use std::os::unix::fs::PermissionsExt;
    let server = start_mock(quick_mock_options()).await;
    let home = Home::new();
    let fifo = |path: &std::path::Path| {
        let made = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(made.success());
    };
    // The audit log a link to another file: refused before anything is sent, the file untouched.
    let elsewhere = home.path("elsewhere.txt");
    std::fs::write(&elsewhere, "keep").unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::create_dir_all(home.audit().parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&elsewhere, home.audit()).unwrap();
    let assign = ["assign", "--session", &ok_session(1), "--queue", QUEUE];
    let out = run(home.against(&server), &assign).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is a link"),
        "{}",
        text(&out.stderr)
    );
    assert!(server.received().is_empty(), "nothing sent");
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep");
    let mode = std::fs::metadata(&elsewhere).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644, "nothing else is chmodded");
    std::fs::remove_file(home.audit()).unwrap();

    // The budget ledger a FIFO: refused, exit 2, rather than the budget silently unshared.
    let ledger = home.path("ledger");
    fifo(&ledger);
    let mut c = home.against(&server);
    c.env("SWITCHBOARD_RATE", "60")
        .env("SWITCHBOARD_BUDGET_FILE", &ledger);
    let out = run(c, &assign).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("the budget ledger"),
        "{}",
        text(&out.stderr)
    );
    assert!(server.received().is_empty());

    // The budget ledger named as a file that is no ledger: refused, exit 2, the file as it was.
    let notes = home.path("notes.txt");
    std::fs::write(&notes, "my notes\n").unwrap();
    let mut c = home.against(&server);
    c.env("SWITCHBOARD_RATE", "60")
        .env("SWITCHBOARD_BUDGET_FILE", &notes);
    let out = run(c, &assign).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is not a budget ledger"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes\n");
    assert!(server.received().is_empty());

    // `audit verify` of a FIFO ends at once with why, rather than waiting forever.
    let log = home.path("audit-fifo.jsonl");
    fifo(&log);
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        run(home.command(), &["audit", "verify", log.to_str().unwrap()]),
    )
    .await
    .expect("no hang");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not a plain file"),
        "{}",
        text(&out.stderr)
    );
}
