//! The console without a terminal: `update` is pure, so keys go in and effects come out; screens are
//! drawn on ratatui's `TestBackend` and compared with snapshots at 120x35 and 80x24.

use std::path::Path;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;
use switchboard::console::app::{
    App, Context, DetailOf, Effect, Level, LoadedRows, Mode, Msg, Pane, update,
};
use switchboard::console::keys::KeyMap;
use switchboard::console::view::{self, Theme, confirm_lines, footer_hints, help_lines};
use switchboard::dispatch::{AttemptSummary, Insist, Move, Progress, Report};
use switchboard::input::{self, SessionRow};
use switchboard::listener::{CallbackEvent, CallbackState, MatchedBy};
use switchboard::outcome::Outcome;
use switchboard::pacer::PacerStatus;
use switchboard::request::{CallbackRoute, Endpoint, Target};
use switchboard::secret::Secret;
use tokio::time::Instant;

const QUEUE: &str = "qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001";
const AT: &str = "2026-11-27T03:00:00Z";

fn context() -> Context {
    Context {
        profile: "prod".into(),
        host: "https://platform.kore.ai".into(),
        listener: "127.0.0.1:8009".into(),
        config_path: "/home/sup/.config/switchboard/config.toml".into(),
        log_path: "/home/sup/.local/share/switchboard/switchboard.log".into(),
        audit_path: "/home/sup/.local/share/switchboard/audit.jsonl".into(),
        endpoint: Endpoint {
            host: "https://platform.kore.ai".into(),
            stream_id: "st-a0ec5267-a58a-5fbb-ab0e-e27ebc350001".into(),
            org_id: "o-02c0d56d-fd90-5e24-8458-01be1d2e0001".into(),
            account_id: "650d9eb6da96d0bc0d230001".into(),
        },
        callbacks: CallbackRoute::for_listener(
            "127.0.0.1:8009".parse().unwrap(),
            Secret::new("tok"),
        ),
        per_minute: 60,
        callback_wait: Duration::from_secs(60),
        refresh_every: Duration::from_secs(30),
        zone: jiff::tz::TimeZone::UTC,
        read_only: None,
        alerts: Default::default(),
    }
}

fn demo(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/demo")
        .join(name)
}

/// The console as the demo opens it: 44 sessions, 8 agents, 4 queues.
fn app_with(keys: KeyMap) -> App {
    let mut app = App::new(context(), keys);
    let loads = [
        LoadedRows::Sessions(input::load_sessions(&demo("sessions.csv")).unwrap()),
        LoadedRows::Agents(input::load_agents(&demo("agents.csv")).unwrap()),
        LoadedRows::Queues(input::load_queues(&demo("queues.csv")).unwrap()),
    ];
    for rows in loads {
        update(
            &mut app,
            Msg::Loaded {
                source: "demo".into(),
                result: Ok(rows),
            },
        );
    }
    app.status = None;
    app
}

fn app() -> App {
    app_with(KeyMap::defaults())
}

/// The confirmation's lines, as text.
fn confirm_text(app: &App) -> Vec<String> {
    confirm_lines(app, Theme { color: false })
        .iter()
        .map(|l| l.to_string())
        .collect()
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn chars(app: &mut App, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| key(app, KeyCode::Char(c)))
        .collect()
}

fn session_id(app: &App, n: usize) -> String {
    app.sessions.rows()[n].row.id.clone()
}

/// Marks the first two sessions and opens the confirmation for the first queue.
fn confirm_two_to_queue(app: &mut App) {
    // Space marks and moves down: the first two sessions.
    chars(app, "  ");
    assert!(chars(app, "3").is_empty());
    assert!(
        key(app, KeyCode::Enter).is_empty(),
        "Enter only opens the confirmation"
    );
    assert!(matches!(app.mode, Mode::Confirm(_)), "{:?}", app.mode);
}

fn settle(app: &mut App, session: &str, outcome: Option<Outcome>, now: Instant) {
    settled(app, report(session, Target::queue(QUEUE), outcome), now);
}

fn settled_to(app: &mut App, session: &str, target: Target, outcome: Outcome, now: Instant) {
    settled(app, report(session, target, Some(outcome)), now);
}

/// A move's report as the dispatcher gives it: 200 when transferred, else 404 with the stand-in's
/// words.
fn report(session: &str, target: Target, outcome: Option<Outcome>) -> Report {
    Report {
        session: session.into(),
        target,
        outcome,
        http_status: outcome.map(|o| if o == Outcome::Transferred { 200 } else { 404 }),
        message: if outcome == Some(Outcome::Rejected) {
            "Session not found or already closed".into()
        } else {
            String::new()
        },
        response: Some(json!({"status": "transferred"})),
        latency_ms: Some(12),
        attempts: 1,
        callback: None,
        verified: None,
        verified_detail: None,
    }
}

fn settled(app: &mut App, report: Report, now: Instant) {
    update(
        app,
        Msg::Progress {
            at: AT.into(),
            now,
            progress: Progress::Settled(report),
        },
    );
}

/// The first attempt of `session` to the test queue is on the wire.
fn attempting(app: &mut App, session: &str) {
    update(
        app,
        Msg::Progress {
            at: AT.into(),
            now: Instant::now(),
            progress: Progress::Attempting {
                session: session.into(),
                target: Target::queue(QUEUE),
                attempt: 1,
            },
        },
    );
}

fn callback(session: &str, status: &str) -> CallbackEvent {
    CallbackEvent {
        received_at: AT.into(),
        method: "POST".into(),
        path: format!("/callback/{session}"),
        session: Some(session.into()),
        matched_by: Some(MatchedBy::Url),
        accepted: true,
        rejected: None,
        answered: 200,
        peer: Some("127.0.0.1:40000".into()),
        size: 40,
        content_type: Some("application/json".into()),
        status: Some(status.into()),
        body: json!({"sessionId": session, "status": status}),
    }
}

#[test]
fn esc_in_the_confirmation_sends_nothing() {
    let mut app = app();
    confirm_two_to_queue(&mut app);
    assert!(key(&mut app, KeyCode::Esc).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    assert!(app.sessions.rows().iter().all(|s| !s.state.in_flight));
    confirm_two_to_queue(&mut app);
    assert!(
        key(&mut app, KeyCode::Char('n')).is_empty(),
        "n cancels too"
    );
    assert_eq!(app.in_flight(), 0);
}

#[test]
fn one_y_sends_exactly_once_and_a_session_in_flight_is_not_sent_again() {
    let mut app = app();
    confirm_two_to_queue(&mut app);
    let effects = key(&mut app, KeyCode::Char('y'));
    let expected = vec![
        Move::new(session_id(&app, 0), Target::queue(QUEUE)).named("Billing"),
        Move::new(session_id(&app, 1), Target::queue(QUEUE)).named("Billing"),
    ];
    assert_eq!(
        effects,
        vec![Effect::Send {
            moves: expected,
            insist: Insist::None,
            undoes: None
        }]
    );
    assert!(
        key(&mut app, KeyCode::Char('y')).is_empty(),
        "a second y is not a second send"
    );
    assert_eq!(app.sessions.rows()[0].state.word(), "queued");
    // Asking again for the same batch while it is in flight opens nothing and sends nothing.
    chars(&mut app, "'3");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(app.status.as_ref().unwrap().level, Level::Warn);
}

#[test]
fn a_read_only_console_says_so_and_y_sends_nothing() {
    let mut ctx = context();
    ctx.read_only = Some(switchboard::api::read_only_refusal("flag --read-only"));
    let mut app = App::new(ctx, KeyMap::defaults());
    let ready = app_with(KeyMap::defaults());
    app.sessions = ready.sessions;
    app.queues = ready.queues;
    assert!(
        screen(&app, 120, 30)
            .lines()
            .next()
            .unwrap()
            .contains("READ-ONLY")
    );
    confirm_two_to_queue(&mut app);
    let shown = screen(&app, 120, 30);
    assert!(shown.contains("READ-ONLY: nothing can be sent"), "{shown}");
    assert!(
        !shown.contains("y send"),
        "the footer offers no send: {shown}"
    );
    assert!(
        confirm_text(&app)
            .iter()
            .any(|l| l.contains("flag --read-only"))
    );
    assert!(
        key(&mut app, KeyCode::Char('y')).is_empty(),
        "y sends nothing"
    );
    assert!(
        matches!(app.mode, Mode::Confirm(_)),
        "the moves stay on screen"
    );
    let status = app.status.as_ref().unwrap();
    assert_eq!(status.level, Level::Warn);
    assert!(status.text.contains("read-only"), "{}", status.text);
    assert_eq!(app.in_flight(), 0);
}

#[test]
fn enter_in_the_confirmation_sends_nothing_and_says_press_y() {
    let mut app = app();
    confirm_two_to_queue(&mut app);
    for _ in 0..3 {
        assert!(
            key(&mut app, KeyCode::Enter).is_empty(),
            "Enter never sends"
        );
        assert!(matches!(app.mode, Mode::Confirm(_)), "the dialog stays");
    }
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .text
            .contains("press y to send")
    );
    assert!(key(&mut app, KeyCode::Char('Y')).is_empty(), "only y sends");
    assert!(matches!(
        key(&mut app, KeyCode::Char('y')).as_slice(),
        [Effect::Send { moves, .. }] if moves.len() == 2
    ));
}

#[test]
fn marks_clear_after_a_send_and_quote_marks_the_last_batch_again() {
    let mut app = app();
    confirm_two_to_queue(&mut app);
    key(&mut app, KeyCode::Char('y'));
    assert_eq!(
        app.marked(),
        0,
        "the next move cannot take this batch along"
    );
    assert!(app.sessions.marked_rows().is_empty());
    chars(&mut app, "'");
    assert_eq!(app.marked(), 2);
    let marked: Vec<&str> = app
        .sessions
        .marked_rows()
        .into_iter()
        .map(|i| app.sessions.rows()[i].row.id.as_str())
        .collect();
    assert_eq!(marked, [session_id(&app, 0), session_id(&app, 1)]);
    chars(&mut app, "u");
    chars(&mut app, ":select last");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.marked(), 2, ":select last does the same");
}

#[test]
fn without_marks_the_highlighted_session_moves() {
    let mut app = app();
    chars(&mut app, "jj3");
    key(&mut app, KeyCode::Enter);
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(c.moves, vec![(session_id(&app, 2), Target::queue(QUEUE))]);
}

#[test]
fn agents_are_targets_too() {
    let mut app = app();
    chars(&mut app, " 2j");
    key(&mut app, KeyCode::Enter);
    let Mode::Confirm(c) = &app.mode else {
        panic!()
    };
    assert_eq!(
        c.moves[0].1,
        Target::agent("a-220172c-856e-4db6-a2d1-d4c2dabe0002")
    );
}

#[test]
fn rows_go_sending_outcome_then_callback() {
    let mut app = app();
    confirm_two_to_queue(&mut app);
    key(&mut app, KeyCode::Char('y'));
    let (a, b) = (session_id(&app, 0), session_id(&app, 1));
    let t0 = Instant::now();
    settle(&mut app, &a, Some(Outcome::Transferred), t0);
    settle(&mut app, &b, Some(Outcome::Transferred), t0);
    assert_eq!(app.in_flight(), 0);
    assert_eq!(
        (
            app.sessions.rows()[0].state.word(),
            app.sessions.rows()[0].state.callback
        ),
        ("transferred", Some(CallbackState::Waiting))
    );
    update(
        &mut app,
        Msg::Callback {
            at: AT.into(),
            event: callback(&a, "transferred"),
        },
    );
    assert_eq!(
        app.sessions.rows()[0].state.callback,
        Some(CallbackState::Ok)
    );
    // No callback within callback_wait: late.
    let pacer = PacerStatus {
        per_minute: 60,
        used_last_minute: 2,
        waiting: 0,
        ..PacerStatus::default()
    };
    update(
        &mut app,
        Msg::Tick {
            now: t0 + Duration::from_secs(59),
            pacer,
        },
    );
    assert_eq!(
        app.sessions.rows()[1].state.callback,
        Some(CallbackState::Waiting)
    );
    update(
        &mut app,
        Msg::Tick {
            now: t0 + Duration::from_secs(60),
            pacer,
        },
    );
    assert_eq!(
        app.sessions.rows()[1].state.callback,
        Some(CallbackState::Late)
    );
    assert_eq!(
        app.sessions.rows()[0].state.callback,
        Some(CallbackState::Ok)
    );
}

#[test]
fn a_callback_that_beats_the_answer_is_kept() {
    let mut app = app();
    confirm_two_to_queue(&mut app);
    key(&mut app, KeyCode::Char('y'));
    let a = session_id(&app, 0);
    update(
        &mut app,
        Msg::Callback {
            at: AT.into(),
            event: callback(&a, "failed"),
        },
    );
    settle(&mut app, &a, Some(Outcome::Transferred), Instant::now());
    assert_eq!(
        app.sessions.rows()[0].state.callback,
        Some(CallbackState::Failed)
    );
}

#[test]
fn retry_offers_only_what_did_not_transfer_through_the_confirmation() {
    let mut app = app();
    confirm_two_to_queue(&mut app);
    key(&mut app, KeyCode::Char('y'));
    let (a, b) = (session_id(&app, 0), session_id(&app, 1));
    settle(&mut app, &a, Some(Outcome::Transferred), Instant::now());
    settle(&mut app, &b, Some(Outcome::Rejected), Instant::now());
    key(&mut app, KeyCode::Char('1'));
    chars(&mut app, "'");
    assert!(key(&mut app, KeyCode::Char('r')).is_empty());
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert!(c.retry);
    assert_eq!(c.moves, vec![(b.clone(), Target::queue(QUEUE))]);
    assert_eq!(
        key(&mut app, KeyCode::Char('y')),
        vec![Effect::Send {
            moves: vec![Move::new(b, Target::queue(QUEUE)).named("Billing")],
            insist: Insist::None,
            undoes: None
        }]
    );
}

#[test]
fn marks_survive_filtering_and_star_marks_only_what_is_visible() {
    let mut app = app();
    chars(&mut app, "  ");
    chars(&mut app, "/0404");
    assert_eq!(app.sessions.visible().len(), 1);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.marked(), 2);
    chars(&mut app, "*");
    assert_eq!(app.marked(), 3);
    chars(&mut app, "3");
    key(&mut app, KeyCode::Enter);
    let Mode::Confirm(c) = &app.mode else {
        panic!()
    };
    let ids: Vec<&str> = c.moves.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        ids,
        [
            session_id(&app, 0).as_str(),
            session_id(&app, 1).as_str(),
            "66c2f6939489bfffc7910404"
        ]
    );
    key(&mut app, KeyCode::Esc);
    chars(&mut app, "1/");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.sessions.visible().len(), 44, "Esc clears the filter");
    chars(&mut app, "u");
    assert_eq!(app.marked(), 0);
}

#[test]
fn every_key_types_in_a_text_field() {
    let mut app = app();
    chars(&mut app, "/");
    // q, j, y and : would act in normal mode; here they are text.
    assert!(chars(&mut app, "qjy:").is_empty());
    assert!(matches!(&app.mode, Mode::Filter(input) if input.value() == "qjy:"));
    assert!(
        update(
            &mut app,
            Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
        ) == vec![Effect::Quit]
    );
}

#[test]
fn quitting_asks_while_requests_are_in_flight() {
    let mut app = app();
    assert_eq!(key(&mut app, KeyCode::Char('q')), vec![Effect::Quit]);
    let mut app = self::app();
    confirm_two_to_queue(&mut app);
    key(&mut app, KeyCode::Char('y'));
    assert!(key(&mut app, KeyCode::Char('q')).is_empty());
    assert!(matches!(app.mode, Mode::QuitConfirm));
    assert!(key(&mut app, KeyCode::Char('n')).is_empty());
    key(&mut app, KeyCode::Char('q'));
    assert_eq!(
        key(&mut app, KeyCode::Char('y')),
        vec![Effect::StopAndQuit],
        "quitting during a run stops it first, so the unsent are on record"
    );
}

#[test]
fn x_stops_a_run_rows_waiting_say_queued_and_the_run_ends_with_a_summary() {
    let mut app = app();
    assert!(
        key(&mut app, KeyCode::Char('x')).is_empty(),
        "nothing to stop"
    );
    chars(&mut app, "   ");
    chars(&mut app, "3");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('y'));
    let ids: Vec<String> = (0..3).map(|i| session_id(&app, i)).collect();
    let word = |app: &App, id: &str| {
        app.sessions
            .rows()
            .iter()
            .find(|s| s.row.id == id)
            .unwrap()
            .state
            .word()
    };
    assert!(
        ids.iter().all(|id| word(&app, id) == "queued"),
        "waiting for a slot"
    );
    attempting(&mut app, &ids[0]);
    assert_eq!(word(&app, &ids[0]), "sending", "on the wire");
    assert_eq!(word(&app, &ids[1]), "queued");
    let footer = screen(&app, 160, 45);
    assert!(footer.contains("x stop the run"), "{footer}");
    assert_eq!(key(&mut app, KeyCode::Char('x')), vec![Effect::Stop]);
    settle(
        &mut app,
        &ids[0],
        Some(Outcome::Transferred),
        Instant::now(),
    );
    settle(&mut app, &ids[1], Some(Outcome::Cancelled), Instant::now());
    settle(&mut app, &ids[2], Some(Outcome::Cancelled), Instant::now());
    assert_eq!(word(&app, &ids[2]), "cancelled");
    let reports: Vec<Report> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Report {
            session: id.clone(),
            target: Target::queue(QUEUE),
            outcome: Some(if i == 0 {
                Outcome::Transferred
            } else {
                Outcome::Cancelled
            }),
            http_status: None,
            message: String::new(),
            response: None,
            latency_ms: None,
            attempts: u32::from(i == 0),
            callback: None,
            verified: None,
            verified_detail: None,
        })
        .collect();
    update(
        &mut app,
        Msg::RunDone {
            at: AT.into(),
            run: "r1".into(),
            reports,
            stopped: Some("x pressed".into()),
        },
    );
    let text = "run done: 1 sent: 1 transferred; 2 cancelled (stopped: x pressed)";
    assert_eq!(app.status.as_ref().unwrap().text, text);
    assert!(
        screen(&app, 160, 45).contains(text),
        "in the Activity pane too"
    );
}

#[test]
fn the_command_line_loads_assigns_exports_and_remembers() {
    let mut app = app();
    chars(&mut app, ":load agents /tmp/agents.json");
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        vec![Effect::Load {
            pane: Pane::Agents,
            path: "/tmp/agents.json".into()
        }]
    );
    chars(
        &mut app,
        ":assign queue qu-e806ee7-d4df-4fdd-8c19-88d8def60004",
    );
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(
        c.moves[0].1,
        Target::queue("qu-e806ee7-d4df-4fdd-8c19-88d8def60004")
    );
    key(&mut app, KeyCode::Esc);
    // History: Up brings back the last line, then the one before.
    chars(&mut app, ":");
    key(&mut app, KeyCode::Up);
    key(&mut app, KeyCode::Up);
    assert!(
        matches!(&app.mode, Mode::Command { input, .. } if input.value() == "load agents /tmp/agents.json")
    );
    key(&mut app, KeyCode::Esc);
    chars(&mut app, ":frobnicate");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.status.as_ref().unwrap().level, Level::Error);
    update(
        &mut app,
        Msg::Callback {
            at: AT.into(),
            event: callback("6538f8a3c9cf425ee5cf0001", "transferred"),
        },
    );
    chars(&mut app, ":export /tmp/incident.md");
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        vec![Effect::ExportReport {
            path: "/tmp/incident.md".into()
        }]
    );
    chars(&mut app, ":export activity /tmp/activity.jsonl");
    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::Export { path, lines }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(path, Path::new("/tmp/activity.jsonl"));
    let line: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(line["kind"], "callback");
    assert_eq!(line["body"]["status"], "transferred");
    chars(&mut app, ":quit");
    assert_eq!(key(&mut app, KeyCode::Enter), vec![Effect::Quit]);
}

#[test]
fn a_bad_file_is_an_error_on_screen_and_the_panes_keep_their_rows() {
    let mut app = app();
    chars(&mut app, "o");
    chars(&mut app, "/tmp/bad.csv");
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        vec![Effect::Load {
            pane: Pane::Sessions,
            path: "/tmp/bad.csv".into()
        }]
    );
    update(
        &mut app,
        Msg::Loaded {
            source: "/tmp/bad.csv".into(),
            result: Err("/tmp/bad.csv line 3, field botSessionId: empty".into()),
        },
    );
    let status = app.status.clone().unwrap();
    assert_eq!(
        (status.level, status.text.as_str()),
        (
            Level::Error,
            "/tmp/bad.csv line 3, field botSessionId: empty"
        )
    );
    assert_eq!(app.sessions.len(), 44);
}

#[test]
fn rows_are_added_with_a_warning_for_odd_ids_and_deleted_unless_in_flight() {
    let mut app = app();
    chars(&mut app, "n");
    chars(&mut app, "not-a-kore-id");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.sessions.len(), 45);
    assert_eq!(app.status.as_ref().unwrap().level, Level::Warn);
    chars(&mut app, "2n");
    chars(&mut app, "a-1111111-2222-3333-4444-555555555555");
    key(&mut app, KeyCode::Enter);
    chars(&mut app, "Zed Ng");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.agents.rows().last().unwrap().name, "Zed Ng");
    assert_eq!(app.status.as_ref().unwrap().level, Level::Info);
    chars(&mut app, "1d");
    assert_eq!(app.sessions.len(), 44);
    confirm_two_to_queue(&mut app);
    key(&mut app, KeyCode::Char('y'));
    chars(&mut app, "1gd");
    assert_eq!(app.sessions.len(), 44, "a session in flight is not deleted");
}

#[test]
fn footer_and_help_come_from_the_same_key_map() {
    let overrides = [("retry".to_string(), "ctrl-r".to_string(), 9)];
    let (keys, _) = KeyMap::with_overrides(&overrides, "config.toml").unwrap();
    let mut app = app_with(keys);
    let (left, _) = footer_hints(&app);
    assert!(left.contains(&("Ctrl-r".to_string(), "retry")), "{left:?}");
    let help: Vec<String> = help_lines(&app).iter().map(|l| l.to_string()).collect();
    assert!(
        help.iter()
            .any(|l| l.contains("Ctrl-r") && l.contains("retry")),
        "{help:?}"
    );
    assert!(
        help.iter()
            .any(|l| l.contains("/home/sup/.config/switchboard/config.toml"))
    );
    assert!(help.iter().any(|l| l.contains("switchboard.log")));
    // The old key does nothing now; the new one retries.
    assert!(key(&mut app, KeyCode::Char('r')).is_empty() && matches!(app.mode, Mode::Normal));
}

#[test]
fn the_confirmation_restates_the_exact_call_redacted() {
    let mut app = app();
    confirm_two_to_queue(&mut app);
    let text = confirm_text(&app);
    let all = text.join("\n");
    assert!(
        all.contains("Move 2 sessions to queue qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001?"),
        "{all}"
    );
    assert!(all.contains("POST https://platform.kore.ai/agentassist/api/v1/public/st-a0ec5267-a58a-5fbb-ab0e-e27ebc350001/assign-conversation"));
    assert!(
        all.contains("auth: <redacted>") && all.contains("accountid: 650d9eb6da96d0bc0d230001")
    );
    assert!(all.contains(r#""transferredType":"QUEUE""#));
    assert!(
        all.contains("t=<redacted>") && !all.contains("t=tok"),
        "the callback token is redacted"
    );
    assert!(
        all.contains("2 requests · at 60/min the pacer takes about 0:01"),
        "{all}"
    );
}

// ---- screens ----

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| view::draw(f, app, Theme { color: false }))
        .unwrap();
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..height {
        let line: String = (0..width)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A run in progress: two transferred (one with its callback), one rejected, one in flight.
fn busy_app() -> App {
    let mut app = app();
    chars(&mut app, "    ");
    let ids: Vec<String> = (0..4).map(|i| session_id(&app, i)).collect();
    chars(&mut app, "3");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('y'));
    let now = Instant::now();
    for (i, id) in ids.iter().enumerate().take(3) {
        update(
            &mut app,
            Msg::Progress {
                at: AT.into(),
                now,
                progress: Progress::Attempting {
                    session: id.clone(),
                    target: Target::queue(QUEUE),
                    attempt: 1,
                },
            },
        );
        let outcome = if i == 2 {
            Outcome::Rejected
        } else {
            Outcome::Transferred
        };
        update(
            &mut app,
            Msg::Progress {
                at: AT.into(),
                now,
                progress: Progress::Attempted {
                    session: id.clone(),
                    target: Target::queue(QUEUE),
                    attempt: 1,
                    summary: AttemptSummary {
                        outcome,
                        http_status: Some(if i == 2 { 404 } else { 200 }),
                        message: if i == 2 {
                            "Session not found or already closed".into()
                        } else {
                            String::new()
                        },
                        response: None,
                        latency_ms: 12,
                    },
                    retry_in: None,
                },
            },
        );
        settle(&mut app, id, Some(outcome), now);
    }
    update(
        &mut app,
        Msg::Callback {
            at: AT.into(),
            event: callback(&ids[0], "transferred"),
        },
    );
    update(
        &mut app,
        Msg::Tick {
            now,
            pacer: PacerStatus {
                per_minute: 60,
                used_last_minute: 4,
                waiting: 1,
                ..PacerStatus::default()
            },
        },
    );
    app.status = None;
    app
}

#[test]
fn screen_at_open() {
    let app = app();
    insta::assert_snapshot!("open_120x35", screen(&app, 120, 35));
    insta::assert_snapshot!("open_80x24", screen(&app, 80, 24));
}

#[test]
fn screen_while_moving() {
    let mut app = busy_app();
    insta::assert_snapshot!("moving_120x35", screen(&app, 120, 35));
    insta::assert_snapshot!("moving_80x24", screen(&app, 80, 24));
    key(&mut app, KeyCode::Char('4'));
    insta::assert_snapshot!("activity_focused_80x24", screen(&app, 80, 24));
}

#[test]
fn screen_confirmation_and_help() {
    let mut app = app();
    confirm_two_to_queue(&mut app);
    insta::assert_snapshot!("confirm_120x35", screen(&app, 120, 35));
    insta::assert_snapshot!("confirm_80x24", screen(&app, 80, 24));
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!("help_120x35", screen(&app, 120, 35));
}

#[test]
fn screen_filter_and_empty_console() {
    let mut app = app();
    chars(&mut app, "/bil");
    insta::assert_snapshot!("filter_120x35", screen(&app, 120, 35));
    let empty = App::new(context(), KeyMap::defaults());
    insta::assert_snapshot!("empty_80x24", screen(&empty, 80, 24));
}

#[test]
fn a_session_row_shows_the_servers_message() {
    let app = busy_app();
    let text = screen(&app, 200, 60);
    assert!(
        text.contains("rejected") && text.contains("Session not found or already closed"),
        "{text}"
    );
    let _ = SessionRow {
        id: String::new(),
        extra: vec![],
    };
}

// ---- live data ----

use switchboard::live::{Availability, Conversation, LiveAgent, LiveQueue, LiveSnapshot};

const ALICE: &str = "a-8cd2673-0cb7-462d-9453-0ee60e520001";
const ALICE_USER: &str = "u-d88245b9-5b02-5e30-817e-582b354edc1c";

fn conversation(session: &str, agent: Option<&str>) -> Conversation {
    Conversation {
        session: session.into(),
        conversation_id: None,
        status: Some("ACTIVE".into()),
        source: Some("whatsapp".into()),
        queue_id: Some(QUEUE.into()),
        queue_name: Some("Billing".into()),
        agent_user_id: agent.map(|_| ALICE_USER.into()),
        agent_name: agent.map(str::to_owned),
        wait: Some(Duration::from_secs(75)),
        triage: Default::default(),
    }
}

fn snapshot(conversations: Vec<Conversation>) -> LiveSnapshot {
    LiveSnapshot {
        conversations,
        agents: vec![LiveAgent {
            id: ALICE.into(),
            user_id: Some(ALICE_USER.into()),
            name: "Alice Moreau".into(),
            availability: Some(Availability::Busy),
            max_chats: Some(5),
            queues: vec!["Billing".into()],
            skills: vec![],
            capacity: vec![],
        }],
        queues: vec![LiveQueue {
            id: QUEUE.into(),
            name: "Billing".into(),
            waiting: Some(9),
            engaged: Some(2),
            avg_wait: Some(61_000),
            max_wait: Some(250_000),
            ..LiveQueue::default()
        }],
        calls: 5,
        warnings: vec![],
    }
}

fn live(app: &mut App, now: Instant, result: Result<LiveSnapshot, String>) {
    update(
        app,
        Msg::Live {
            at: AT.into(),
            asked: now,
            now,
            result,
        },
    );
}

#[test]
fn live_rows_merge_by_session_and_typed_rows_stay() {
    let mut app = app();
    chars(&mut app, "n");
    chars(&mut app, "aaaaaaaaaaaaaaaaaaaa0001");
    key(&mut app, KeyCode::Enter);
    let file_row = session_id(&app, 0);
    let now = Instant::now();
    live(
        &mut app,
        now,
        Ok(snapshot(vec![
            conversation(&file_row, Some("Alice Moreau")),
            conversation("bbbbbbbbbbbbbbbbbbbb0002", None),
        ])),
    );
    assert_eq!(
        app.sessions.len(),
        46,
        "44 from the file, 1 typed, 1 new from live"
    );
    let row = &app.sessions.rows()[0];
    let column = |name: &str| {
        row.row
            .extra
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        (
            column("channel"),
            column("queue"),
            column("agent"),
            column("wait")
        ),
        (
            Some("whatsapp"),
            Some("Billing"),
            Some("Alice Moreau"),
            Some("1m15s")
        )
    );
    assert_eq!(
        column("customer"),
        Some("Ava Patel"),
        "the file's own columns stay"
    );
    let alice = &app.agents.rows()[app.agents.find(ALICE).unwrap()];
    assert_eq!(
        (alice.status.as_deref(), alice.active_chats, alice.max_chats),
        (Some("BUSY"), Some(1), Some(5))
    );
    let billing = &app.queues.rows()[app.queues.find(QUEUE).unwrap()];
    assert_eq!(
        (billing.waiting, billing.engaged, billing.max_wait),
        (Some(9), Some(2), Some(250_000))
    );

    // Next refresh: both conversations ended. The live-only one goes; the file's row stays, ended.
    live(
        &mut app,
        now + Duration::from_secs(30),
        Ok(snapshot(vec![])),
    );
    assert_eq!(app.sessions.len(), 45);
    assert!(app.sessions.find("bbbbbbbbbbbbbbbbbbbb0002").is_none());
    assert!(
        app.sessions.find("aaaaaaaaaaaaaaaaaaaa0001").is_some(),
        "a typed row stays"
    );
    let row = &app.sessions.rows()[0];
    assert_eq!(
        row.row
            .extra
            .iter()
            .find(|(k, _)| &**k == "status")
            .map(|(_, v)| v.as_str()),
        Some("ended")
    );
}

#[test]
fn refreshes_come_every_refresh_secs_and_on_r_but_one_at_a_time() {
    let mut app = app();
    let pacer = PacerStatus {
        per_minute: 60,
        ..PacerStatus::default()
    };
    let t0 = Instant::now();
    assert!(
        update(&mut app, Msg::Tick { now: t0, pacer }).is_empty(),
        "live data is off until asked for"
    );
    app.live.enabled = true;
    assert_eq!(
        update(&mut app, Msg::Tick { now: t0, pacer }),
        vec![Effect::Refresh]
    );
    assert!(
        update(&mut app, Msg::Tick { now: t0, pacer }).is_empty(),
        "one refresh at a time"
    );
    assert!(key(&mut app, KeyCode::Char('R')).is_empty());
    live(&mut app, t0, Ok(snapshot(vec![])));
    // Not yet a refresh; the queues' hours are read once the live data names the queues.
    assert!(matches!(
        update(
            &mut app,
            Msg::Tick {
                now: t0 + Duration::from_secs(29),
                pacer
            }
        )
        .as_slice(),
        [Effect::ReadHours { .. }]
    ));
    assert_eq!(
        update(
            &mut app,
            Msg::Tick {
                now: t0 + Duration::from_secs(30),
                pacer
            }
        ),
        vec![Effect::Refresh]
    );
    live(&mut app, t0 + Duration::from_secs(31), Ok(snapshot(vec![])));
    assert_eq!(
        key(&mut app, KeyCode::Char('R')),
        vec![Effect::Refresh],
        "R refreshes now"
    );
    live(&mut app, t0 + Duration::from_secs(32), Ok(snapshot(vec![])));
    chars(&mut app, ":load live");
    assert_eq!(key(&mut app, KeyCode::Enter), vec![Effect::Refresh]);
}

#[test]
fn a_failed_refresh_keeps_the_old_data_marked_stale_with_its_age_and_why() {
    let mut app = app();
    app.live.enabled = true;
    let t0 = Instant::now();
    live(
        &mut app,
        t0,
        Ok(snapshot(vec![conversation(
            "bbbbbbbbbbbbbbbbbbbb0002",
            None,
        )])),
    );
    let rows = app.sessions.len();
    live(
        &mut app,
        t0 + Duration::from_secs(40),
        Err("List of Conversations: HTTP 401: Invalid apikey".into()),
    );
    assert_eq!(app.sessions.len(), rows, "nothing is dropped");
    assert_eq!(app.status.as_ref().unwrap().level, Level::Error);
    update(
        &mut app,
        Msg::Tick {
            now: t0 + Duration::from_secs(130),
            pacer: PacerStatus::default(),
        },
    );
    let text = screen(&app, 200, 60);
    assert!(
        text.contains("STALE 2m10s (List of Conversations: HTTP 401: Invalid apikey)"),
        "{text}"
    );
    assert!(text.contains("Agents 8 · STALE"), "{text}");
}

#[test]
fn an_unfit_target_asks_twice() {
    let mut app = app();
    let grace = app
        .agents
        .find("a-7a0c2d5-6b8e-4f1a-9c2d-1e4f5a670007")
        .unwrap();
    assert_eq!(app.agents.rows()[grace].status.as_deref(), Some("OFFLINE"));
    chars(&mut app, "2jjjjjj");
    key(&mut app, KeyCode::Enter);
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(
        c.unfit_target,
        Some((
            "Grace Obi".to_string(),
            "is OFFLINE, not AVAILABLE".to_string()
        ))
    );
    assert!(
        key(&mut app, KeyCode::Char('y')).is_empty(),
        "the first yes does not send"
    );
    assert!(matches!(&app.mode, Mode::Confirm(c) if c.warning_acknowledged));
    let text = confirm_text(&app);
    assert!(
        text.iter().any(|l| l.contains("Grace Obi is OFFLINE")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|l| l.contains("Press y once more"))
            && !text.iter().any(|l| l.contains("POST")),
        "the second screen holds the warning alone: {text:?}"
    );
    // The warning stands out in colour (and reversed, for NO_COLOR).
    let warning = confirm_lines(&app, Theme { color: true })
        .into_iter()
        .find(|l| l.to_string().contains("Grace Obi is OFFLINE"))
        .unwrap();
    assert_eq!(warning.style.fg, Some(ratatui::style::Color::Yellow));
    assert!(
        warning
            .style
            .add_modifier
            .contains(ratatui::style::Modifier::REVERSED)
    );
    for _ in 0..3 {
        assert!(
            key(&mut app, KeyCode::Enter).is_empty(),
            "no run of Enter sends a warned move"
        );
    }
    assert!(matches!(
        key(&mut app, KeyCode::Char('y')).as_slice(),
        [Effect::Send { .. }]
    ));
    // An available agent asks once.
    let mut app = self::app();
    chars(&mut app, "2");
    key(&mut app, KeyCode::Enter);
    assert!(matches!(
        key(&mut app, KeyCode::Char('y')).as_slice(),
        [Effect::Send { .. }]
    ));
    // A presence Kore does not document is kept as it came, and is not available: it asks twice.
    let mut app = self::app();
    chars(&mut app, "2jjjjjjj");
    key(&mut app, KeyCode::Enter);
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(
        c.unfit_target,
        Some((
            "Hiro Tanaka".to_string(),
            "is SYSTEM_BUSY, not AVAILABLE".to_string()
        ))
    );
    assert!(key(&mut app, KeyCode::Char('y')).is_empty());
}

#[test]
fn a_user_id_is_never_sent_as_aid() {
    let mut app = app();
    chars(&mut app, &format!(":assign agent {ALICE_USER}"));
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(app.mode, Mode::Normal), "no confirmation opens");
    let status = app.status.clone().unwrap();
    assert_eq!(status.level, Level::Error);
    assert!(status.text.contains("is a user id"), "{}", status.text);
}

#[test]
fn screen_with_live_data() {
    let mut app = app();
    app.live.enabled = true;
    let t0 = Instant::now();
    let first = session_id(&app, 0);
    live(
        &mut app,
        t0,
        Ok(snapshot(vec![conversation(&first, Some("Alice Moreau"))])),
    );
    update(
        &mut app,
        Msg::Tick {
            now: t0 + Duration::from_secs(12),
            pacer: PacerStatus {
                per_minute: 60,
                limit: 60,
                used_last_minute: 9,
                refresh_last_minute: 5,
                others_last_minute: 0,
                waiting: 0,
                shared: true,
                sharing_lost: false,
                clamped: 0,
                ..PacerStatus::default()
            },
        },
    );
    app.status = None;
    insta::assert_snapshot!("live_120x35", screen(&app, 120, 35));
}

#[test]
fn the_header_says_when_the_server_allows_less_than_configured() {
    let mut app = app();
    update(
        &mut app,
        Msg::Tick {
            now: Instant::now(),
            pacer: PacerStatus {
                per_minute: 60,
                limit: 45,
                used_last_minute: 46,
                refresh_last_minute: 0,
                others_last_minute: 40,
                waiting: 3,
                shared: true,
                sharing_lost: false,
                clamped: 0,
                ..PacerStatus::default()
            },
        },
    );
    let text = screen(&app, 160, 45);
    assert!(
        text.contains(
            "pacer 46/45 (server allows less than 60) ▰▰▰▰▰▰ (6 assign · 40 other processes)"
        ),
        "what other processes of the account spend is named: {text}"
    );
    // A budget that stopped being shared says so at once.
    update(
        &mut app,
        Msg::Tick {
            now: Instant::now(),
            pacer: PacerStatus {
                per_minute: 60,
                limit: 60,
                shared: false,
                sharing_lost: true,
                ..PacerStatus::default()
            },
        },
    );
    let text = screen(&app, 160, 45);
    assert!(
        text.contains("pacer 0/60 ▱▱▱▱▱▱ · BUDGET NOT SHARED"),
        "{text}"
    );
    // A shared store away: sending pauses, and the header says so; then that it is back.
    for (lost, says) in [
        (true, "store: lost, sending paused"),
        (false, "store: back"),
    ] {
        update(
            &mut app,
            Msg::Tick {
                now: Instant::now(),
                pacer: PacerStatus {
                    per_minute: 60,
                    limit: 60,
                    shared: true,
                    store_lost: lost,
                    store_back: !lost,
                    ..PacerStatus::default()
                },
            },
        );
        let text = screen(&app, 160, 45);
        assert!(text.contains(says), "{text}");
    }
}

#[test]
fn with_live_data_a_move_is_checked_with_the_server_once_its_callback_came_or_soon_after() {
    use switchboard::verify::{Verification, Verified};
    let tick = |app: &mut App, now: Instant| {
        update(
            app,
            Msg::Tick {
                now,
                pacer: PacerStatus::default(),
            },
        )
    };
    let mut app = app();
    let (first, second) = (session_id(&app, 0), session_id(&app, 1));
    let t0 = Instant::now();
    settle(&mut app, &first, Some(Outcome::Transferred), t0);
    settle(&mut app, &second, Some(Outcome::Transferred), t0);
    // Without live data nothing is asked of the server.
    assert!(tick(&mut app, t0 + Duration::from_secs(10)).is_empty());

    let mut app = self::app();
    app.live.enabled = true;
    app.live.refreshing = true; // keep refreshes out of the way
    settle(&mut app, &first, Some(Outcome::Transferred), t0);
    settle(&mut app, &second, Some(Outcome::Transferred), t0);
    assert!(tick(&mut app, t0 + Duration::from_secs(1)).is_empty());
    update(
        &mut app,
        Msg::Callback {
            at: AT.into(),
            event: callback(&first, "transferred"),
        },
    );
    let effects = tick(&mut app, t0 + Duration::from_secs(1));
    let [Effect::Verify { moves, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(
        moves,
        &[(first.clone(), Target::queue(QUEUE))],
        "the callback came"
    );
    // The other, a few seconds after its answer; neither is asked twice.
    let effects = tick(&mut app, t0 + Duration::from_secs(4));
    let [Effect::Verify { moves, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(moves, &[(second.clone(), Target::queue(QUEUE))]);
    assert!(tick(&mut app, t0 + Duration::from_secs(9)).is_empty());
    update(
        &mut app,
        Msg::Verified {
            at: AT.into(),
            now: Instant::now(),
            results: vec![
                (
                    first.clone(),
                    Verification {
                        verified: Verified::Verified,
                        detail: "in queue Billing, with no agent".into(),
                        seen: None,
                    },
                ),
                (
                    second.clone(),
                    Verification {
                        verified: Verified::NotMoved,
                        detail: "the server shows it in queue Payments, with Bruno Costa".into(),
                        seen: None,
                    },
                ),
            ],
        },
    );
    let text = screen(&app, 160, 45);
    let row = |id: &str| text.lines().find(|l| l.contains(id)).unwrap().to_string();
    assert!(row(&first).contains("verified"), "{}", row(&first));
    assert!(row(&second).contains("not moved"), "{}", row(&second));
    assert!(
        text.contains("not moved: the server shows it in queue Payments"),
        "the Activity pane says where it is: {text}"
    );
}

#[test]
fn ids_that_cannot_be_sent_are_refused_where_they_are_typed() {
    let mut app = app();
    let before = app.sessions.rows().len();
    chars(&mut app, "n");
    chars(&mut app, "hello world");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.sessions.rows().len(), before, "nothing added");
    let status = app.status.clone().unwrap();
    assert!(
        status.level == Level::Error && status.text.contains("a space"),
        "{status:?}"
    );
    for (command, says) in [
        (":assign queue qu-nope", "not Kore's shape"),
        (
            ":assign queue qu-b5d3bb4-a1ac-4caa-9be6-55a5abc3/../x",
            "would change the request's URL",
        ),
        (
            ":assign agent u-1325564f-99fb-5c98-84b5-0e3dda6b71f0",
            "is a user id (u-)",
        ),
        // A name is looked up in the Agents pane: one it does not hold opens nothing.
        (":assign agent alicia", "assign agent: nothing is called"),
    ] {
        chars(&mut app, command);
        assert!(key(&mut app, KeyCode::Enter).is_empty());
        assert!(
            matches!(app.mode, Mode::Normal),
            "{command}: no confirmation opens"
        );
        let status = app.status.clone().unwrap();
        assert!(status.text.contains(says), "{command}: {status:?}");
    }
}

#[test]
fn a_session_keeps_its_history_and_retry_skips_what_was_ever_transferred() {
    let mut app = app();
    confirm_two_to_queue(&mut app);
    key(&mut app, KeyCode::Char('y'));
    let (a, b) = (session_id(&app, 0), session_id(&app, 1));
    settle(&mut app, &a, Some(Outcome::Transferred), Instant::now());
    settle(&mut app, &b, Some(Outcome::Rejected), Instant::now());
    // `a` is moved again (to the next queue: where it is now is no move), and this time the
    // platform rejects it: it was still transferred once.
    chars(&mut app, "1g3j");
    key(&mut app, KeyCode::Enter);
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(c.already_moved, vec![a.clone()], "the dialog warns");
    assert!(
        key(&mut app, KeyCode::Char('y')).is_empty(),
        "a second y is needed"
    );
    assert_eq!(key(&mut app, KeyCode::Char('y')).len(), 1);
    settled_to(
        &mut app,
        &a,
        Target::queue(TECH),
        Outcome::Rejected,
        Instant::now(),
    );
    let state = &app.sessions.rows()[0].state;
    assert_eq!(state.outcome_cell(), "transferred · then rejected");
    assert_eq!(
        state.history,
        vec![Some(Outcome::Transferred), Some(Outcome::Rejected)]
    );
    // The column keeps its width whatever the outcome (nothing jumps): the outcome now shows
    // first, the whole story is in the detail.
    for (w, h) in [(160, 45), (60, 20)] {
        let text = screen(&app, w, h);
        assert!(text.contains("…then rejected"), "{text}");
    }
    assert!(
        view::session_detail(&app, &a)
            .iter()
            .any(|l| l.contains("transferred · then rejected"))
    );
    // `r` on the last batch: only `b`, never transferred, unless `a` is marked explicitly.
    chars(&mut app, "1g");
    key(&mut app, KeyCode::Char('r'));
    assert!(
        matches!(app.mode, Mode::Normal),
        "the highlighted a is skipped"
    );
    chars(&mut app, "j");
    key(&mut app, KeyCode::Char('r'));
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(c.moves, vec![(b.clone(), Target::queue(QUEUE))]);
    assert!(c.already_moved.is_empty());
    key(&mut app, KeyCode::Esc);
    chars(&mut app, "g  ");
    key(&mut app, KeyCode::Char('r'));
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(c.moves.len(), 2, "marked, a goes too");
    assert_eq!(c.already_moved, vec![a]);
    assert!(c.warned());
}

#[test]
fn the_filter_ranks_the_exact_id_then_id_parts_then_words_and_the_cursor_lands_on_the_best() {
    let highlighted = |app: &App| app.sessions.selected_row().unwrap().row.id.clone();
    let mut app = app();
    // A pasted full id: that session, first, highlighted — not one that merely shares digits.
    chars(&mut app, "/66c2f6939489bfffc7910408");
    assert_eq!(highlighted(&app), "66c2f6939489bfffc7910408");
    key(&mut app, KeyCode::Enter);
    // `/` opens on the kept query, selected: typing replaces it.
    chars(&mut app, "/0cf0");
    assert_eq!(app.sessions.query(), "0cf0", "the old query was replaced");
    assert_eq!(
        highlighted(&app),
        "66c2f6939489bfffc7910cf0",
        "an id holding it comes first"
    );
    key(&mut app, KeyCode::Enter);
    chars(&mut app, "/ava patel");
    assert_eq!(
        app.sessions.selected_row().unwrap().row.extra[0].1,
        "Ava Patel",
        "whole words in other columns before fuzzy matches"
    );
    // Esc in normal mode clears a kept filter.
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.sessions.visible().len(), 1);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.sessions.query(), "");
    assert_eq!(app.sessions.visible().len(), 44);
}

#[test]
fn the_confirmation_warns_about_an_unknown_target_a_full_agent_and_a_session_that_may_have_moved() {
    let mut app = app();
    let first = session_id(&app, 0);
    // The first session's last answer was `unknown`: it may already have moved.
    settle(&mut app, &first, Some(Outcome::Unknown), Instant::now());
    chars(
        &mut app,
        ":assign queue qu-0000000-0000-0000-0000-00000000beef",
    );
    key(&mut app, KeyCode::Enter);
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(c.maybe_moved, vec![first.clone()]);
    assert!(c.warned(), "a session that may have moved asks twice");
    let text = confirm_text(&app);
    assert!(
        text.iter()
            .any(|l| l.contains("is not in the loaded agents and queues")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|l| l.contains("may already have moved")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|l| l.contains(&first) && l.contains("Ava Patel")),
        "each session says who it is: {text:?}"
    );
    key(&mut app, KeyCode::Esc);
    // An available agent with every chat slot taken is a warned move too.
    let alice = app
        .agents
        .find("a-8cd2673-0cb7-462d-9453-0ee60e520001")
        .unwrap();
    if let Some(a) = app
        .agents
        .by_id_mut("a-8cd2673-0cb7-462d-9453-0ee60e520001")
    {
        a.active_chats = Some(5);
        a.max_chats = Some(5);
    }
    app.agents.refresh(alice);
    chars(&mut app, "2g");
    key(&mut app, KeyCode::Enter);
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(
        c.unfit_target,
        Some((
            "Alice Moreau".to_string(),
            "has no free capacity (5/5 chats)".to_string()
        ))
    );
}

#[test]
fn a_background_refresh_does_not_overwrite_the_answer_to_what_you_just_did() {
    let mut app = app();
    app.live.enabled = true;
    chars(&mut app, ":assign queue qu-nope");
    key(&mut app, KeyCode::Enter);
    let answer = app.status.clone().unwrap();
    assert!(answer.text.contains("not Kore's shape"));
    let mut snap = snapshot(vec![]);
    snap.warnings = vec!["Queue Size: HTTP 404: Queue stats unavailable".into()];
    live(&mut app, Instant::now(), Ok(snap));
    assert_eq!(app.status.as_ref(), Some(&answer), "the answer stays");
    assert!(
        screen(&app, 160, 45).contains("live data read, but: Queue Size"),
        "the refresh's news is in Activity"
    );
    live(&mut app, Instant::now(), Err("connection refused".into()));
    assert_eq!(app.status.as_ref(), Some(&answer));
}

#[test]
fn enter_on_a_session_opens_its_detail_with_every_column_its_state_and_its_history() {
    let mut app = app();
    confirm_two_to_queue(&mut app);
    key(&mut app, KeyCode::Char('y'));
    let first = session_id(&app, 0);
    attempting(&mut app, &first);
    settle(&mut app, &first, Some(Outcome::Transferred), Instant::now());
    update(
        &mut app,
        Msg::Callback {
            at: AT.into(),
            event: callback(&first, "transferred"),
        },
    );
    chars(&mut app, "1g");
    key(&mut app, KeyCode::Enter);
    assert!(
        matches!(&app.mode, Mode::Detail { of: DetailOf::Session(id), .. } if *id == first),
        "{:?}",
        app.mode
    );
    let text = screen(&app, 160, 45);
    for expected in [
        "Ava Patel",
        "move          transferred",
        "callback      ok",
        "history (oldest first):",
        "callback",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    key(&mut app, KeyCode::Esc);
    assert!(matches!(app.mode, Mode::Normal));
}

#[test]
fn a_failed_refresh_says_the_cause_short_and_keeps_the_chain_one_enter_away() {
    let mut app = app();
    app.live.enabled = true;
    live(
        &mut app,
        Instant::now(),
        Err("List of Conversations: connection refused 127.0.0.1:9\nerror sending request for url (http://127.0.0.1:9/): client error (Connect): tcp connect error: Connection refused (os error 111)".into()),
    );
    let status = app.status.clone().unwrap();
    assert_eq!(
        status.text,
        "live data not refreshed, the panes show the last data: List of Conversations: connection refused 127.0.0.1:9"
    );
    chars(&mut app, "4");
    key(&mut app, KeyCode::Enter);
    let text = screen(&app, 160, 45);
    assert!(
        text.contains("tcp connect error"),
        "the detail holds the chain:\n{text}"
    );
}

#[test]
fn space_star_and_u_mark_in_the_focused_pane_only() {
    let mut app = app();
    chars(&mut app, " ");
    assert_eq!(app.marked(), 1);
    chars(&mut app, "2");
    assert_eq!(app.focus, Pane::Agents);
    chars(&mut app, " ");
    assert_eq!(app.agents.marked(), 1, "Space marks an agent");
    assert_eq!(app.agents.selected(), Some(1), "…and moves down");
    chars(&mut app, "*");
    assert_eq!(app.agents.marked(), 8, "* marks every agent shown");
    assert_eq!(app.marked(), 1, "…and no session");
    assert!(screen(&app, 160, 45).contains("Agents 8 (8 marked)"));
    chars(&mut app, "u");
    assert_eq!(app.agents.marked(), 0, "u unmarks the agents");
    assert_eq!(app.marked(), 1, "…and leaves the sessions' marks");
    chars(&mut app, "3 ");
    assert_eq!(app.queues.marked(), 1, "queues take marks too");
    chars(&mut app, "4");
    let before = app.activity.len();
    chars(&mut app, " *");
    assert_eq!(app.activity.len(), before);
    assert_eq!(
        app.status.as_ref().map(|s| s.text.as_str()),
        Some("Activity entries are not marked")
    );
}

#[test]
fn activity_names_agents_and_queues_and_the_detail_gives_the_zone() {
    let mut app = app();
    confirm_two_to_queue(&mut app);
    key(&mut app, KeyCode::Char('y'));
    let a = session_id(&app, 0);
    attempting(&mut app, &a);
    settle(&mut app, &a, Some(Outcome::Transferred), Instant::now());
    let summaries: Vec<String> = app.activity.rows().iter().map(|e| e.summary()).collect();
    assert!(
        summaries
            .iter()
            .any(|s| s.contains(&format!("→ POST {a} to queue Billing"))),
        "{summaries:?}"
    );
    let shown = screen(&app, 160, 45);
    assert!(shown.contains("03:00:00 → POST"), "{shown}");
    // The zone the console shows times in is the operator's; the test's context says UTC.
    app.focus = Pane::Activity;
    app.activity.bottom();
    key(&mut app, KeyCode::Enter);
    let detail = screen(&app, 160, 45);
    assert!(
        detail.contains("2026-11-27 03:00:00 UTC (+00:00)"),
        "{detail}"
    );
    assert!(
        detail.contains(&format!("to queue {QUEUE} (Billing)")),
        "the detail gives the id beside the name: {detail}"
    );
}

/// The column headers of a screen's Sessions pane: the third line.
/// The Sessions pane's column headings: the line under its title (an alert line may sit above).
fn sessions_header(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    lines
        .iter()
        .position(|l| l.starts_with("┌ Sessions"))
        .and_then(|i| lines.get(i + 1))
        .unwrap_or(&"")
        .to_string()
}

#[test]
fn the_table_has_headers_drops_columns_by_priority_and_does_not_move_when_live_data_arrives() {
    let mut app = app();
    let wide = screen(&app, 200, 45);
    let header = sessions_header(&wide);
    for column in [
        "session", "customer", "channel", "wait", "intent", "outcome", "callback",
    ] {
        assert!(header.contains(column), "{column} in {header}");
    }
    assert!(
        wide.contains("6538f8a3c9cf425ee5cf0001"),
        "the whole id fits"
    );
    let narrow = screen(&app, 60, 20);
    let header = sessions_header(&narrow);
    for column in ["session", "customer", "outcome", "callback"] {
        assert!(header.contains(column), "{column} in {header} at 60x20");
    }
    assert!(narrow.contains("…e5cf0001"), "the id's last 8 characters");
    assert!(!narrow.contains("6538f8a3c9cf425ee5cf0001"));

    // Live data on: its columns are there before its first answer, and it moves nothing.
    chars(&mut app, "R");
    let before = screen(&app, 160, 45);
    update(
        &mut app,
        Msg::Live {
            at: AT.into(),
            asked: Instant::now(),
            now: Instant::now(),
            result: Ok(switchboard::live::LiveSnapshot::default()),
        },
    );
    let after = screen(&app, 160, 45);
    assert_eq!(sessions_header(&before), sessions_header(&after));
    let column = |s: &str, word: &str| sessions_header(s).find(word);
    assert_eq!(column(&before, "outcome"), column(&after, "outcome"));
}

#[test]
fn after_a_resize_the_cursor_stays_visible_and_the_pane_fills() {
    let mut app = app();
    chars(&mut app, "G");
    let small = screen(&app, 80, 24);
    assert!(small.contains(">[ ] …e5cf002c"), "{small}");
    let big = screen(&app, 200, 45);
    assert!(big.contains(">[ ] 6538f8a3c9cf425ee5cf002c"), "{big}");
    // The pane is full: its last line holds a row, not blank space under the last session.
    let last_row = big
        .lines()
        .take_while(|l| !l.starts_with('└'))
        .last()
        .unwrap_or_default();
    assert!(last_row.contains("6538f8a3c9cf425ee5cf002c"), "{big}");
    let rows = |screen: &str| {
        screen
            .lines()
            .filter(|l| l.starts_with("│>[") || l.starts_with("│ ["))
            .count()
    };
    assert!(
        rows(&big) > 2 * rows(&small),
        "the taller pane shows more rows: {} and {}",
        rows(&big),
        rows(&small)
    );
    chars(&mut app, "g");
    assert!(screen(&app, 60, 20).contains(">[ ] …e5cf0001"));
}

/// A center for plans: four sessions waiting in Billing (longest first), one held, and two
/// AVAILABLE agents with room for one chat (Ada: 2 at once, 1 held) and for two (Ben).
const ADA: &str = "a-1111111-1111-4111-8111-111111111111";
const BEN: &str = "a-2222222-2222-4222-8222-222222222222";

fn plan_center(waiting: &[&str]) -> LiveSnapshot {
    let agent = |id: &str, user: &str, name: &str| LiveAgent {
        id: id.into(),
        user_id: Some(user.into()),
        name: name.into(),
        availability: Some(Availability::Available),
        max_chats: Some(2),
        queues: vec!["Billing".into()],
        skills: vec![],
        capacity: vec![],
    };
    let mut conversations: Vec<Conversation> = waiting
        .iter()
        .enumerate()
        .map(|(i, s)| Conversation {
            agent_user_id: None,
            agent_name: None,
            status: Some("OPEN".into()),
            wait: Some(Duration::from_secs(300 - 50 * i as u64)),
            ..conversation(s, None)
        })
        .collect();
    conversations.push(Conversation {
        agent_user_id: Some("u-ada".into()),
        agent_name: Some("Ada".into()),
        ..conversation("6538f8a3c9cf425ee5cf00ff", None)
    });
    LiveSnapshot {
        conversations,
        agents: vec![agent(ADA, "u-ada", "Ada"), agent(BEN, "u-ben", "Ben")],
        ..snapshot(vec![])
    }
}

#[test]
fn a_spread_plan_save_open_with_drift_and_revert_last_in_the_console() {
    let s: Vec<String> = (1..=4)
        .map(|n| format!("6538f8a3c9cf425ee5cf000{n}"))
        .collect();
    let ids: Vec<&str> = s.iter().map(String::as_str).collect();
    let mut app = App::new(context(), KeyMap::defaults());
    let now = Instant::now();
    live(&mut app, now, Ok(plan_center(&ids)));
    for id in &ids {
        let i = app.sessions.find(id).unwrap();
        app.sessions.set_mark(i, true);
    }
    // Agents: both marked, Enter on a marked one spreads over them.
    chars(&mut app, "2");
    chars(&mut app, " ");
    chars(&mut app, " ");
    chars(&mut app, "k");
    key(&mut app, KeyCode::Enter);
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?} {:?}", app.mode, app.status)
    };
    // Longest-waiting first, to the most room; nobody past capacity; the rest left where it is.
    assert_eq!(
        c.moves,
        vec![
            (s[0].clone(), Target::agent(BEN)),
            (s[1].clone(), Target::agent(ADA)),
            (s[2].clone(), Target::agent(BEN)),
        ]
    );
    assert_eq!(c.left_out.len(), 1);
    assert_eq!(c.left_out[0].0, s[3]);
    let text = confirm_text(&app);
    assert!(
        text[0].starts_with(
            "Move 3 of 4 marked: 2 → Ben, 1 → Ada · 1 stay (no AVAILABLE agent has free"
        ),
        "the headline counts who takes how many and what stays: {text:#?}"
    );
    for expected in [
        "Ada (a-1111111-1111-4111-8111-111111111111): 1 held + 1 placed = 2 of 2 chats",
        "Ben (a-2222222-2222-4222-8222-222222222222): 0 held + 2 placed = 2 of 2 chats",
        "no AVAILABLE agent has free",
    ] {
        assert!(
            text.iter().any(|l| l.contains(expected)),
            "{expected}: {text:#?}"
        );
    }

    // `:plan save` writes the confirmation instead of sending it.
    chars(&mut app, ":");
    let effects = chars(&mut app, "plan save ~/spread.json");
    assert!(effects.is_empty());
    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::SavePlan { path, plan }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(path.to_str(), Some("~/spread.json"));
    assert_eq!(plan.moves.len(), 3);
    assert_eq!(plan.left_out.len(), 1);
    assert_eq!(plan.moves[0].planned.target_free, Some(2));
    assert!(
        matches!(app.mode, Mode::Normal),
        "nothing sent, the dialog closed"
    );
    let plan = (**plan).clone();

    // Opened again after the first session closed: that move has drifted and is shown apart.
    live(&mut app, now, Ok(plan_center(&ids[1..])));
    update(
        &mut app,
        Msg::PlanRead {
            source: "plan ~/spread.json".into(),
            result: Ok(plan.clone()),
        },
    );
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?} {:?}", app.mode, app.status)
    };
    assert_eq!(c.moves.len(), 2);
    assert_eq!(c.drifted.len(), 1);
    assert!(c.drifted[0].2.contains("closed"), "{:?}", c.drifted);
    let text = confirm_text(&app);
    assert!(
        text.iter().any(|l| l.contains("Drifted since planned")),
        "{text:#?}"
    );
    // y sends only what did not drift, each move with where it was.
    let effects = key(&mut app, KeyCode::Char('y'));
    let [Effect::Send { moves, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(moves.len(), 2);
    assert!(
        moves
            .iter()
            .all(|m| m.from.as_ref().and_then(|f| f.queue.as_deref()) == Some(QUEUE))
    );

    // `:revert last` asks for the last run's revert plan.
    chars(&mut app, ":revert last");
    key(&mut app, KeyCode::Enter);
    assert!(matches!(&app.status, Some(s) if s.text.contains("no run has ended")));
    update(
        &mut app,
        Msg::RunDone {
            at: AT.into(),
            run: "0123456789ab".into(),
            reports: vec![],
            stopped: None,
        },
    );
    chars(&mut app, ":revert last");
    let effects = key(&mut app, KeyCode::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::OpenRevert { run, .. }] if run == "0123456789ab"),
        "{effects:?}"
    );

    // A plan for another host, or another account on this host, does not open.
    let mut elsewhere = plan.clone();
    elsewhere.host = "https://other.example".into();
    let mut other_account = plan;
    other_account.account = Some("acct-elsewhere".into());
    for (other, says) in [
        (elsewhere, "made for host https://other.example"),
        (other_account, "made for account acct-elsewhere"),
    ] {
        update(
            &mut app,
            Msg::PlanRead {
                source: "plan x".into(),
                result: Ok(other),
            },
        );
        assert!(matches!(app.mode, Mode::Normal));
        assert!(
            matches!(&app.status, Some(s) if s.text.contains(says)),
            "{:?}",
            app.status
        );
    }
}

#[test]
fn a_spread_needs_live_data_and_esc_in_a_command_goes_back_to_the_confirmation() {
    let mut app = app();
    chars(&mut app, " 2 ");
    key(&mut app, KeyCode::Char('k'));
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Normal));
    assert!(
        matches!(&app.status, Some(s) if s.text.contains("a spread needs live data")),
        "{:?}",
        app.status
    );
    // Outside a confirmation there is nothing to save.
    chars(&mut app, ":plan save ~/p.json");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(
        matches!(&app.status, Some(s) if s.text.contains("open a confirmation first")),
        "{:?}",
        app.status
    );
    confirm_two_to_queue(&mut app);
    chars(&mut app, ":");
    assert!(matches!(app.mode, Mode::Command { .. }));
    key(&mut app, KeyCode::Esc);
    assert!(matches!(app.mode, Mode::Confirm(_)), "{:?}", app.mode);
    // Another command over it brings it back when done.
    chars(&mut app, ":select last");
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Confirm(_)), "{:?}", app.mode);
}

#[test]
fn with_live_data_on_a_plan_waits_for_a_refresh_of_its_own_before_it_is_checked() {
    let s: Vec<String> = (1..=2)
        .map(|n| format!("6538f8a3c9cf425ee5cf000{n}"))
        .collect();
    let ids: Vec<&str> = s.iter().map(String::as_str).collect();
    let mut app = App::new(context(), KeyMap::defaults());
    app.live.enabled = true;
    let now = Instant::now();
    // A second queue, for the plan to move them to.
    let center = |ids: &[&str]| {
        let mut center = plan_center(ids);
        center.queues.push(LiveQueue {
            id: TECH.into(),
            name: "Technical support".into(),
            ..center.queues[0].clone()
        });
        center
    };
    live(&mut app, now, Ok(center(&ids)));
    let mut plan = switchboard::plan::Plan::new("plan", "prod", "https://platform.kore.ai");
    let planner = switchboard::plan::Planner::new(app.snapshot.as_deref().unwrap());
    for id in &ids {
        planner.add(&mut plan, id, Target::queue(TECH));
    }
    // A refresh was already on its way when the plan came: it may predate the last run.
    app.live.refreshing = true;
    let effects = update(
        &mut app,
        Msg::PlanRead {
            source: "plan p.json".into(),
            result: Ok(plan),
        },
    );
    assert_eq!(effects, vec![Effect::Refresh]);
    assert!(matches!(app.mode, Mode::Normal));
    live(&mut app, now, Ok(center(&ids)));
    assert!(
        matches!(app.mode, Mode::Normal),
        "the older refresh does not count"
    );
    // Its own refresh: the first session has closed since the plan was made.
    live(&mut app, now, Ok(center(&ids[1..])));
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?} {:?}", app.mode, app.status)
    };
    assert_eq!(c.moves, vec![(s[1].clone(), Target::queue(TECH))]);
    assert_eq!(c.drifted.len(), 1);
}

// ---- the truth on screen: a move shows at once, a read never undoes what is newer ----

/// A session's cell of a given column.
fn cell(app: &App, session: &str, name: &str) -> Option<String> {
    app.sessions
        .by_id(session)?
        .row
        .extra
        .iter()
        .find(|(k, _)| &**k == name)
        .map(|(_, v)| v.clone())
}

fn live_asked(app: &mut App, asked: Instant, now: Instant, snapshot: LiveSnapshot) {
    update(
        app,
        Msg::Live {
            at: AT.into(),
            asked,
            now,
            result: Ok(snapshot),
        },
    );
}

#[test]
fn a_move_shows_at_once_and_a_read_asked_before_it_never_undoes_it() {
    const WAITING: &str = "cccccccccccccccccccc0003";
    let mut app = App::new(context(), KeyMap::defaults());
    let t0 = Instant::now();
    live(
        &mut app,
        t0,
        Ok(snapshot(vec![conversation(WAITING, None)])),
    );
    let alice = |app: &App| {
        let a = app.agents.by_id(ALICE).unwrap();
        app.moving.chats_of(a)
    };
    let billing = |app: &App| {
        let q = app.queues.by_id(QUEUE).unwrap();
        app.moving.waiting_in(q)
    };
    assert_eq!((alice(&app), billing(&app)), (Some(0), Some(9)));
    assert_eq!(cell(&app, WAITING, "agent").as_deref(), Some(""));

    // The move to Alice answers `transferred`: the row and both panes take it at once, marked unseen.
    let answered = t0 + Duration::from_secs(5);
    settled_to(
        &mut app,
        WAITING,
        Target::agent(ALICE),
        Outcome::Transferred,
        answered,
    );
    assert_eq!(
        cell(&app, WAITING, "agent").as_deref(),
        Some("Alice Moreau")
    );
    assert!(app.sessions.by_id(WAITING).unwrap().place.unseen());
    assert_eq!((alice(&app), billing(&app)), (Some(1), Some(8)));
    let text = screen(&app, 160, 45);
    assert!(text.contains("→Alice M"), "{text}");
    assert!(
        !text.contains("→Billing"),
        "the queue did not change: {text}"
    );
    assert!(text.contains("1/5"), "the Agents pane counts it: {text}");

    // A read asked before the answer, arriving after it, shows the old place: it does not win.
    live_asked(
        &mut app,
        t0 + Duration::from_secs(2),
        t0 + Duration::from_secs(9),
        snapshot(vec![conversation(WAITING, None)]),
    );
    assert_eq!(
        cell(&app, WAITING, "agent").as_deref(),
        Some("Alice Moreau")
    );
    assert!(app.sessions.by_id(WAITING).unwrap().place.unseen());
    assert_eq!((alice(&app), billing(&app)), (Some(1), Some(8)));
    // Its age counts from when it was asked, not when the last page came.
    app.live.enabled = true;
    assert_eq!(
        app.live
            .describe(Some(t0 + Duration::from_secs(44)))
            .as_deref(),
        Some("live 42s ago")
    );

    // A read asked after the answer settles it: the server's counts stand alone.
    live_asked(
        &mut app,
        t0 + Duration::from_secs(10),
        t0 + Duration::from_secs(11),
        snapshot(vec![conversation(WAITING, Some("Alice Moreau"))]),
    );
    assert!(!app.sessions.by_id(WAITING).unwrap().place.unseen());
    assert_eq!((alice(&app), billing(&app)), (Some(1), Some(9)));
    let text = screen(&app, 160, 45);
    assert!(!text.contains("→Alice"), "{text}");
}

#[test]
fn not_moved_puts_back_what_the_server_shows() {
    use switchboard::verify::{Verification, Verified};
    const WAITING: &str = "cccccccccccccccccccc0003";
    let mut app = App::new(context(), KeyMap::defaults());
    let t0 = Instant::now();
    live(
        &mut app,
        t0,
        Ok(snapshot(vec![conversation(WAITING, None)])),
    );
    app.now = Some(t0);
    settled_to(
        &mut app,
        WAITING,
        Target::agent(ALICE),
        Outcome::Transferred,
        t0,
    );
    assert_eq!(
        cell(&app, WAITING, "agent").as_deref(),
        Some("Alice Moreau")
    );
    update(
        &mut app,
        Msg::Verified {
            at: AT.into(),
            now: Instant::now(),
            results: vec![(
                WAITING.into(),
                Verification {
                    verified: Verified::NotMoved,
                    detail: "the server shows it in queue Billing, with no agent".into(),
                    seen: Some(Box::new(conversation(WAITING, None))),
                },
            )],
        },
    );
    let s = app.sessions.by_id(WAITING).unwrap();
    assert!(!s.place.unseen());
    assert_eq!(cell(&app, WAITING, "agent").as_deref(), Some(""));
    assert_eq!(cell(&app, WAITING, "queue").as_deref(), Some("Billing"));
    let a = app.agents.by_id(ALICE).unwrap();
    assert_eq!(
        app.moving.chats_of(a),
        Some(0),
        "the pane's count goes back"
    );

    // A queue move: that queue, no agent.
    settled_to(
        &mut app,
        WAITING,
        Target::queue(QUEUE),
        Outcome::Transferred,
        t0,
    );
    assert_eq!(cell(&app, WAITING, "queue").as_deref(), Some("Billing"));
    assert_eq!(cell(&app, WAITING, "agent").as_deref(), Some(""));
}

// ---- select by meaning, not by luck ----

const CHEN: &str = "a-c0000000-0000-4000-8000-000000000003";
const CHEN_USER: &str = "u-c0000000-0000-4000-8000-000000000003";
const ERIN: &str = "a-e0000000-0000-4000-8000-000000000005";
const ERIN_USER: &str = "u-e0000000-0000-4000-8000-000000000005";
const DAN: &str = "a-d0000000-0000-4000-8000-000000000004";
const TECH: &str = "qu-c6e4cc5-b2bd-4dbb-8af7-66b6bcd40002";

fn agent(id: &str, user: &str, name: &str, availability: Availability) -> LiveAgent {
    LiveAgent {
        id: id.into(),
        user_id: Some(user.into()),
        name: name.into(),
        availability: Some(availability),
        max_chats: Some(3),
        queues: vec![],
        skills: vec![],
        capacity: vec![],
    }
}

/// A center: Chen Wei holds 2, Erin 3, 4 wait in Technical support, 3 in Billing; one is OVERDUE;
/// the channel `webchat` and the queue `Technical support` hold the letters of "chen wei" scattered.
fn triage_center() -> LiveSnapshot {
    let mut conversations = Vec::new();
    let mut add =
        |n: u32, queue: (&str, &str), agent: Option<(&str, &str)>, status: &str, wait: u64| {
            conversations.push(Conversation {
                session: format!("5e55{n:020}"),
                status: Some(status.into()),
                source: Some(
                    if status == "WAITING" {
                        "webchat"
                    } else {
                        "messenger"
                    }
                    .into(),
                ),
                queue_id: Some(queue.0.into()),
                queue_name: Some(queue.1.into()),
                agent_user_id: agent.map(|a| a.0.to_string()),
                agent_name: agent.map(|a| a.1.to_string()),
                wait: Some(Duration::from_secs(wait)),
                // Priority climbs with the number; the sentiment is most negative for 4.
                triage: switchboard::triage::Triage {
                    priority: Some((n % 10).to_string()),
                    sentiment: Some(switchboard::triage::Sentiment {
                        tone: if n == 4 { "angry" } else { "joy" }.into(),
                        strength: Some(if n == 4 { 3 } else { i64::from(n % 3) }),
                    }),
                    intent: Some("TalkToAgent".into()),
                    language: Some("en".into()),
                },
                ..Conversation::default()
            });
        };
    let (billing, tech) = ((QUEUE, "Billing"), (TECH, "Technical support"));
    add(1, tech, Some((CHEN_USER, "Chen Wei")), "ACTIVE", 30);
    add(2, billing, Some((CHEN_USER, "Chen Wei")), "OVERDUE", 400);
    for n in 3..6 {
        add(n, billing, Some((ERIN_USER, "Erin Agent")), "ACTIVE", 20);
    }
    for n in 6..10 {
        add(n, tech, None, "WAITING", 60 * u64::from(n));
    }
    for n in 10..13 {
        add(n, billing, None, "WAITING", 10);
    }
    LiveSnapshot {
        conversations,
        agents: vec![
            agent(CHEN, CHEN_USER, "Chen Wei", Availability::Offline),
            agent(ERIN, ERIN_USER, "Erin Agent", Availability::Available),
            agent(
                DAN,
                "u-d0000000-0000-4000-8000-000000000004",
                "Dan Agent",
                Availability::Available,
            ),
        ],
        queues: vec![
            LiveQueue {
                id: QUEUE.into(),
                name: "Billing".into(),
                waiting: Some(3),
                engaged: Some(4),
                avg_wait: None,
                max_wait: None,
                ..LiveQueue::default()
            },
            LiveQueue {
                id: TECH.into(),
                name: "Technical support".into(),
                waiting: Some(4),
                engaged: Some(1),
                avg_wait: None,
                max_wait: None,
                ..LiveQueue::default()
            },
        ],
        calls: 6,
        warnings: vec![],
    }
}

fn triage_app() -> App {
    let mut app = App::new(context(), KeyMap::defaults());
    app.live.enabled = true;
    live(&mut app, Instant::now(), Ok(triage_center()));
    app.status = None;
    app
}

fn marked_ids(app: &App) -> Vec<String> {
    app.sessions
        .marked_rows()
        .into_iter()
        .map(|i| app.sessions.rows()[i].row.id.clone())
        .collect()
}

fn command(app: &mut App, line: &str) -> Vec<Effect> {
    chars(app, ":");
    let effects = chars(app, line);
    assert!(effects.is_empty());
    key(app, KeyCode::Enter)
}

fn status_text(app: &App) -> String {
    app.status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

#[test]
fn star_marks_only_exact_matches_and_fuzzy_ones_sit_under_a_divider() {
    let mut app = triage_app();
    chars(&mut app, "/chen wei");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.sessions.exact(), 2, "the two Chen Wei holds");
    assert!(
        app.sessions.visible().len() > 2,
        "the others match \"chen wei\" scattered over webchat and Technical"
    );
    let text = screen(&app, 160, 45);
    let fuzzy = app.sessions.visible().len() - 2;
    assert!(
        text.contains(&format!("shown: 2 exact, {fuzzy} fuzzy")),
        "{text}"
    );
    assert!(text.contains("── fuzzy"), "{text}");
    chars(&mut app, "*");
    assert_eq!(
        marked_ids(&app),
        [format!("5e55{:020}", 1), format!("5e55{:020}", 2)]
    );
    assert!(
        status_text(&app).contains("not marked"),
        "{}",
        status_text(&app)
    );

    // A word's start is exact too; a part inside a word is not.
    key(&mut app, KeyCode::Char('u'));
    chars(&mut app, "/tech");
    key(&mut app, KeyCode::Enter);
    assert_eq!(
        app.sessions.exact(),
        5,
        "Technical support starts with tech"
    );
}

#[test]
fn the_filter_takes_field_terms() {
    let mut app = triage_app();
    let shown = |app: &mut App, q: &str| {
        chars(app, "/");
        chars(app, q);
        key(app, KeyCode::Enter);
        let n = app.sessions.visible().len();
        key(app, KeyCode::Esc);
        n
    };
    assert_eq!(shown(&mut app, "agent:chen"), 2);
    assert_eq!(shown(&mut app, "agent:erin"), 3);
    assert_eq!(shown(&mut app, "queue:billing"), 7);
    assert_eq!(shown(&mut app, "queue:tech agent:chen"), 1);
    assert_eq!(shown(&mut app, "status:overdue"), 1);
    assert_eq!(shown(&mut app, "channel:web"), 7, "webchat starts with web");
    assert_eq!(shown(&mut app, "channel:mess"), 5);
    assert_eq!(
        shown(&mut app, "channel:chat"),
        0,
        "inside a word is not a field's match"
    );
    assert_eq!(
        shown(&mut app, "wait>5m"),
        5,
        "6 to 9 minutes, and the 6m40s overdue one"
    );
    assert_eq!(shown(&mut app, "wait<15s"), 3);
}

#[test]
fn select_marks_what_an_agent_holds_what_a_queue_waits_with_and_a_status() {
    let mut app = triage_app();
    let id = |n: u32| format!("5e55{n:020}");
    command(&mut app, "select agent chen wei");
    assert_eq!(marked_ids(&app), [id(1), id(2)]);
    assert_eq!(status_text(&app), "marked 2 session(s) Chen Wei holds");
    command(&mut app, "select agent erin");
    assert_eq!(
        marked_ids(&app),
        [id(3), id(4), id(5)],
        "marks are replaced"
    );
    command(&mut app, &format!("select agent {ERIN}"));
    assert_eq!(marked_ids(&app).len(), 3, "by id too");
    command(&mut app, "select agent agent");
    assert_eq!(marked_ids(&app).len(), 3, "an ambiguous name marks nothing");
    assert!(
        status_text(&app).contains("Erin Agent, Dan Agent"),
        "{}",
        status_text(&app)
    );
    command(&mut app, "select agent nobody");
    assert!(
        status_text(&app).contains("nothing is called"),
        "{}",
        status_text(&app)
    );
    command(&mut app, "select queue billing");
    assert_eq!(
        marked_ids(&app),
        [id(10), id(11), id(12)],
        "waiting, with no agent"
    );
    command(&mut app, "select queue technical support");
    assert_eq!(marked_ids(&app), [id(6), id(7), id(8), id(9)]);
    command(&mut app, "select status overdue");
    assert_eq!(marked_ids(&app), [id(2)]);
    assert_eq!(status_text(&app), "marked 1 session(s) of status OVERDUE");

    // After a move answers, the agent holds what the row now shows.
    settled_to(
        &mut app,
        &id(6),
        Target::agent(DAN),
        Outcome::Transferred,
        Instant::now(),
    );
    command(&mut app, "select agent dan");
    assert_eq!(marked_ids(&app), [id(6)]);
    command(&mut app, "select queue technical support");
    assert_eq!(marked_ids(&app), [id(7), id(8), id(9)]);
}

// ---- the confirmation counts what moves and from where; a warning means something ----

use switchboard::console::app::Confirm;

fn confirm_of(app: &App) -> Confirm {
    match &app.mode {
        Mode::Confirm(c) => (**c).clone(),
        other => panic!("{other:?} {:?}", app.status),
    }
}

#[test]
fn the_headline_counts_what_moves_where_and_what_stays_and_why() {
    let bob = Target::agent("a-b0000000-0000-4000-8000-000000000002");
    let dan = Target::agent(DAN);
    let mut moves = Vec::new();
    for n in 0..6 {
        let to = if n % 2 == 0 { &bob } else { &dan };
        moves.push((format!("s{n}"), to.clone()));
    }
    let confirm = Confirm {
        moves,
        left_out: (0..94)
            .map(|n| {
                (
                    format!("t{n}"),
                    "no AVAILABLE agent has free liveChat capacity".to_string(),
                )
            })
            .collect(),
        chosen: 100,
        ..Confirm::default()
    };
    let name = |t: &Target| if *t == dan { "Dan Agent" } else { "Bob Agent" }.to_string();
    assert_eq!(
        confirm.headline(name),
        "Move 6 of 100 marked: 3 → Bob Agent, 3 → Dan Agent · 94 stay (no AVAILABLE agent has free liveChat capacity)"
    );
    let one = Confirm {
        moves: vec![("s1".into(), dan.clone())],
        ..Confirm::default()
    };
    assert_eq!(one.headline(name), format!("Move 1 session to {dan}?"));
}

#[test]
fn a_session_already_there_is_left_out_and_taking_chats_from_an_available_agent_asks_twice() {
    let mut app = triage_app();
    // Everything in Billing: Chen's one, Erin's three, three waiting there.
    chars(&mut app, "/queue:billing");
    key(&mut app, KeyCode::Enter);
    chars(&mut app, "*");
    assert_eq!(app.marked(), 7);
    command(&mut app, &format!("assign queue {QUEUE}"));
    let c = confirm_of(&app);
    assert_eq!(c.moves.len(), 4);
    assert_eq!(c.already_there.len(), 3, "the three waiting in Billing");
    assert_eq!(c.taken_from, vec![("Erin Agent".to_string(), 3)]);
    let text = confirm_text(&app);
    assert!(
        text[0].starts_with("Move 4 of 7 marked: 4 → Billing · 3 stay (already there)"),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|l| l == "  now: 1 with Chen Wei, 3 with Erin Agent"),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|l| l.contains("3 of these are with Erin Agent, who is AVAILABLE")),
        "{text:#?}"
    );
    assert!(
        text.iter().any(|l| l.contains("already there")),
        "listed: {text:#?}"
    );
    assert!(key(&mut app, KeyCode::Char('y')).is_empty(), "a second y");
    let effects = key(&mut app, KeyCode::Char('y'));
    let [Effect::Send { moves, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(moves.len(), 4, "the three already there are never sent");
    assert!(
        moves.iter().all(|m| m.session != format!("5e55{:020}", 10)),
        "{moves:?}"
    );

    // Every chosen session already there: nothing to send.
    command(&mut app, "select queue technical support");
    command(&mut app, &format!("assign queue {TECH}"));
    let text = confirm_text(&app);
    assert_eq!(text[0], "Nothing to send: already there", "{text:#?}");
    assert!(
        !text.iter().any(|l| l.contains("request")),
        "nothing to pace: {text:#?}"
    );
    assert!(key(&mut app, KeyCode::Char('y')).is_empty());
    assert!(status_text(&app).contains("already there"));
}

#[test]
fn a_plan_checked_for_drift_does_not_warn_transferred_before_and_says_what_the_read_found() {
    let s: Vec<String> = (1..=2)
        .map(|n| format!("6538f8a3c9cf425ee5cf000{n}"))
        .collect();
    let ids: Vec<&str> = s.iter().map(String::as_str).collect();
    let mut app = App::new(context(), KeyMap::defaults());
    app.live.enabled = true;
    let now = Instant::now();
    let mut center = plan_center(&ids);
    center.queues.push(LiveQueue {
        id: TECH.into(),
        name: "Technical support".into(),
        ..center.queues[0].clone()
    });
    live(&mut app, now, Ok(center.clone()));
    // Both were moved before (a revert sends them back where they were).
    for id in &ids {
        settled_to(
            &mut app,
            id,
            Target::queue(QUEUE),
            Outcome::Transferred,
            now,
        );
    }
    let mut plan = switchboard::plan::Plan::new("revert", "prod", "https://platform.kore.ai");
    let planner = switchboard::plan::Planner::new(app.snapshot.as_deref().unwrap());
    for id in &ids {
        planner.add(&mut plan, id, Target::queue(TECH));
    }
    update(
        &mut app,
        Msg::PlanRead {
            source: "revert of run r1".into(),
            result: Ok(plan),
        },
    );
    assert!(status_text(&app).contains("reading the live data"));
    live(&mut app, now + Duration::from_secs(1), Ok(center));
    let c = confirm_of(&app);
    assert_eq!(c.moves.len(), 2);
    assert!(c.drift_checked);
    assert!(
        c.already_moved.is_empty() && !c.warned(),
        "passed the drift check: no warning {c:?}"
    );
    assert_eq!(
        status_text(&app),
        "revert of run r1: read the live data: nothing drifted"
    );
    assert_eq!(key(&mut app, KeyCode::Char('y')).len(), 1, "one y sends");
}

#[test]
fn marks_clear_after_plan_save_and_after_a_spread_agent_marks_too() {
    let mut app = triage_app();
    command(&mut app, "select queue technical support");
    command(&mut app, &format!("assign queue {QUEUE}"));
    chars(&mut app, ":plan save ~/p.json");
    let effects = key(&mut app, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::SavePlan { .. }]));
    assert_eq!(app.marked(), 0, "saved: the marks were for it");
    chars(&mut app, "'");
    assert_eq!(app.marked(), 4, "' brings them back");

    // A spread over two marked agents, sent: the agents' marks go too.
    chars(&mut app, "2");
    chars(&mut app, "jj ");
    key(&mut app, KeyCode::Char('k'));
    chars(&mut app, " ");
    assert_eq!(app.agents.marked(), 2);
    key(&mut app, KeyCode::Char('k'));
    key(&mut app, KeyCode::Enter);
    let c = confirm_of(&app);
    assert!(!c.moves.is_empty(), "{c:?}");
    key(&mut app, KeyCode::Char('y'));
    if matches!(app.mode, Mode::Confirm(_)) {
        key(&mut app, KeyCode::Char('y'));
    }
    assert_eq!(app.marked(), 0);
    assert_eq!(
        app.agents.marked(),
        0,
        "the next Enter does not spread again"
    );
}

#[test]
fn the_header_counts_sending_and_queued_apart_and_a_single_request_has_no_eta() {
    let mut app = triage_app();
    command(&mut app, "select queue technical support");
    command(&mut app, &format!("assign queue {QUEUE}"));
    let text = confirm_text(&app);
    assert!(
        text.iter().any(|l| l.contains("4 requests · at 60/min")),
        "{text:#?}"
    );
    key(&mut app, KeyCode::Char('y'));
    let first = format!("5e55{:020}", 6);
    update(
        &mut app,
        Msg::Progress {
            at: AT.into(),
            now: Instant::now(),
            progress: Progress::Attempting {
                session: first,
                target: Target::queue(QUEUE),
                attempt: 1,
            },
        },
    );
    assert_eq!((app.in_flight(), app.sending()), (4, 1));
    let text = screen(&app, 200, 40);
    assert!(text.contains("1 sending · 3 queued"), "{text}");

    let mut app = triage_app();
    chars(&mut app, "j");
    command(&mut app, &format!("assign queue {TECH}"));
    let text = confirm_text(&app);
    assert!(
        text.iter()
            .any(|l| l.contains("1 request · at 60/min the pacer sends at once")),
        "{text:#?}"
    );
    assert!(!text.iter().any(|l| l.contains("0:00")), "{text:#?}");
}

// ---- triage by what Kore sends ----

#[test]
fn s_cycles_the_sessions_order_and_the_cursor_stays_on_its_session() {
    let mut app = triage_app();
    let id = |n: u32| format!("5e55{n:020}");
    let first = |app: &App| {
        app.sessions.rows()[app.sessions.visible()[0]]
            .row
            .id
            .clone()
    };
    // On session 3.
    chars(&mut app, "jj");
    let on = |app: &App| app.sessions.selected_row().unwrap().row.id.clone();
    assert_eq!(on(&app), id(3));

    chars(&mut app, "s");
    assert_eq!(first(&app), id(9), "longest waiting first: 9 minutes");
    assert_eq!(on(&app), id(3), "the cursor stays on its session");
    assert!(screen(&app, 200, 40).contains("longest waiting first"));
    chars(&mut app, "s");
    assert_eq!(first(&app), id(9), "highest priority first: 9");
    let priorities: Vec<String> = app
        .sessions
        .visible()
        .iter()
        .map(|&i| app.sessions.rows()[i].triage().priority.clone().unwrap())
        .collect();
    assert_eq!(priorities[..3], ["9", "8", "7"]);
    chars(&mut app, "s");
    assert_eq!(first(&app), id(4), "most negative first: angry 3");
    assert!(screen(&app, 200, 40).contains("most negative first"));
    chars(&mut app, "s");
    assert_eq!(first(&app), id(1), "as loaded again");
    assert_eq!(on(&app), id(3));

    // An order holds through a refresh and under a filter.
    chars(&mut app, "s");
    live(&mut app, Instant::now(), Ok(triage_center()));
    assert_eq!(first(&app), id(9));
    chars(&mut app, "/queue:billing");
    key(&mut app, KeyCode::Enter);
    let waits: Vec<Duration> = app
        .sessions
        .visible()
        .iter()
        .map(|&i| app.sessions.rows()[i].wait().unwrap())
        .collect();
    assert!(waits.windows(2).all(|w| w[0] >= w[1]), "{waits:?}");

    // The triage columns show on a wide terminal, and in the detail.
    let wide = screen(&app, 240, 40);
    for header in ["prio", "sentiment", "intent", "lang"] {
        assert!(sessions_header(&wide).contains(header), "{header}: {wide}");
    }
    let detail = view::session_detail(&app, &id(4));
    assert!(detail.iter().any(|l| l.contains("angry 3")), "{detail:?}");
    assert!(
        detail.iter().any(|l| l.contains("TalkToAgent")),
        "{detail:?}"
    );
}

#[test]
fn columns_stay_put_when_answers_callbacks_and_verifications_arrive() {
    use switchboard::verify::{Verification, Verified};
    let mut app = triage_app();
    let id = format!("5e55{:020}", 6);
    let headers = |app: &App| {
        [(240, 40), (160, 45), (100, 30), (80, 24)]
            .map(|(w, h)| sessions_header(&screen(app, w, h)))
    };
    let before = headers(&app);
    let hundred = &before[2];
    for column in ["queue", "agent", "outcome", "callback", "server"] {
        assert!(
            hundred.contains(column),
            "{column} at 100 columns: {hundred}"
        );
    }
    assert!(before[0].contains("sentiment"), "{}", before[0]);
    settled_to(
        &mut app,
        &id,
        Target::agent(DAN),
        Outcome::Transferred,
        Instant::now(),
    );
    update(
        &mut app,
        Msg::Callback {
            at: AT.into(),
            event: callback(&id, "transferred"),
        },
    );
    update(
        &mut app,
        Msg::Verified {
            at: AT.into(),
            now: Instant::now(),
            results: vec![(
                id.clone(),
                Verification {
                    verified: Verified::Verified,
                    detail: "with Dan Agent".into(),
                    seen: None,
                },
            )],
        },
    );
    assert_eq!(headers(&app), before, "nothing appears or disappears");
    // At 80x24 Sessions shows at least 8 rows.
    let small = screen(&app, 80, 24);
    let rows = small
        .lines()
        .skip(3)
        .take_while(|l| !l.starts_with('└'))
        .filter(|l| l.contains("5e55") || l.contains("…"))
        .count();
    assert!(rows >= 8, "{small}");
}

#[test]
fn help_wraps_and_lists_every_command() {
    let mut app = app();
    chars(&mut app, "?");
    let help: Vec<String> = help_lines(&app).iter().map(|l| l.to_string()).collect();
    for (usage, _) in switchboard::console::app::COMMANDS {
        assert!(
            help.iter().any(|l| l.contains(&format!(":{usage}"))),
            "{usage}: {help:#?}"
        );
    }
    let narrow = screen(&app, 60, 40);
    assert!(
        narrow.contains("/home/sup/.config/switchboard/config.toml"),
        "a long line wraps rather than being cut: {narrow}"
    );
}

// ---- the filter never holds a frame ----

fn big_app(rows: usize) -> App {
    let mut app = App::new(context(), KeyMap::defaults());
    app.filter_off_thread = true;
    let customer: std::sync::Arc<str> = "customer".into();
    let rows = (0..rows)
        .map(|i| SessionRow {
            id: format!("6538f8a3c9cf{i:08x}f00d"),
            extra: vec![(customer.clone(), format!("Customer {i} billing"))],
        })
        .collect();
    update(
        &mut app,
        Msg::Loaded {
            source: "big".into(),
            result: Ok(LoadedRows::Sessions(input::Loaded {
                rows,
                warnings: vec![],
            })),
        },
    );
    app
}

fn rankings(effects: Vec<Effect>) -> Vec<(Pane, switchboard::console::table::Ranking)> {
    effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Rank { pane, ranking } => Some((pane, ranking)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_big_panes_filter_is_ranked_off_the_drawing_thread_and_only_the_newest_result_shows() {
    let n = switchboard::console::app::OFF_THREAD_ROWS + 5_000;
    let mut app = big_app(n);
    let mut matcher = nucleo::Matcher::new(nucleo::Config::DEFAULT);
    chars(&mut app, "/");
    let first = rankings(chars(&mut app, "c"));
    assert_eq!(first.len(), 1, "the key hands the ranking out");
    assert_eq!(
        app.sessions.visible().len(),
        n,
        "what was shown stays meanwhile"
    );
    assert!(screen(&app, 160, 45).contains("filtering…"));
    let second = rankings(chars(&mut app, "ustomer 4242 "));
    assert_eq!(second.len(), "ustomer 4242 ".len());
    // The first keystroke's result comes late: it is not shown.
    let (pane, old) = first.into_iter().next().unwrap();
    update(
        &mut app,
        Msg::Ranked {
            pane,
            ranked: old.run(&mut matcher),
        },
    );
    assert_eq!(app.sessions.visible().len(), n);
    assert!(app.sessions.filtering());
    let (pane, newest) = second.into_iter().last().unwrap();
    let effects = update(
        &mut app,
        Msg::Ranked {
            pane,
            ranked: newest.run(&mut matcher),
        },
    );
    assert!(effects.is_empty());
    assert!(!app.sessions.filtering());
    assert_eq!(app.sessions.exact(), 1, "Customer 4242 whole");
    assert_eq!(
        app.sessions.selected_row().unwrap().row.extra[0].1,
        "Customer 4242 billing"
    );
    key(&mut app, KeyCode::Esc);

    // A pasted id is the highlighted row at once, before any ranking is back.
    let id = format!("6538f8a3c9cf{:08x}f00d", 12_345);
    chars(&mut app, "/");
    let pasted = rankings(chars(&mut app, &id));
    assert!(!pasted.is_empty());
    assert!(app.sessions.filtering());
    assert_eq!(app.sessions.selected_row().unwrap().row.id, id);
    key(&mut app, KeyCode::Enter);

    // `*` while a ranking is out takes what the query matches, not what the last frame showed.
    chars(&mut app, "/");
    let out = rankings(chars(&mut app, "billing customer 77"));
    assert!(!out.is_empty());
    key(&mut app, KeyCode::Enter);
    chars(&mut app, "*");
    assert!(!app.sessions.filtering());
    assert_eq!(
        app.marked(),
        111,
        "Customer 77, 770–779 and 7700–7799: 77 whole or as a word's start"
    );

    // Rows that change while a ranking is out: its result asks for another.
    key(&mut app, KeyCode::Char('u'));
    chars(&mut app, "/");
    let out = rankings(chars(&mut app, "x"));
    key(&mut app, KeyCode::Enter);
    chars(&mut app, "n");
    chars(&mut app, "aaaaaaaaaaaaaaaaaaaa0001");
    key(&mut app, KeyCode::Enter);
    let (pane, stale) = out.into_iter().last().unwrap();
    let again = rankings(update(
        &mut app,
        Msg::Ranked {
            pane,
            ranked: stale.run(&mut matcher),
        },
    ));
    assert_eq!(again.len(), 1, "ranked again over the rows as they are");
    assert_eq!(again[0].1.len(), n + 1);
}

/// What other runs hold shapes the confirmation: a session another run is moving now is left out
/// with who moves it; one moved a moment ago asks for the second `y`, and only that session is
/// insisted on.
#[test]
fn a_claimed_session_is_left_out_and_a_recently_moved_one_takes_a_second_y() {
    let mut app = app();
    let (claimed, marked) = (session_id(&app, 0), session_id(&app, 1));
    let claim = |session: &str, moved: Option<u64>| switchboard::claims::Claim {
        session: session.into(),
        run: "r-other".into(),
        who: "bob@laptop2".into(),
        pid: 1,
        machine: "laptop2".into(),
        since: 1_000,
        moved,
    };
    update(
        &mut app,
        Msg::Claims {
            claims: vec![claim(&claimed, None), claim(&marked, Some(1_000))],
            now_ms: 41_000,
        },
    );
    confirm_two_to_queue(&mut app);
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(c.moves, vec![(marked.clone(), Target::queue(QUEUE))]);
    assert_eq!(
        c.left_out,
        vec![(
            claimed.clone(),
            "claimed by run r-other (bob@laptop2)".into()
        )]
    );
    assert_eq!(
        c.recently_moved,
        vec![(
            marked.clone(),
            "moved by run r-other 40s ago (bob@laptop2)".into()
        )]
    );
    let text = confirm_text(&app).join("\n");
    assert!(text.contains("moved by run r-other 40s ago"), "{text}");
    assert!(
        key(&mut app, KeyCode::Char('y')).is_empty(),
        "the first y warns"
    );
    assert!(confirm_text(&app).join("\n").contains("Press y once more"));
    assert_eq!(
        key(&mut app, KeyCode::Char('y')),
        vec![Effect::Send {
            moves: vec![Move::new(marked.clone(), Target::queue(QUEUE)).named("Billing")],
            insist: Insist::Only([marked].into_iter().collect()),
            undoes: None
        }]
    );
}

/// A `y` more than 10 s after the confirmation opened reads the live data again first: a session
/// that moved meanwhile is held back and said, the rest is sent.
#[test]
fn a_slow_y_reads_again_and_holds_back_what_moved_meanwhile() {
    let mut app = App::new(context(), KeyMap::defaults());
    app.live.enabled = true;
    let t0 = Instant::now();
    let tick = |app: &mut App, now: Instant| {
        update(
            app,
            Msg::Tick {
                now,
                pacer: PacerStatus::default(),
            },
        )
    };
    let (s1, s2) = ("bbbbbbbbbbbbbbbbbbbb0001", "bbbbbbbbbbbbbbbbbbbb0002");
    let mut data = snapshot(vec![conversation(s1, None), conversation(s2, None)]);
    data.queues.push(LiveQueue {
        id: "qu-d7f5dd6-c3ce-4ecc-9b08-77c7cde50003".into(),
        name: "Retention".into(),
        waiting: Some(0),
        engaged: Some(0),
        avg_wait: None,
        max_wait: None,
        ..LiveQueue::default()
    });
    tick(&mut app, t0);
    live(&mut app, t0, Ok(data.clone()));
    chars(&mut app, "  3j");
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Confirm(_)), "{:?}", app.status);
    // The supervisor reads for 11 s; meanwhile s1 is picked up by Alice.
    tick(&mut app, t0 + Duration::from_secs(11));
    assert_eq!(
        key(&mut app, KeyCode::Char('y')),
        vec![Effect::Refresh],
        "nothing leaves before a fresh read"
    );
    assert_eq!(app.in_flight(), 0);
    data.conversations[0] = conversation(s1, Some("Alice Moreau"));
    // A read that left before the `y` is not fresh enough.
    live(&mut app, t0 + Duration::from_secs(5), Ok(data.clone()));
    let effects = update(
        &mut app,
        Msg::Live {
            at: AT.into(),
            asked: t0 + Duration::from_secs(11),
            now: t0 + Duration::from_secs(12),
            result: Ok(data),
        },
    );
    assert_eq!(
        effects,
        vec![Effect::Send {
            moves: vec![Move {
                session: s2.into(),
                target: Target::queue("qu-d7f5dd6-c3ce-4ecc-9b08-77c7cde50003"),
                from: Some(switchboard::dispatch::Origin {
                    queue: Some(QUEUE.into()),
                    queue_name: Some("Billing".into()),
                    ..Default::default()
                }),
                target_name: Some("Retention".into()),
            }],
            insist: Insist::None,
            undoes: None
        }]
    );
    let status = &app.status.as_ref().unwrap().text;
    assert!(
        app.activity
            .rows()
            .iter()
            .any(|e| format!("{e:?}")
                .contains("held back 1 that moved while the confirmation waited")),
        "{status}"
    );
}

/// Another supervisor's move shows at once: in Activity under their name, and on its row; a
/// session another run is moving now says who.
#[test]
fn another_supervisors_move_shows_in_activity_and_on_the_row() {
    let mut app = app();
    let (moved, claimed) = (session_id(&app, 0), session_id(&app, 1));
    update(
        &mut app,
        Msg::Shared {
            at: AT.into(),
            now: Instant::now(),
            event: switchboard::picture::SharedEvent {
                event: "outcome".into(),
                at: AT.into(),
                who: "bob@laptop2".into(),
                process: "p-bob".into(),
                run: Some("r-bob".into()),
                session: Some(moved.clone()),
                target: Some(Target::queue(QUEUE)),
                outcome: Some("transferred".into()),
                http_status: Some(200),
                status: None,
                accepted: None,
                verified: None,
                priority: None,
                was: None,
            },
        },
    );
    update(
        &mut app,
        Msg::Claims {
            claims: vec![switchboard::claims::Claim {
                session: claimed.clone(),
                run: "r-bob".into(),
                who: "bob@laptop2".into(),
                pid: 1,
                machine: "laptop2".into(),
                since: 1_000,
                moved: None,
            }],
            now_ms: 2_000,
        },
    );
    let text = screen(&app, 200, 50);
    assert!(
        text.contains(&format!("bob@laptop2 {moved} → queue {QUEUE}: transferred")),
        "{text}"
    );
    // The outcome column is cut from the start when the words are long: who stays.
    assert!(
        text.lines()
            .any(|l| l.contains(&claimed) && l.contains(": bob@laptop2")),
        "{text}"
    );
    assert_eq!(
        app.sessions
            .by_id(&moved)
            .unwrap()
            .spot()
            .queue_id
            .as_deref(),
        Some(QUEUE),
        "the row takes the move at once"
    );
}

/// The console's targets are healthy ones: a move to an inactive queue is left out with why; one to
/// a queue nobody AVAILABLE serves takes a second `y`; the Queues pane shows who is available.
#[test]
fn an_inactive_queue_is_left_out_and_one_nobody_serves_asks_twice() {
    let mut app = App::new(context(), KeyMap::defaults());
    app.live.enabled = true;
    let t0 = Instant::now();
    let mut data = waiting_elsewhere();
    let nobody = switchboard::live::AgentCounts {
        busy: 1,
        away: 1,
        ..Default::default()
    };
    data.queues[0].agent_status = Some(nobody);
    data.queues.push(LiveQueue {
        id: "qu-d7f5dd6-c3ce-4ecc-9b08-77c7cde50003".into(),
        name: "Escalations".into(),
        active: Some(false),
        ..LiveQueue::default()
    });
    live(&mut app, t0, Ok(data));
    let text = screen(&app, 160, 45);
    assert!(text.contains("avail"), "{text}");
    // To the inactive queue (the second): left out, with why.
    chars(&mut app, " 3j");
    key(&mut app, KeyCode::Enter);
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?} {:?}", app.mode, app.status)
    };
    assert!(c.moves.is_empty());
    assert!(
        c.left_out[0].1.contains("queue Escalations is not active"),
        "{:?}",
        c.left_out
    );
    key(&mut app, KeyCode::Esc);
    // To Billing, whose agents are BUSY and AWAY: warned, a second y.
    chars(&mut app, "k");
    key(&mut app, KeyCode::Enter);
    first_y_warns(
        &mut app,
        "Billing",
        "has nobody AVAILABLE serving it (1 BUSY, 1 AWAY)",
    );
}

/// Live data with one session waiting in another queue (Payments), so that Billing is somewhere
/// to go.
fn waiting_elsewhere() -> LiveSnapshot {
    let mut waiting = conversation("bbbbbbbbbbbbbbbbbbbb0001", None);
    waiting.queue_id = Some(TECH.into());
    waiting.queue_name = Some("Payments".into());
    snapshot(vec![waiting])
}

/// The open confirmation warns that `target` `why`, and its first `y` sends nothing.
fn first_y_warns(app: &mut App, target: &str, why: &str) {
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?} {:?}", app.mode, app.status)
    };
    assert_eq!(c.unfit_target, Some((target.to_string(), why.to_string())));
    assert!(key(app, KeyCode::Char('y')).is_empty(), "the first y warns");
}

/// Hours of Operation in the console: read once live data names the queues (and not again within
/// ten minutes); a queue closed now shows `open no` in the Queues pane and a move there is warned,
/// with when it opens, and takes a second `y`. A queue whose hours could not be read shows `?`.
#[test]
fn a_queue_closed_now_shows_closed_and_a_move_there_asks_twice() {
    let mut app = App::new(context(), KeyMap::defaults());
    app.live.enabled = true;
    let t0 = Instant::now();
    let mut data = waiting_elsewhere();
    data.queues.push(LiveQueue {
        id: TECH.into(),
        name: "Payments".into(),
        ..LiveQueue::default()
    });
    live(&mut app, t0, Ok(data));
    let tick = |app: &mut App, at: Duration| {
        update(
            app,
            Msg::Tick {
                now: t0 + at,
                pacer: PacerStatus::default(),
            },
        )
    };
    let effects = tick(&mut app, Duration::from_millis(250));
    let Some(Effect::ReadHours { queues }) = effects
        .iter()
        .find(|e| matches!(e, Effect::ReadHours { .. }))
    else {
        panic!("{effects:?}")
    };
    assert_eq!(queues.len(), 2, "{queues:?}");
    // A week with no open day: closed whatever the clock says.
    let closed = switchboard::hours::parse(
        br#"{"name":"Closed","timezone":"UTC","standardDays":{"days":[]},"specialDays":{}}"#,
    )
    .unwrap();
    update(
        &mut app,
        Msg::Hours {
            now: t0,
            wall: jiff::Timestamp::now(),
            read: vec![
                (QUEUE.into(), Ok(closed)),
                (queues[1].clone(), Err("403 Forbidden".into())),
            ],
        },
    );
    let again = tick(&mut app, Duration::from_secs(60));
    assert!(
        !again.iter().any(|e| matches!(e, Effect::ReadHours { .. })),
        "{again:?}"
    );
    let text = screen(&app, 160, 45);
    assert!(
        text.lines()
            .any(|l| l.contains("Billing") && l.ends_with(" no  │")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("Payments") && l.ends_with(" ?   │")),
        "{text}"
    );
    chars(&mut app, " 3");
    key(&mut app, KeyCode::Enter);
    first_y_warns(
        &mut app,
        "Billing",
        "is closed now; its hours open no day of the week",
    );
    assert!(
        matches!(
            key(&mut app, KeyCode::Char('y')).as_slice(),
            [Effect::Send { .. }]
        ),
        "the second y sends"
    );
}

/// The console says what needs a supervisor, on one line under the header: an agent OFFLINE holding
/// chats, a queue with sessions waiting and nobody AVAILABLE, conversations OVERDUE. `!` lists them,
/// Enter acts on one, `z` snoozes it.
#[test]
fn alerts_say_what_needs_a_supervisor_and_act_or_snooze() {
    let mut app = App::new(context(), KeyMap::defaults());
    app.live.enabled = true;
    let t0 = Instant::now();
    update(
        &mut app,
        Msg::Tick {
            now: t0,
            pacer: PacerStatus::default(),
        },
    );
    let mut data = snapshot(vec![
        conversation("bbbbbbbbbbbbbbbbbbbb0001", Some("Alice Moreau")),
        conversation("bbbbbbbbbbbbbbbbbbbb0002", Some("Alice Moreau")),
        conversation("bbbbbbbbbbbbbbbbbbbb0003", None),
    ]);
    data.agents[0].availability = Some(Availability::Offline);
    data.queues[0].agent_status = Some(switchboard::live::AgentCounts {
        busy: 2,
        ..Default::default()
    });
    live(&mut app, t0, Ok(data));
    let listed = switchboard::console::app::alerts::alerts(&app);
    let lines: Vec<String> = listed.iter().map(|a| a.line()).collect();
    assert_eq!(
        lines,
        vec![
            "Billing has nobody AVAILABLE and 9 waiting — :select queue Billing".to_string(),
            "Alice Moreau went OFFLINE holding 2 chats — :select agent Alice Moreau".to_string(),
        ],
        "the most first, each command naming what it acts on as a supervisor would"
    );
    let text = screen(&app, 160, 45);
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .contains("Billing has nobody AVAILABLE and 9 waiting")
            && text
                .lines()
                .nth(1)
                .unwrap()
                .contains("1 more: ! lists them"),
        "the line under the header: {text}"
    );
    // On a narrow terminal the key that lists them comes first, so the cut keeps it.
    let narrow = screen(&app, 80, 24);
    assert!(
        narrow
            .lines()
            .nth(1)
            .unwrap()
            .starts_with(" ⚠ 1 more: ! lists them · Billing"),
        "{narrow}"
    );
    // `!` lists them; Enter on the second marks Alice's chats.
    chars(&mut app, "!j");
    assert!(matches!(app.mode, Mode::Alerts { selected: 1 }));
    key(&mut app, KeyCode::Enter);
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .text
            .contains("marked 2 session(s)"),
        "{:?}",
        app.status
    );
    // `z` snoozes the queue's alert for 15 minutes; it comes back after.
    chars(&mut app, "!");
    chars(&mut app, "z");
    assert_eq!(switchboard::console::app::alerts::alerts(&app).len(), 1);
    update(
        &mut app,
        Msg::Tick {
            now: t0 + Duration::from_secs(16 * 60),
            pacer: PacerStatus::default(),
        },
    );
    assert_eq!(switchboard::console::app::alerts::alerts(&app).len(), 2);
}

/// `:queue priority QUEUE N` in the console: the queue by name; the value it replaces read (off the
/// keyboard's path) before the confirmation opens; only `y` sends; what came of it is in Activity;
/// a queue left raised for 30 minutes is an alert offering to lower it back. A revert's plan of
/// priorities goes to the same confirmation. `:assign` takes names too.
#[test]
fn a_queue_priority_is_confirmed_with_y_and_a_raised_queue_becomes_an_alert() {
    use switchboard::priority::{Change, Outcome as Set};
    let mut app = App::new(context(), KeyMap::defaults());
    app.live.enabled = true;
    let t0 = Instant::now();
    live(
        &mut app,
        t0,
        Ok(snapshot(vec![conversation(
            "bbbbbbbbbbbbbbbbbbbb0001",
            None,
        )])),
    );
    chars(&mut app, ":queue priority nowhere 8");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    let status = app.status.clone().unwrap();
    assert!(
        status.level == Level::Error && status.text.contains("QUEUE: nothing is called"),
        "{status:?}"
    );
    chars(&mut app, ":queue priority billing 11");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(app.status.clone().unwrap().text.contains("N: priority"));
    chars(&mut app, ":queue priority billing 8");
    let asked = key(&mut app, KeyCode::Enter);
    let wanted = Change {
        queue: QUEUE.into(),
        queue_name: Some("Billing".into()),
        priority: 8,
        was: None,
    };
    assert_eq!(
        asked,
        vec![Effect::PreparePriority {
            changes: vec![wanted.clone()]
        }]
    );
    // The audit log said switchboard last set it to 3.
    let change = Change {
        was: Some(3),
        ..wanted
    };
    update(
        &mut app,
        Msg::PriorityReady {
            changes: vec![change.clone()],
            lines: vec![
                "Set the priority of Billing (qu-…): 3 → 8".into(),
                "  PUT https://platform.kore.ai/…/queues/dynamicqueues/priorities".into(),
                switchboard::priority::TAKES_EFFECT.into(),
            ],
        },
    );
    let text = screen(&app, 160, 45);
    assert!(
        text.contains("Change a queue's priority?") && text.contains("Dynamic Queue"),
        "{text}"
    );
    assert!(
        key(&mut app, KeyCode::Enter).is_empty(),
        "Enter sends nothing"
    );
    assert!(matches!(app.mode, Mode::ConfirmPriority(_)));
    assert_eq!(
        key(&mut app, KeyCode::Char('y')),
        vec![Effect::SetPriority {
            changes: vec![change.clone()]
        }]
    );
    update(
        &mut app,
        Msg::PrioritySet {
            at: AT.into(),
            now: t0,
            run: "r-prio".into(),
            changes: vec![change.clone()],
            result: Ok(vec![Set::Set]),
        },
    );
    assert_eq!(
        app.last_run.as_deref(),
        Some("r-prio"),
        ":revert last undoes it"
    );
    assert!(
        app.activity
            .rows()
            .iter()
            .any(|e| e.summary().contains("Billing 3 → 8: set")),
        "in Activity"
    );
    let tick = |app: &mut App, at: Duration| {
        update(
            app,
            Msg::Tick {
                now: t0 + at,
                pacer: PacerStatus::default(),
            },
        )
    };
    tick(&mut app, Duration::from_secs(29 * 60));
    let raised = |app: &App| {
        switchboard::console::app::alerts::alerts(app)
            .into_iter()
            .find(|a| a.key.starts_with("priority"))
    };
    assert_eq!(raised(&app), None, "not yet");
    tick(&mut app, Duration::from_secs(30 * 60));
    let alert = raised(&app).expect("raised for 30 minutes");
    assert_eq!(
        alert.line(),
        "Billing raised to 8 for 30m00s — :queue priority Billing 3"
    );
    // Lowered back: the alert goes.
    update(
        &mut app,
        Msg::PrioritySet {
            at: AT.into(),
            now: t0 + Duration::from_secs(31 * 60),
            run: "r-back".into(),
            changes: vec![change.undo().unwrap()],
            result: Ok(vec![Set::Set]),
        },
    );
    assert_eq!(raised(&app), None);

    // A revert's plan of priorities: to the priority confirmation, not the moves'.
    let mut plan =
        switchboard::plan::Plan::new("revert of run r-prio", "prod", "https://platform.kore.ai");
    plan.priorities.push(change.undo().unwrap());
    assert_eq!(
        update(
            &mut app,
            Msg::PlanRead {
                source: "revert of run r-prio".into(),
                result: Ok(plan),
            },
        ),
        vec![Effect::PreparePriority {
            changes: vec![change.undo().unwrap()]
        }]
    );

    // :assign by name.
    chars(&mut app, " :assign queue billing");
    key(&mut app, KeyCode::Enter);
    let Mode::Confirm(c) = &app.mode else {
        panic!("{:?} {:?}", app.mode, app.status)
    };
    // The session waits in Billing already: the name found the queue it is in.
    assert!(c.already_there.iter().any(|(_, t)| t.id == QUEUE), "{c:?}");
    key(&mut app, KeyCode::Esc);
    chars(&mut app, ":assign agent nobody");
    key(&mut app, KeyCode::Enter);
    assert!(
        app.status
            .clone()
            .unwrap()
            .text
            .contains("assign agent: nothing is called"),
        "{:?}",
        app.status
    );
}

/// A queue raised before this console started (on record in this machine's audit log) or by
/// another supervisor (from the shared stream) is watched too: its alert counts from the raise.
#[test]
fn a_queue_raised_before_the_console_or_by_another_supervisor_becomes_an_alert() {
    use switchboard::priority::Change;
    let mut app = App::new(context(), KeyMap::defaults());
    let t0 = Instant::now() + Duration::from_secs(3600);
    live(&mut app, t0, Ok(snapshot(vec![])));
    let raised_alerts = |app: &App| -> Vec<String> {
        switchboard::console::app::alerts::alerts(app)
            .into_iter()
            .filter(|a| a.key.starts_with("priority"))
            .map(|a| a.line())
            .collect()
    };
    update(
        &mut app,
        Msg::RaisedOnRecord {
            raised: vec![(
                Change {
                    queue: QUEUE.into(),
                    queue_name: Some("Billing".into()),
                    priority: 9,
                    was: Some(4),
                },
                t0 - Duration::from_secs(31 * 60),
            )],
        },
    );
    update(
        &mut app,
        Msg::Shared {
            at: AT.into(),
            now: t0,
            event: switchboard::picture::SharedEvent {
                event: "queue_priority".into(),
                at: AT.into(),
                who: "bob@laptop2".into(),
                process: "p-bob".into(),
                run: Some("r-bob".into()),
                session: None,
                target: Some(Target::queue(TECH)),
                outcome: Some("set".into()),
                http_status: None,
                status: None,
                accepted: None,
                verified: None,
                priority: Some(7),
                was: None,
            },
        },
    );
    update(
        &mut app,
        Msg::Tick {
            now: t0,
            pacer: PacerStatus::default(),
        },
    );
    assert_eq!(
        raised_alerts(&app),
        vec!["Billing raised to 9 for 31m00s — :queue priority Billing 4".to_string()],
        "on record from before the console"
    );
    update(
        &mut app,
        Msg::Tick {
            now: t0 + Duration::from_secs(30 * 60),
            pacer: PacerStatus::default(),
        },
    );
    assert_eq!(raised_alerts(&app).len(), 2, "and the other supervisor's");
}

/// A read-only console never sends a priority change.
#[test]
fn a_read_only_console_sends_no_priority_change() {
    let mut ctx = context();
    ctx.read_only = Some("read-only (flag --read-only)".into());
    let mut app = App::new(ctx, KeyMap::defaults());
    live(&mut app, Instant::now(), Ok(snapshot(vec![])));
    chars(&mut app, ":queue priority billing 8");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    update(
        &mut app,
        Msg::PriorityReady {
            changes: vec![switchboard::priority::Change {
                queue: QUEUE.into(),
                queue_name: None,
                priority: 8,
                was: None,
            }],
            lines: vec![],
        },
    );
    assert!(key(&mut app, KeyCode::Char('y')).is_empty());
}

/// `t` in a session's detail reads its last messages on demand (one read at a time); a missing
/// Chat History scope is said in the detail, not as an error on the status line.
#[test]
fn t_in_a_sessions_detail_reads_its_last_messages_and_a_missing_scope_stays_in_the_detail() {
    use switchboard::history::{Author, Message};
    let mut app = App::new(context(), KeyMap::defaults());
    let session = "bbbbbbbbbbbbbbbbbbbb0001";
    live(
        &mut app,
        Instant::now(),
        Ok(snapshot(vec![conversation(session, None)])),
    );
    key(&mut app, KeyCode::Enter);
    assert!(matches!(&app.mode, Mode::Detail { of: DetailOf::Session(id), .. } if id == session));
    assert!(
        view::session_detail(&app, session)
            .iter()
            .any(|l| l.contains("t reads its last messages"))
    );
    assert_eq!(
        key(&mut app, KeyCode::Char('t')),
        vec![Effect::ReadMessages {
            session: session.into()
        }]
    );
    assert!(
        key(&mut app, KeyCode::Char('t')).is_empty(),
        "one read at a time"
    );
    let status_before = app.status.clone();
    update(
        &mut app,
        Msg::Messages {
            session: session.into(),
            result: Err("the JWT app lacks the Chat History scope (…): HTTP 401".into()),
        },
    );
    assert_eq!(app.status, status_before, "no error outside the detail");
    assert!(
        view::session_detail(&app, session)
            .iter()
            .any(|l| l.contains("not read: the JWT app lacks the Chat History scope"))
    );
    assert!(matches!(app.mode, Mode::Detail { .. }));
    key(&mut app, KeyCode::Char('t'));
    update(
        &mut app,
        Msg::Messages {
            session: session.into(),
            result: Ok(vec![
                Message {
                    at: Some("2026-11-27T02:58:00Z".into()),
                    author: Author::Customer,
                    text: "my card \\u{1b} was charged twice".into(),
                },
                Message {
                    at: Some("2026-11-27T02:58:05Z".into()),
                    author: Author::Bot,
                    text: "Connecting you to Billing.".into(),
                },
            ]),
        },
    );
    let detail = view::session_detail(&app, session);
    let at = detail
        .iter()
        .position(|l| l.starts_with("conversation (its last 2"))
        .expect("the messages");
    assert_eq!(
        detail[at + 1],
        "  02:58:00  customer  my card \\u{1b} was charged twice"
    );
    assert_eq!(
        detail[at + 2],
        "  02:58:05  bot       Connecting you to Billing."
    );
}
