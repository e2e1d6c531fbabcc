//! The account's call budget over real HTTP: the stand-in refuses any call that would put more than
//! its limit in a strict rolling window, after a random network delay, and the pacer never trips it,
//! alone or shared between two runs; when the server allows less than configured, the pacer slows.
//! The window is shortened so the tests take seconds; the benchmark `budget` runs Kore's minute.

mod common;

use std::time::{Duration, Instant};

use common::*;
use switchboard::config::keys;
use switchboard::outcome::Outcome;
use switchboard::request::Target;

const WINDOW_MS: &str = "2000";

fn paced_settings(
    server: &switchboard::mock::MockServer,
    dir: &std::path::Path,
    audit: &str,
    rate: &str,
) -> switchboard::config::Settings {
    settings_with_env(
        &server.base_url(),
        &dir.join(audit),
        &[(&keys::RATE, rate), (&keys::CONCURRENCY, "8")],
        &[
            ("SWITCHBOARD_CLIENT_SECRET", SECRET),
            ("SWITCHBOARD_RATE_WINDOW_MS", WINDOW_MS),
        ],
    )
}

fn refusals(server: &switchboard::mock::MockServer) -> usize {
    server
        .received()
        .iter()
        .filter(|r| r.answered == Some(429))
        .count()
}

fn sessions(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(ok_session).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paced_run_never_trips_a_strict_rolling_window_despite_jitter() {
    let server = strict_stand_in(5).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = paced_settings(&server, dir.path(), "a.jsonl", "5");
    let d = quick_dispatcher(&settings);
    let reports = d
        .assign_all(&sessions(1..16), &Target::queue(QUEUE), None)
        .await;
    assert!(
        reports
            .iter()
            .all(|r| r.outcome == Some(Outcome::Transferred) && r.attempts == 1),
        "{reports:?}"
    );
    assert_eq!(refusals(&server), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_runs_of_one_account_share_one_budget() {
    let server = strict_stand_in(5).await;
    let dir = tempfile::tempdir().unwrap();
    // Two runs with their own audit logs and pacers, as two processes have; one budget file.
    let first = quick_dispatcher(&paced_settings(&server, dir.path(), "a.jsonl", "5"));
    let second = quick_dispatcher(&paced_settings(&server, dir.path(), "b.jsonl", "5"));
    let (ours, theirs, target) = (sessions(1..9), sessions(101..109), Target::queue(QUEUE));
    let started = Instant::now();
    let (a, b) = tokio::join!(
        first.assign_all(&ours, &target, None),
        second.assign_all(&theirs, &target, None),
    );
    assert!(
        a.iter()
            .chain(&b)
            .all(|r| r.outcome == Some(Outcome::Transferred) && r.attempts == 1),
        "{a:?} {b:?}"
    );
    assert_eq!(refusals(&server), 0);
    // Sixteen calls at five a window cannot go in less than three windows.
    assert!(started.elapsed() >= Duration::from_millis(3 * 2000));
}

#[tokio::test(flavor = "multi_thread")]
async fn when_the_server_allows_less_the_pacer_slows_and_waits_only_for_the_window() {
    // The account's limit is 3 a window (another integration spends the rest); we think it is 6.
    let server = strict_stand_in(3).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = paced_settings(&server, dir.path(), "a.jsonl", "6");
    let d = quick_dispatcher(&settings);
    let started = Instant::now();
    let reports = d
        .assign_all(&sessions(1..10), &Target::queue(QUEUE), None)
        .await;
    assert!(
        reports
            .iter()
            .all(|r| r.outcome == Some(Outcome::Transferred)),
        "{reports:?}"
    );
    let status = d.pacer().status();
    assert!(status.lowered() && status.limit <= 3, "{status:?}");
    assert_eq!(
        refusals(&server),
        1,
        "one refusal teaches the pacer the limit"
    );
    // Nine calls at three a window: three windows and a little, not a flat minute per refusal.
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
}

/// Reads go behind moves: while a batch has moves to send, this process's reads wait, so the batch
/// ends as soon as the rate allows; the reads go after it.
#[tokio::test(flavor = "multi_thread")]
async fn reads_wait_behind_a_running_batch() {
    let server = strict_stand_in(60).await;
    let dir = tempfile::tempdir().unwrap();
    // 30 a 2 s window: a slot every ~67 ms; one move at a time, so a read could slip in between
    // one move's answer and the next move's turn.
    let settings = settings_with_env(
        &server.base_url(),
        &dir.path().join("a.jsonl"),
        &[(&keys::RATE, "30"), (&keys::CONCURRENCY, "1")],
        &[
            ("SWITCHBOARD_CLIENT_SECRET", SECRET),
            ("SWITCHBOARD_RATE_WINDOW_MS", WINDOW_MS),
        ],
    );
    let d = quick_dispatcher(&settings);
    let live = switchboard::live::LiveClient::new(
        std::sync::Arc::new(switchboard::engine::api(&settings).unwrap()),
        d.pacer().clone(),
    );
    // A refresh loop, as the console's: each read done is timed.
    let reading = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let reads_done = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let reader = {
        let (reading, reads_done) = (reading.clone(), reads_done.clone());
        tokio::spawn(async move {
            while reading.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = live.queues(&mut 0).await;
                reads_done.lock().unwrap().push(Instant::now());
            }
        })
    };
    // Let the reads get going.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (batch, target) = (sessions(1..13), Target::queue(QUEUE));
    let run = d.assign_all(&batch, &target, Some(tx));
    let timing = async {
        let (mut first, mut last) = (None, None);
        while let Some(p) = rx.recv().await {
            match p {
                switchboard::dispatch::Progress::Attempting { .. } if first.is_none() => {
                    first = Some(Instant::now())
                }
                switchboard::dispatch::Progress::Settled(_) => last = Some(Instant::now()),
                _ => {}
            }
        }
        (first.unwrap(), last.unwrap())
    };
    let (reports, (first, last)) = tokio::join!(run, timing);
    reading.store(false, std::sync::atomic::Ordering::SeqCst);
    let _ = reader.await;
    assert!(
        reports
            .iter()
            .all(|r| r.outcome == Some(Outcome::Transferred))
    );
    let during = reads_done
        .lock()
        .unwrap()
        .iter()
        .filter(|t| **t > first && **t < last)
        .count();
    // At most the read already on the wire when the batch began ends during it.
    assert!(during <= 1, "{during} reads went between the batch's moves");
    assert!(
        reads_done.lock().unwrap().iter().any(|t| *t > last),
        "the reads go on after the batch"
    );
}
