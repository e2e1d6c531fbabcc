//! The audit log read back by the binary: a run against the stand-in's center, then its report in
//! each format, checked line by line against the audit log it came from; `runs`; and `verify`
//! before and after the log is tampered with.

mod common;

use std::collections::HashMap;

use common::cli::*;
use common::*;
use serde_json::Value;

/// The last line of `event` for each session of `run`.
fn last_by_session<'a>(lines: &'a [Value], run: &str, event: &str) -> HashMap<String, &'a Value> {
    let mut out = HashMap::new();
    for l in lines
        .iter()
        .filter(|l| l["run"] == run && l["event"] == event)
    {
        out.insert(l["botSessionId"].as_str().unwrap().to_string(), l);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_of_a_run_matches_its_audit_lines_and_verify_catches_an_edit() {
    let server = start_center(quick_mock_options()).await;
    let home = Home::new();
    let center = server.center().unwrap();
    let billing = center
        .queues
        .iter()
        .find(|q| q.name == "Billing")
        .unwrap()
        .id
        .clone();
    let other = center
        .queues
        .iter()
        .find(|q| q.id != billing)
        .unwrap()
        .id
        .clone();
    let out = run(
        home.against(&server),
        &[
            "assign",
            "--from-queue",
            &billing,
            "--queue",
            &other,
            "--wait-callbacks",
            "10",
            "--listen",
            "127.0.0.1:0",
            "--json",
        ],
    )
    .await;
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        text(&out.stderr)
    );
    let lines = json_lines(&home.audit());
    let run_id = lines
        .iter()
        .find(|l| l["event"] == "attempt")
        .and_then(|l| l["run"].as_str())
        .expect("an attempt line names its run")
        .to_string();
    // Every line says who and where, and links to the one before.
    for l in &lines {
        assert!(l["user"].as_str().is_some_and(|u| !u.is_empty()), "{l}");
        assert_eq!(l["host"], server.base_url().as_str(), "{l}");
        assert_eq!(l["prev"].as_str().unwrap().len(), 64, "{l}");
        if matches!(
            l["event"].as_str(),
            Some("attempt" | "outcome" | "callback" | "verify")
        ) {
            assert_eq!(l["run"], run_id.as_str(), "{l}");
        }
    }

    let json = run(
        home.command(),
        &[
            "audit",
            "report",
            "--run",
            &run_id,
            "--format",
            "json",
            "--log",
            home.audit().to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let reports: Vec<Value> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(report["run"], run_id.as_str());
    let attempts = last_by_session(&lines, &run_id, "attempt");
    let outcomes = last_by_session(&lines, &run_id, "outcome");
    let callbacks = last_by_session(&lines, &run_id, "callback");
    let verified = last_by_session(&lines, &run_id, "verify");
    let rows = report["sessions"].as_array().unwrap();
    assert_eq!(rows.len(), attempts.len());
    assert!(
        rows.len() >= 2,
        "the run moved the queue's sessions: {rows:?}"
    );
    for row in rows {
        let s = row["botSessionId"].as_str().unwrap();
        let attempt = attempts[s];
        let outcome = outcomes[s];
        assert_eq!(row["from"], attempt["from"], "{s}");
        assert_eq!(row["to"], attempt["target"], "{s}");
        assert_eq!(row["outcome"], outcome["outcome"], "{s}");
        assert_eq!(row["http_status"], outcome["http_status"], "{s}");
        assert_eq!(row["message"], outcome["message"], "{s}");
        assert_eq!(row["latency_ms"], outcome["latency_ms"], "{s}");
        assert_eq!(row["callback_status"], callbacks[s]["status"], "{s}");
        assert_eq!(row["verified"], verified[s]["verified"], "{s}");
        assert_eq!(row["from"]["queue"], billing.as_str(), "{s}");
    }
    // The counts are the rows'.
    let transferred = rows
        .iter()
        .filter(|r| r["outcome"] == "transferred")
        .count();
    assert_eq!(report["outcomes"]["transferred"], transferred);
    assert_eq!(report["user"], lines[0]["user"]);
    let first = attempts
        .values()
        .map(|l| l["ts"].as_str().unwrap())
        .min()
        .unwrap();
    assert_eq!(report["first_request"], first);

    // Markdown: the run's heading, and one table row per session.
    let md = run(
        home.command(),
        &["audit", "report", "--log", home.audit().to_str().unwrap()],
    )
    .await;
    let md = text(&md.stdout);
    assert!(md.contains(&format!("## Run {run_id}")), "{md}");
    for s in attempts.keys() {
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| {s} |")))
            .unwrap();
        assert!(row.contains(&format!("queue {other}")), "{row}");
    }
    assert!(md.contains("| Session | From | To | Outcome |"), "{md}");

    // To a file: the same report, readable by its owner alone.
    let to = home.path("incident.md");
    let written = run(
        home.command(),
        &[
            "audit",
            "report",
            "--log",
            home.audit().to_str().unwrap(),
            "-o",
            to.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(written.status.code(), Some(0), "{}", text(&written.stderr));
    assert!(text(&written.stderr).contains("1 run(s)"));
    let file = std::fs::read_to_string(&to).unwrap();
    assert_eq!(
        file.replace(home.audit().to_str().unwrap(), ""),
        md.replace(home.audit().to_str().unwrap(), "")
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&to).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    // CSV: a header and a row per session.
    let csv = run(
        home.command(),
        &[
            "audit",
            "report",
            "--format",
            "csv",
            "--since",
            "1h",
            "--log",
            home.audit().to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(text(&csv.stdout).lines().count(), 1 + rows.len());

    // Runs: one line, this run.
    let runs = run(
        home.command(),
        &["audit", "runs", "--log", home.audit().to_str().unwrap()],
    )
    .await;
    let listed = text(&runs.stdout);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        listed.lines().nth(1).unwrap().starts_with(&run_id),
        "{listed}"
    );
    // A run that began before --since is left out.
    let later = run(
        home.command(),
        &[
            "audit",
            "runs",
            "--since",
            "2099-01-01T00:00:00Z",
            "--log",
            home.audit().to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(text(&later.stdout).lines().count(), 1);

    // Verify: whole, then one edited outcome is named at its line, exit 1.
    let whole = run(
        home.command(),
        &["audit", "verify", home.audit().to_str().unwrap()],
    )
    .await;
    assert_eq!(whole.status.code(), Some(0), "{}", text(&whole.stdout));
    assert!(text(&whole.stdout).contains("chain whole"));
    let original = std::fs::read_to_string(home.audit()).unwrap();
    let at = original
        .lines()
        .position(|l| l.contains("\"event\":\"outcome\""))
        .unwrap();
    let tampered: Vec<String> = original
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == at {
                l.replace("\"outcome\":\"", "\"outcome\":\"x")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(home.audit(), tampered.join("\n") + "\n").unwrap();
    let broken = run(
        home.command(),
        &["audit", "verify", home.audit().to_str().unwrap()],
    )
    .await;
    assert_eq!(broken.status.code(), Some(1));
    let said = text(&broken.stdout);
    assert!(said.contains(&format!("line {}: edited", at + 1)), "{said}");

    // The reports open with the chain's state: whole before, broken at that line after.
    std::fs::write(home.audit(), &original).unwrap();
    let audit = home.audit();
    for what in [vec!["audit", "runs"], vec!["audit", "report"]] {
        let log = ["--log", audit.to_str().unwrap()];
        let out = run(home.command(), &[&what[..], &log[..]].concat()).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let first = text(&out.stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(
            first.contains("chain whole, last hash "),
            "{what:?}: {first}"
        );
    }
    std::fs::write(home.audit(), tampered.join("\n") + "\n").unwrap();
    let out = run(
        home.command(),
        &["audit", "report", "--log", home.audit().to_str().unwrap()],
    )
    .await;
    let first = text(&out.stderr)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        first.contains(&format!("chain broken at line {}: edited", at + 1)),
        "{first}"
    );

    // `-o` never writes over the log it reads, nor a file switchboard keeps — through a link
    // either — and the log is as it was.
    let before = std::fs::read(home.audit()).unwrap();
    let link = home.path("report.md");
    std::os::unix::fs::symlink(home.audit(), &link).unwrap();
    for to in [home.audit(), link.clone()] {
        let out = run(
            home.command(),
            &[
                "audit",
                "report",
                "--log",
                home.audit().to_str().unwrap(),
                "-o",
                to.to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("is the audit log it reads"),
            "{}",
            text(&out.stderr)
        );
    }
    assert_eq!(
        std::fs::read(home.audit()).unwrap(),
        before,
        "the log is untouched"
    );
    std::fs::write(home.audit(), &original).unwrap();
    let before = std::fs::read(home.audit()).unwrap();
    let run_id = original
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|l| l["run"].as_str().map(str::to_owned))
        .unwrap();
    let out = run(
        home.against(&server),
        &["revert", &run_id, "-o", home.audit().to_str().unwrap()],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is the audit log"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read(home.audit()).unwrap(),
        before,
        "the log is untouched"
    );
}

#[tokio::test]
async fn report_flags_say_what_is_wrong() {
    let home = Home::new();
    let missing = run(
        home.command(),
        &["audit", "verify", "/nonexistent/audit.jsonl"],
    )
    .await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("/nonexistent/audit.jsonl"));
    std::fs::write(home.path("a.jsonl"), "").unwrap();
    let since = run(
        home.command(),
        &[
            "audit",
            "report",
            "--since",
            "yesterday-ish",
            "--log",
            home.path("a.jsonl").to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(since.status.code(), Some(2));
    assert!(
        text(&since.stderr).contains("--since yesterday-ish"),
        "{}",
        text(&since.stderr)
    );
}
