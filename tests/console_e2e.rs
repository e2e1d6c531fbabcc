//! The real binary in a real terminal: `switchboard --demo` in tmux against its stand-in, driven with
//! keys, waiting for text on screen rather than sleeping.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// One tmux server of its own per test, killed when the test ends.
struct Tmux {
    socket: String,
    _home: tempfile::TempDir,
}

impl Tmux {
    fn start(test: &str, args: &str) -> Tmux {
        Tmux::start_sized(test, args, 120, 35)
    }

    fn start_sized(test: &str, args: &str, width: u16, height: u16) -> Tmux {
        Tmux::start_in(tempfile::tempdir().unwrap(), test, args, width, height)
    }

    /// In a home made ready beforehand (a config file, a plan).
    fn start_in(home: tempfile::TempDir, test: &str, args: &str, width: u16, height: u16) -> Tmux {
        let (width, height) = (width.to_string(), height.to_string());
        let socket = format!("sb-{test}-{}", std::process::id());
        let h = home.path().display();
        // The shell line prints how the console ended, so a test can see the terminal come back.
        let command = format!(
            "env -u TMUX HOME={h} XDG_CONFIG_HOME={h}/config XDG_DATA_HOME={h}/data TMPDIR={h} NO_COLOR=1 {BIN} {args} --audit-log {h}/audit.jsonl; echo \"console exited $?\"; sleep 30"
        );
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                &width,
                "-y",
                &height,
                &command,
            ])
            .status()
            .expect("tmux is installed (.ci/run installs it)");
        assert!(status.success());
        Tmux {
            socket,
            _home: home,
        }
    }

    fn home(&self) -> &Path {
        self._home.path()
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "t"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until `ok` holds for the screen, and returns that screen.
    fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_longer(20, what, ok)
    }

    /// `wait_until` for what waits on the pacer's refresh share (a plan checked against fresh
    /// live data): up to a minute.
    fn wait_longer(&self, secs: u64, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited {secs} s for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The console's process: the one child of the pane's shell.
    fn console_pid(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "list-panes",
                "-t",
                "t",
                "-F",
                "#{pane_pid}",
            ])
            .output()
            .unwrap();
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let out = Command::new("pgrep").args(["-P", &shell]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait_until(text, |s| s.contains(text))
    }

    /// Waits until the screen holds every one of `texts` at once. What a test reads from a screen
    /// is waited for, never asserted on the capture that showed something else: a capture can
    /// catch a frame half drawn.
    fn wait_for_all(&self, texts: &[&str]) -> String {
        self.wait_until(&texts.join(" and "), |s| {
            texts.iter().all(|t| s.contains(t))
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn row<'a>(screen: &'a str, session: &str) -> &'a str {
    screen.lines().find(|l| l.contains(session)).unwrap_or("")
}

/// A line with its runs of spaces made one, to read cells whatever the columns' widths.
fn words(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn mark_two_sessions_move_them_to_a_queue_and_watch_them_settle() {
    let t = Tmux::start("move", "--demo");
    t.wait_for("Sessions 44");
    // Space marks and moves down.
    t.keys(&["Space", "Space"]);
    t.wait_for("(2 marked)");
    t.keys(&["3", "Enter"]);
    t.wait_for_all(&[
        "nothing is sent until you press y",
        "Move 2 sessions to queue qu-b5d3bb4",
        "auth: <redacted>",
    ]);
    // A hurried Enter (or three) sends nothing and says what does.
    t.keys(&["Enter", "Enter", "Enter"]);
    t.wait_for("press y to send");
    t.keys(&["y"]);
    let (a, b) = ("6538f8a3c9cf425ee5cf0001", "6538f8a3c9cf425ee5cf0002");
    t.wait_until("both rows transferred with callback ok", |s| {
        [a, b].iter().all(|id| {
            // The marks went with the send.
            // At 120 columns the Sessions pane shows an id's last 8 characters.
            let r = row(s, &format!("[ ] …{}", &id[16..]));
            r.contains("transferred") && r.contains(" ok ")
        })
        // The activity shows each response and each callback.
        && s.contains("← 200 transferred")
        && s.contains("↩ callback")
    });
    let audit = std::fs::read_to_string(t.home().join("audit.jsonl")).unwrap();
    assert_eq!(
        audit
            .lines()
            .filter(|l| l.contains("\"event\":\"attempt\""))
            .count(),
        2,
        "exactly one send each"
    );
    // The run's report, once both are verified: what `audit report` makes of the same log.
    t.wait_until("both verified", |s| s.matches("verified: ").count() >= 2);
    t.keys(&[":"]);
    t.keys(&["-l", "export ~/incident.md"]);
    t.keys(&["Enter"]);
    t.wait_for("exported 1 run(s)");
    let exported = std::fs::read_to_string(t.home().join("incident.md")).unwrap();
    let log = t.home().join("audit.jsonl");
    let cli = std::process::Command::new(BIN)
        .args(["audit", "report", "--log", log.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(exported, String::from_utf8_lossy(&cli.stdout));
    for id in [a, b] {
        assert!(
            exported.lines().any(|l| l.starts_with(&format!("| {id} |"))
                && l.contains("| transferred | 200 |")
                && l.contains("| ok | verified |")),
            "{exported}"
        );
    }
    t.keys(&["q"]);
    t.wait_for("console exited 0");
}

#[test]
fn a_session_the_stand_in_rejects_shows_rejected_with_the_servers_message() {
    let t = Tmux::start("reject", "--demo");
    t.wait_for("Sessions 44");
    t.keys(&["/"]);
    t.keys(&["-l", "0404"]);
    t.wait_for("shown: 1 exact");
    t.keys(&["Enter", "3", "Enter"]);
    t.wait_for("nothing is sent until you press y");
    t.keys(&["y"]);
    // At 120 columns the Sessions pane keeps its vital columns and has no room for the message;
    // the activity has all of it, and the session's detail (Enter) too.
    t.wait_until("the rejected row and the server's message", |s| {
        let farah = words(row(s, "[ ] …c7910404"));
        farah.contains("Farah Khan")
            && farah.contains(" rejected -")
            && row(s, "← 404 rejected").contains("Session not found or already closed")
    });
    // Ctrl-C always quits, and the terminal comes back.
    t.keys(&["C-c"]);
    // The console's screen is gone.
    t.wait_until("the shell's screen back", |s| {
        s.contains("console exited 1") && !s.contains("shown: 1 exact")
    });
}

#[test]
fn escape_in_the_confirmation_sends_nothing() {
    let t = Tmux::start("cancel", "--demo");
    t.wait_for("Sessions 44");
    t.keys(&["3", "Enter"]);
    t.wait_for("nothing is sent until you press y");
    t.keys(&["Escape"]);
    t.wait_for("cancelled: nothing was sent");
    t.keys(&["4", "?"]);
    t.wait_for_all(&["log file", "audit log"]);
    // Esc and a key sent together read as Alt-key, as in any terminal: wait between them.
    t.keys(&["Escape"]);
    t.wait_until("the help to close", |s| !s.contains("log file"));
    t.keys(&["q"]);
    t.wait_for("console exited 0");
    let audit = std::fs::read_to_string(t.home().join("audit.jsonl")).unwrap_or_default();
    assert!(
        !audit.contains("\"event\":\"attempt\""),
        "nothing was sent:\n{audit}"
    );
}

#[test]
fn the_demo_shows_live_data_from_the_stand_ins_center() {
    let t = Tmux::start("live", "--demo");
    // Eight reads at 60 a minute: the first refresh takes about eight seconds.
    // The sessions pane says how fresh its data is, the header splits the pacer's budget, and an
    // agent's load (chats now / at once) comes only from live data.
    t.wait_until("live data", |s| {
        s.contains(" ago")
            && s.contains("· live ")
            && s.contains("refresh)")
            && s.lines()
                .any(|l| words(l).contains("Alice Moreau AVAILABLE 4/5"))
    });
    t.keys(&["q"]);
    t.wait_for("console exited 0");
}

#[test]
fn x_stops_a_long_run_at_once_and_the_unsent_are_cancelled_on_record() {
    let t = Tmux::start("stop", "--demo");
    let moving = start_a_long_run(&t);
    t.keys(&["x"]);
    // The summary (in the status line, outside the panes) says what was cancelled and why.
    t.wait_until("the run's summary and a cancelled row", |s| {
        s.lines()
            .any(|l| l.contains("cancelled (stopped: x pressed)") && !l.contains('│'))
            && row(s, "…e5cf000d").contains("cancelled")
    });
    // Every session is on record: sent (an attempt line) or cancelled (an outcome line).
    let (audit, attempts, cancelled) = sent_and_cancelled(&t);
    assert_eq!(attempts + cancelled, moving, "{audit}");
    assert!(
        cancelled >= 25,
        "stopped early: {cancelled} cancelled of {moving}"
    );
    t.keys(&["q"]);
    t.wait_for("console exited 1");
}

/// Ctrl-C quits without a question, through the same shutdown as a stop: nothing is lost.
#[test]
fn ctrl_c_during_a_run_quits_and_keeps_the_record() {
    let t = Tmux::start("ctrlc", "--demo");
    let moving = start_a_long_run(&t);
    t.keys(&["C-c"]);
    t.wait_for("console exited 1");
    let (audit, attempts, cancelled) = sent_and_cancelled(&t);
    assert_eq!(attempts + cancelled, moving, "{audit}");
    assert!(cancelled >= 25, "{cancelled} cancelled of {moving}");
    // Every attempt has its outcome: the wire settled before the console went.
    let outcomes = audit
        .lines()
        .filter(|l| l.contains("\"event\":\"outcome\"") && !l.contains("\"cancelled\""))
        .count();
    assert_eq!(outcomes, attempts, "{audit}");
}

/// Moves every session of the demo to one queue (most of a minute at 60 a minute) and waits until
/// a move is on the wire or done; how many move.
fn start_a_long_run(t: &Tmux) -> usize {
    t.wait_for("Sessions 44");
    // Every session to one queue: at 60 a minute, 44 moves would take most of a minute.
    t.keys(&["*", "3", "Enter"]);
    let confirm = t.wait_for("nothing is sent until you press y");
    // Those already waiting in that queue (when the live data came before the key) stay out.
    let moving: usize = confirm
        .split("Move ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the headline counts the moves: {confirm}"));
    t.keys(&["y"]);
    t.wait_for("queued");
    t.wait_for("x stop the run");
    // In a row of the Sessions pane, not the status line's "sending 44 request(s)".
    t.wait_until("a move on the wire or done", |s| {
        s.lines()
            .any(|l| l.starts_with('│') && (l.contains(" sending ") || l.contains("transferred")))
    });
    moving
}

/// The console's audit log, with its count of attempt lines (sent) and of `cancelled` outcome
/// lines (never sent).
fn sent_and_cancelled(t: &Tmux) -> (String, usize, usize) {
    let audit = std::fs::read_to_string(t.home().join("audit.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let attempts = lines.iter().filter(|l| l["event"] == "attempt").count();
    let cancelled = lines
        .iter()
        .filter(|l| l["event"] == "outcome" && l["outcome"] == "cancelled")
        .count();
    (audit, attempts, cancelled)
}

/// The lines of the screen that hold `text`.
fn lines_with<'a>(screen: &'a str, text: &str) -> Vec<&'a str> {
    screen.lines().filter(|l| l.contains(text)).collect()
}

#[test]
fn a_pasted_id_is_the_highlighted_row_and_a_warned_move_takes_a_second_y_no_enter_can_give() {
    let t = Tmux::start("paste", "--demo");
    t.wait_for("Sessions 44");
    t.keys(&["/"]);
    t.keys(&["-l", "66c2f6939489bfffc7910408"]);
    // The exact id is first and highlighted, whatever else matches its letters.
    t.wait_until("the pasted id's row highlighted", |s| {
        s.contains("/66c2f6939489bfffc7910408")
            && lines_with(s, ">[ ]")
                .iter()
                .any(|l| words(l).contains("…c7910408 Dara Moreno"))
    });
    // Enter keeps the filter; Enter again opens the session's detail.
    t.keys(&["Enter"]);
    t.wait_until("the filter kept", |s| !s.contains("type filter"));
    t.keys(&["Enter"]);
    t.wait_for_all(&[
        "botSessionId  66c2f6939489bfffc7910408",
        "history (oldest first):",
    ]);
    t.keys(&["Escape"]);
    t.wait_until("the detail to close", |s| {
        !s.contains("history (oldest first)")
    });
    // Grace Obi is OFFLINE: the move warns in the dialog and asks twice.
    t.keys(&["2", "j", "j", "j", "j", "j", "j"]);
    t.wait_until("Grace Obi highlighted", |s| {
        lines_with(s, ">[ ]")
            .iter()
            .any(|l| l.contains("Grace Obi"))
    });
    t.keys(&["Enter"]);
    // It says who moves (the dialog wraps its lines at a word: the name may fall across two), and
    // the warning. (Waited for whole: a capture can catch the dialog half drawn.)
    t.wait_until("the whole confirmation", |s| {
        s.contains("nothing is sent until you press y")
            && s.contains("Dara")
            && s.contains("Grace Obi is OFFLINE")
    });
    t.keys(&["y"]);
    t.wait_for("Press y once more");
    t.keys(&["Enter", "Enter", "Enter"]);
    t.wait_for("press y to send");
    t.keys(&["n"]);
    t.wait_for("cancelled: nothing was sent");
    t.keys(&["q"]);
    t.wait_for("console exited 0");
    let audit = std::fs::read_to_string(t.home().join("audit.jsonl")).unwrap_or_default();
    assert!(!audit.contains("\"event\":\"attempt\""), "{audit}");
}

#[test]
fn marks_clear_after_a_send_and_quote_marks_the_batch_again() {
    let t = Tmux::start("marks", "--demo");
    t.wait_for("Sessions 44");
    t.keys(&["Space", "Space"]);
    t.wait_for("Sessions 44 (2 marked)");
    t.keys(&["3", "Enter"]);
    t.wait_for("nothing is sent until you press y");
    t.keys(&["y"]);
    t.wait_until("the marks cleared", |s| {
        s.contains("marks cleared") && !s.contains("marked)")
    });
    t.wait_for("run done:");
    t.keys(&["'"]);
    t.wait_until("the last batch marked again", |s| {
        s.contains("marked the last batch again: 2 session(s)")
            && s.contains("Sessions 44 (2 marked)")
            && lines_with(s, "[x]").len() == 2
    });
    t.keys(&["q"]);
    t.wait_for("console exited 0");
}

#[test]
fn agents_take_marks_and_star_and_u_act_on_the_focused_pane() {
    let t = Tmux::start("agentmarks", "--demo");
    t.wait_for("Sessions 44");
    t.keys(&["Space"]);
    t.wait_for("Sessions 44 (1 marked)");
    t.keys(&["2", "Space"]);
    t.wait_for("Agents 8 (1 marked)");
    t.keys(&["*"]);
    t.wait_for("Agents 8 (8 marked)");
    t.keys(&["u"]);
    t.wait_until("the agents unmarked, the session still marked", |s| {
        !s.contains("Agents 8 (8") && s.contains("Agents 8") && s.contains("Sessions 44 (1 marked)")
    });
    t.keys(&["q"]);
    t.wait_for("console exited 0");
}

#[test]
fn a_malformed_id_is_refused_with_the_reason() {
    let t = Tmux::start("ids", "--demo");
    t.wait_for("Sessions 44");
    t.keys(&["n"]);
    t.wait_for("Add to Sessions");
    t.keys(&["-l", "hello world"]);
    t.keys(&["Enter"]);
    t.wait_for("not added: session id hello world holds a space");
    t.keys(&[":"]);
    t.keys(&["-l", "assign queue qu-nope"]);
    t.keys(&["Enter"]);
    t.wait_until("the refusal, no confirmation", |s| {
        s.contains("not sent:") && !s.contains("nothing is sent until you press y")
    });
    t.keys(&["q"]);
    t.wait_for("console exited 0");
}

#[test]
fn a_narrow_terminal_keeps_the_vital_columns_and_shortens_ids() {
    // What stays first on a narrow terminal: id, customer, status, queue, agent (then outcome and
    // callback, which the row's detail always shows).
    let t = Tmux::start_sized("narrow", "--demo", 60, 20);
    t.wait_until("the vital columns and the first row", |s| {
        let header = s.lines().nth(2).unwrap_or_default();
        ["session", "customer", "status", "queue", "agent"]
            .iter()
            .all(|column| header.contains(column))
            && words(s).contains("…e5cf0001 Ava Patel")
    });
    t.keys(&["q"]);
    t.wait_for("console exited 0");
}

#[test]
fn activity_follows_the_newest_unless_scrolled_and_then_counts_what_came() {
    let t = Tmux::start("activity", "--demo");
    t.wait_for("Sessions 44");
    t.keys(&["Space", "Space", "Space", "Space", "3", "Enter"]);
    t.wait_for("nothing is sent until you press y");
    t.keys(&["y"]);
    t.keys(&["4"]);
    t.wait_until("two entries", |s| {
        s.contains("→ POST") && s.contains("← 200")
    });
    t.keys(&["j"]);
    // It counts what came above, and names the queue, not only its id.
    t.wait_until("the count and the queue's name", |s| {
        s.contains("new ↑ (g)") && s.contains("to queue Billing")
    });
    t.keys(&["g"]);
    t.wait_until("the count to go", |s| !s.contains("new ↑"));
    t.wait_for("run done:");
    t.keys(&["q"]);
    t.wait_for("console exited 0");
}

#[test]
fn a_signal_restores_the_terminal_and_records_the_unsent_as_cancelled() {
    for (signal, status) in [("TERM", 143), ("HUP", 129), ("INT", 130)] {
        let t = Tmux::start(&format!("sig{signal}"), "--demo");
        t.wait_for("Sessions 44");
        t.keys(&["*", "3", "Enter"]);
        t.wait_for("nothing is sent until you press y");
        t.keys(&["y"]);
        t.wait_until("a move on the wire or done", |s| {
            s.lines().any(|l| {
                l.starts_with('│') && (l.contains(" sending ") || l.contains("transferred"))
            })
        });
        let pid = t.console_pid();
        assert!(!pid.is_empty());
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        // The alternate screen is gone.
        let exited = format!("console exited {status}");
        t.wait_until(
            &format!("SIG{signal}: {exited}, the shell's screen back"),
            |s| s.contains(&exited) && !s.contains("Sessions 44"),
        );
        let cursor = Command::new("tmux")
            .args([
                "-L",
                &t.socket,
                "display-message",
                "-p",
                "-t",
                "t",
                "#{cursor_flag}",
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&cursor.stdout).trim(),
            "1",
            "SIG{signal}: the cursor shows again"
        );
        let (audit, attempts, cancelled) = sent_and_cancelled(&t);
        assert_eq!(attempts + cancelled, 44, "SIG{signal}: {audit}");
        assert!(
            audit.contains(&format!("SIG{signal} received")),
            "the reason is on record"
        );
    }
}

#[test]
fn a_spread_is_saved_opened_sent_and_reverted_from_the_console() {
    let t = Tmux::start("plans", "--demo");
    // Live data first: a spread is made from it.
    t.wait_until("live data", |s| {
        s.contains(" ago") && s.contains("Alice Moreau")
    });
    t.keys(&[
        "Space", "Space", "Space", "2", "Space", "Space", "k", "Enter",
    ]);
    t.wait_for_all(&[
        "nothing is sent until you press y",
        "from spread over 2 agents",
        "held +",
    ]);
    t.keys(&[":"]);
    t.keys(&["-l", "plan save ~/spread.json"]);
    t.keys(&["Enter"]);
    t.wait_for("wrote the plan");
    assert!(t.home().join("spread.json").exists());
    t.keys(&[":"]);
    t.keys(&["-l", "plan open ~/spread.json"]);
    t.keys(&["Enter"]);
    // Opened once a refresh of its own came: the refresh share of the pacer may make it wait.
    t.wait_longer(60, "the plan opened", |s| {
        s.contains("nothing is sent until you press y") && s.contains("from plan")
    });
    t.keys(&["y"]);
    t.wait_until("the spread's run done", |s| {
        s.lines()
            .any(|l| l.contains("run done:") && !l.contains('│'))
    });
    t.keys(&[":"]);
    t.keys(&["-l", "revert last"]);
    t.keys(&["Enter"]);
    // Transferred before: the revert asks twice.
    t.wait_longer(60, "the revert plan opened", |s| {
        s.contains("from revert of run") && s.contains("This asks twice")
    });
    t.keys(&["y"]);
    t.wait_for("Press y once more");
    t.keys(&["y"]);
    // In the status line, outside the panes (Activity keeps the first run's summary too).
    t.wait_until("the revert's run done", |s| {
        s.lines()
            .any(|l| l.contains("run done:") && !l.contains('│'))
            && !s.contains("nothing is sent until")
    });
    t.keys(&["q"]);
    t.wait_for("console exited");
    // Two runs on record: the spread to agents, then each session back to its queue.
    let audit = std::fs::read_to_string(t.home().join("audit.jsonl")).unwrap();
    let attempts: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["event"] == "attempt")
        .collect();
    let runs: std::collections::BTreeSet<String> = attempts
        .iter()
        .map(|a| a["run"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(runs.len(), 2, "{audit}");
    let (spread, back): (Vec<_>, Vec<_>) = attempts
        .iter()
        .partition(|a| a["target"]["type"] == "agent");
    assert!(!spread.is_empty() && !back.is_empty(), "{audit}");
    for b in &back {
        let went = spread
            .iter()
            .find(|s| s["botSessionId"] == b["botSessionId"])
            .expect("each reverted session was spread");
        assert_eq!(
            b["target"]["id"], went["from"]["queue"],
            "back where it was: {b}"
        );
    }
}

/// A stand-in with the demo's center, a profile aimed at it, and a plan (made by `plan`) that moves
/// `count` of its open sessions to its second queue.
struct PlannedApply {
    runtime: tokio::runtime::Runtime,
    server: switchboard::mock::MockServer,
    home: tempfile::TempDir,
    sessions: Vec<String>,
    args: String,
}

fn planned_apply(count: usize) -> PlannedApply {
    use switchboard::mock::{self, Center, MockIdentity, MockOptions};
    use switchboard::secret::Secret;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let secret = "a-test-secret-for-the-terminal-apply";
    let identity = MockIdentity::demo(Secret::new(secret));
    let server = runtime
        .block_on(mock::start(
            "127.0.0.1:0".parse().unwrap(),
            identity.clone(),
            MockOptions {
                center: Some(Center::demo(tokio::time::Instant::now())),
                rate_limit_per_minute: 0,
                ..MockOptions::default()
            },
        ))
        .unwrap();
    let center = server.center().unwrap();
    let queue = center.queues[1].id.clone();
    let sessions: Vec<String> = center
        .conversations
        .iter()
        .filter(|c| c.is_open() && mock::trigger_for(&c.session).is_none())
        .filter(|c| c.queue_id != queue)
        .take(count)
        .map(|c| c.session.clone())
        .collect();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let secret_file = h.join("secret");
    std::fs::write(&secret_file, secret).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = h.join("sb.toml");
    std::fs::write(
        &config,
        format!(
            "default_profile = \"t\"\n[profiles.t]\nhost = \"{}\"\nstream_id = \"{}\"\norg_id = \"{}\"\naccount_id = \"{}\"\napp_id = \"{}\"\nclient_secret_file = \"{}\"\nrate_per_minute = 0\n",
            server.base_url(),
            identity.stream_id,
            identity.org_id,
            identity.account_id,
            identity.app_id,
            secret_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let plan = h.join("plan.json");
    let mut make = Command::new(BIN);
    make.env("HOME", h)
        .args(["plan", "--config", config.to_str().unwrap()]);
    for s in &sessions {
        make.args(["--session", s]);
    }
    let made = make
        .args(["--queue", &queue, "-o", plan.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let args = format!(
        "apply {} --no-verify --config {}",
        plan.display(),
        config.display()
    );
    PlannedApply {
        runtime,
        server,
        home,
        sessions,
        args,
    }
}

#[test]
fn apply_on_a_terminal_shows_the_moves_and_asks_once() {
    let PlannedApply {
        runtime: _runtime,
        server,
        home,
        sessions,
        args,
    } = planned_apply(1);
    let t = Tmux::start_in(home, "apply", &args, 160, 30);
    t.wait_for_all(&["Send these 1 move(s)? [y/N]", &sessions[0]]);
    assert!(server.received().is_empty(), "nothing before the answer");
    t.keys(&["y", "Enter"]);
    t.wait_for_all(&["transferred", "console exited 0"]);
    assert_eq!(server.received().len(), 1);
}

/// An answer that took more than 10 s is followed by a fresh read: a session that moved while the
/// question waited is held back, the rest sent, each attempt line saying where the fresh read
/// showed it.
#[test]
fn apply_reads_again_after_a_slow_answer_and_holds_back_what_moved_meanwhile() {
    let PlannedApply {
        runtime: _runtime,
        server,
        home,
        sessions,
        args,
    } = planned_apply(2);
    let t = Tmux::start_in(home, "slowapply", &args, 160, 30);
    t.wait_for("Send these 2 move(s)? [y/N]");
    // While the supervisor reads, someone else moves the first session to another queue.
    let elsewhere = server.center().unwrap().queues[2].id.clone();
    assert!(server.change_center(|c| {
        let moved = c
            .conversations
            .iter_mut()
            .find(|c| c.session == sessions[0])
            .unwrap();
        moved.queue_id = elsewhere.clone();
    }));
    // The question waits longer than RECHECK_AFTER (the behaviour under test is a wait).
    std::thread::sleep(switchboard::plan::RECHECK_AFTER + Duration::from_secs(1));
    t.keys(&["y", "Enter"]);
    let screen = t.wait_for_all(&["reading the live data again", "console exited 1"]);
    assert!(
        screen.contains("drifted while the confirmation waited"),
        "{screen}"
    );
    let sent: Vec<_> = server
        .received()
        .into_iter()
        .filter_map(|r| r.session)
        .collect();
    assert_eq!(sent, vec![sessions[1].clone()], "only the one that stayed");
    let audit = std::fs::read_to_string(t.home().join("audit.jsonl")).unwrap();
    let attempt: serde_json::Value = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["event"] == "attempt")
        .unwrap();
    assert!(attempt["from"]["queue"].is_string(), "{attempt}");
}

#[test]
fn an_agents_chats_are_selected_by_name_and_their_move_shows_at_once() {
    let t = Tmux::start_sized("select", "--demo", 160, 45);
    // Alice holds four chats in the stand-in's center once the live data is in.
    t.wait_until("live data", |s| {
        s.lines()
            .any(|l| words(l).contains("Alice Moreau AVAILABLE 4/5"))
    });
    // The filter counts what matches exactly apart from what matches only fuzzily.
    t.keys(&["/"]);
    t.keys(&["-l", "chen wei"]);
    t.keys(&["Enter"]);
    t.wait_for_all(&["exact,", "fuzzy", "── fuzzy"]);
    t.keys(&["Escape"]);
    // Esc and the next key apart: sent together they read as Alt and that key.
    t.wait_until("the filter cleared", |s| !s.contains("── fuzzy"));
    t.keys(&[":"]);
    t.keys(&["-l", "select agent alice"]);
    t.keys(&["Enter"]);
    t.wait_for("marked 4 session(s) Alice Moreau holds");
    // To the second queue: the confirmation says where they are now and warns that Alice, who is
    // AVAILABLE, is in them.
    t.keys(&["3", "j", "Enter"]);
    t.wait_for_all(&[
        "Move 4 sessions to queue",
        "now: 4 with Alice Moreau",
        "who is AVAILABLE and in them",
    ]);
    t.keys(&["y"]);
    t.wait_for("Press y once more");
    t.keys(&["y"]);
    // The rows take the queue at once, marked until a read shows them; Alice's load drops.
    t.wait_until("the moves shown at once", |s| {
        s.lines().filter(|l| l.contains("→Techni")).count() >= 1
            && s.lines()
                .any(|l| words(l).contains("Alice Moreau AVAILABLE 0/5"))
    });
    t.wait_for("run done");
    t.keys(&["q"]);
    t.wait_for("console exited 0");
}

/// The demo is an incident in progress: within its first minute it raises every alert (an agent
/// OFFLINE and one AWAY holding chats, queues nobody AVAILABLE serves, conversations OVERDUE),
/// shows a queue closed by its hours, warns a move there twice, reads a conversation's messages
/// with `t`, and raises a queue's priority through its own confirmation.
#[test]
fn the_demo_raises_every_alert_and_warning_and_serves_priority_and_messages() {
    let t = Tmux::start_sized("incident", "--demo", 160, 45);
    t.wait_until("the alerts and the closed queue", |s| {
        s.contains("4 more: ! lists them")
            && s.lines().any(|l| words(l).contains("Retenti… 7 0 no"))
    });
    t.keys(&["!"]);
    t.wait_for_all(&[
        "Chen Wei went OFFLINE holding 2 chats — :select agent Chen Wei",
        "Esra Kaya is AWAY holding 2 chats",
        "Technical support has nobody AVAILABLE",
        "Retention is closed now, has nobody AVAILABLE",
        "conversation(s) OVERDUE — :select status OVERDUE",
    ]);
    t.keys(&["Escape"]);
    t.wait_until("the list closed", |s| {
        !s.contains("Alerts: what needs you now")
    });
    // A move to Retention: closed now and nobody AVAILABLE, said, and asked twice.
    t.keys(&[":"]);
    t.keys(&["-l", "assign queue retention"]);
    t.keys(&["Enter"]);
    t.wait_for_all(&["is closed now; opens", "nobody AVAILABLE"]);
    t.keys(&["y"]);
    t.wait_for("Press y once more");
    t.keys(&["Escape"]);
    // The highlighted session's last messages.
    t.wait_until("the confirmation closed", |s| {
        !s.contains("Press y once more")
    });
    t.keys(&["1", "Enter"]);
    t.wait_for("t reads its last messages");
    t.keys(&["t"]);
    t.wait_for_all(&["conversation (its last 4", "customer  Hi, I need help with"]);
    t.keys(&["Escape"]);
    t.wait_until("the detail closed", |s| {
        !s.contains("conversation (its last")
    });
    // Billing's priority, raised through its own confirmation.
    t.keys(&[":"]);
    t.keys(&["-l", "queue priority billing 8"]);
    t.keys(&["Enter"]);
    t.wait_for_all(&[
        "Change a queue's priority?",
        "queues/dynamicqueues/priorities",
        "Dynamic Queue Reprioritization",
    ]);
    t.keys(&["y"]);
    t.wait_for("Billing unknown → 8: set");
    // The demo's own budget and claims, while it runs; gone once it ends, so no later demo finds
    // its marks.
    let demo_files = || -> Vec<String> {
        std::fs::read_dir(t.home().join("switchboard-demo"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with("budget"))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(demo_files().len(), 1, "{:?}", demo_files());
    t.keys(&["q"]);
    t.wait_for("console exited 0");
    assert!(demo_files().is_empty(), "{:?}", demo_files());
    let audit = std::fs::read_to_string(t.home().join("audit.jsonl")).unwrap();
    assert!(
        audit.lines().any(
            |l| l.contains("\"event\":\"queue_priority\"") && l.contains("\"outcome\":\"set\"")
        ),
        "{audit}"
    );
    assert!(!audit.contains("\"event\":\"attempt\""), "no move was sent");
}
