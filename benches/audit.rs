//! Audit log benchmark for issue 11 (`cargo bench --bench audit`): `switchboard audit verify` and
//! `switchboard audit report` (Markdown, CSV, JSON) over a generated, chained log of 1,000,000 lines
//! in the shapes a run writes (attempt, outcome, callback, verify; 2,500 runs of 100 sessions).
//! Goal: each ≤ 2 s and ≤ 50 MB. The release binary is run as a user runs it; the figures are its
//! wall time (median of three) and its peak resident memory, read from wait4.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard::audit::chain::{self, Link};

const RUNS: usize = 2_500;
const SESSIONS_PER_RUN: usize = 100;

/// `full`: the lines as a run writes them, request bodies and all; else only what the report reads.
fn generate(path: &Path, full: bool) -> (u64, u64) {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut previous: Option<Link> = None;
    let (mut lines, mut bytes) = (0u64, 0u64);
    let start = jiff::Timestamp::from_second(1_790_000_000).unwrap();
    let host = "https://platform.kore.ai";
    let stream = "st-a0ec5267-a58a-5fbb-ab0e-e27ebc350001";
    for r in 0..RUNS {
        let run = format!("{:012x}", 0x5eed_0000_0000u64 + r as u64);
        let queue = format!("qu-b5d3bb4-a1ac-4caa-9be6-{:012x}", r % 7);
        for s in 0..SESSIONS_PER_RUN {
            let session = format!("6538f8a3c9cf{:012x}", r * SESSIONS_PER_RUN + s);
            let at = |secs: i64| {
                let t = start + jiff::SignedDuration::from_secs(r as i64 * 7_200 + s as i64 + secs);
                t.to_string()
            };
            let stamp = |event: &str, secs: i64| {
                json!({"ts": at(secs), "run": run, "process": "9f8e7d6c5b4a", "user": "alice",
                       "profile": "prod", "host": host, "event": event, "botSessionId": session})
            };
            let target = json!({"type": "queue", "id": queue});
            let mut attempt = stamp("attempt", 0);
            attempt["target"] = target.clone();
            attempt["from"] = json!({"queue": "qu-241a4d7-e5d0-45a9-8032-000000000001"});
            attempt["attempt"] = json!(1);
            attempt["method"] = json!("POST");
            let mut outcome = stamp("outcome", 0);
            outcome["target"] = target.clone();
            outcome["attempt"] = json!(1);
            outcome["outcome"] = json!(if s % 17 == 0 {
                "rejected"
            } else {
                "transferred"
            });
            outcome["http_status"] = json!(if s % 17 == 0 { 404 } else { 200 });
            outcome["message"] = json!(if s % 17 == 0 { "Session not found" } else { "" });
            outcome["latency_ms"] = json!(120 + s);
            let mut callback = stamp("callback", 2);
            callback["accepted"] = json!(true);
            callback["status"] = json!("transferred");
            callback["answered"] = json!(200);
            callback["body"] = json!({"status": "transferred"});
            if full {
                attempt["url"] = json!(format!(
                    "{host}/agentassist/api/v1/public/{stream}/assign-conversation"
                ));
                attempt["body"] = json!({"callbackUrl": format!("https://tunnel.example.net/callback/{session}?t=<redacted>"),
                    "orgId": "o-02c0d56d-fd90-5e24-8458-01be1d2e0001", "transferredType": "QUEUE",
                    "queueId": queue, "botSessionId": session});
                callback["received_at"] = json!(at(2));
                callback["path"] = json!(format!("/callback/{session}"));
            } else {
                attempt.as_object_mut().unwrap().remove("method");
            }
            let mut verify = stamp("verify", 5);
            verify["target"] = target;
            verify["verified"] = json!("verified");
            for line in [attempt, outcome, callback, verify] {
                let mut body = serde_json::to_vec(&line).unwrap();
                previous = Some(chain::link_after(previous.as_ref(), &mut body));
                body.push(b'\n');
                bytes += body.len() as u64;
                lines += 1;
                out.write_all(&body).unwrap();
            }
        }
    }
    out.flush().unwrap();
    (lines, bytes)
}

/// Runs the binary; its wall time and peak resident memory in MB.
// The child is reaped by wait4, which also gives its rusage; std's wait would find nothing left.
#[allow(clippy::zombie_processes)]
fn measure(args: &[&str]) -> (Duration, f64, i32) {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("HOME", std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for the child reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let took = started.elapsed();
    // ru_maxrss is in kilobytes on Linux.
    (
        took,
        usage.ru_maxrss as f64 / 1024.0,
        libc::WEXITSTATUS(status),
    )
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    // AUDIT_BENCH_LOG=PATH keeps the generated log there, to profile a command against it.
    let kept = std::env::var_os("AUDIT_BENCH_LOG").map(std::path::PathBuf::from);
    for full in [false, true] {
        let log = match &kept {
            Some(p) if full => p.clone(),
            _ => dir.path().join(format!("audit-{full}.jsonl")),
        };
        let made = Instant::now();
        let (lines, bytes) = generate(&log, full);
        println!(
            "\n{} lines, {} MB, {} bytes a line on average ({}), made in {:.1} s",
            lines,
            bytes / 1_000_000,
            bytes / lines,
            if full {
                "every field a run writes"
            } else {
                "only what the report reads; the stamps and links alone are about 290"
            },
            made.elapsed().as_secs_f64()
        );
        measure_all(log.to_str().unwrap());
        if kept.is_none() || !full {
            let _ = std::fs::remove_file(&log);
        }
    }
}

fn measure_all(log: &str) {
    let cases: [(&str, Vec<&str>); 5] = [
        ("audit verify", vec!["audit", "verify", log]),
        ("audit report (md)", vec!["audit", "report", "--log", log]),
        (
            "audit report --format csv",
            vec!["audit", "report", "--format", "csv", "--log", log],
        ),
        (
            "audit report --format json",
            vec!["audit", "report", "--format", "json", "--log", log],
        ),
        ("audit runs", vec!["audit", "runs", "--log", log]),
    ];
    println!(
        "{:<28} {:>10} {:>10}  goal ≤ 2 s, ≤ 50 MB",
        "command", "wall", "peak RSS"
    );
    for (name, args) in cases {
        let mut times = Vec::new();
        let mut peak: f64 = 0.0;
        for _ in 0..3 {
            let (took, mb, code) = measure(&args);
            assert_eq!(code, 0, "{name} exited {code}");
            times.push(took);
            peak = peak.max(mb);
        }
        times.sort();
        // The middle of three: the machine's neighbours make single runs noisy.
        println!(
            "{name:<28} {:>8.2} s {:>7.1} MB",
            times[1].as_secs_f64(),
            peak
        );
    }
}
