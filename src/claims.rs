//! Which sessions are being moved, and which were just moved, by every switchboard process of the
//! account on this machine: a session leaves once. A run claims each of its sessions as it starts
//! sending (not while a confirmation waits); any other run that reaches a claimed session leaves it
//! alone. When the move settles and the platform may have moved it, the claim becomes a mark for
//! `RECENT` — another run holds the session back unless the supervisor insists — and otherwise ends.
//!
//! The claims live in a file beside the budget ledger (one JSON line each, locked while read and
//! rewritten), or in memory for a process that shares nothing. A claim of a process that is gone ends
//! at once; a mark outlives its process, since the move it records does.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How long a settled move holds its session back from other runs.
pub const RECENT: Duration = Duration::from_secs(600);

/// One session claimed by a run, or marked as moved by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    #[serde(rename = "botSessionId")]
    pub session: String,
    pub run: String,
    /// `user@host` of the process that claimed it.
    pub who: String,
    pub pid: u32,
    /// The machine the process runs on, so only its own processes are checked for life.
    pub machine: String,
    /// When it was claimed, in milliseconds since the epoch.
    pub since: u64,
    /// When the move settled as one that may have moved it; a claim while `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved: Option<u64>,
}

impl Claim {
    /// Whether it still holds anything at `now`: a live process's claim, or a mark within `RECENT`.
    fn holds(&self, now: u64) -> bool {
        match self.moved {
            Some(at) => now.saturating_sub(at) < RECENT.as_millis() as u64,
            None => self.machine != this_machine() || process_alive(self.pid),
        }
    }

    /// What it holds a session back as, seen at `now`.
    pub fn held(&self, now: u64) -> Held {
        match self.moved {
            None => Held::Claimed {
                run: self.run.clone(),
                who: self.who.clone(),
            },
            Some(at) => Held::Moved {
                run: self.run.clone(),
                who: self.who.clone(),
                ago: Duration::from_millis(now.saturating_sub(at)),
            },
        }
    }
}

/// Why a run does not send a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// Another run is moving it now.
    Claimed { run: String, who: String },
    /// Another run moved it a moment ago; sent only when the supervisor insists.
    Moved {
        run: String,
        who: String,
        ago: Duration,
    },
}

impl Held {
    /// `claimed by run R (user@host)`, `moved by run R 40 s ago (user@host)`.
    pub fn reason(&self) -> String {
        match self {
            Held::Claimed { run, who } => format!("claimed by run {run} ({who})"),
            Held::Moved { run, who, ago } => format!(
                "moved by run {run} {} ago ({who})",
                crate::format::duration(Duration::from_secs(ago.as_secs()))
            ),
        }
    }

    pub fn is_recent_move(&self) -> bool {
        matches!(self, Held::Moved { .. })
    }
}

enum Store {
    Memory(Mutex<Vec<Claim>>),
    File(PathBuf),
}

/// The claims of the account on this machine. Cheap to clone; clones share the store.
#[derive(Clone)]
pub struct Claims {
    store: Arc<Store>,
    who: Arc<str>,
}

impl Claims {
    /// Claims this process alone sees.
    pub fn in_memory() -> Claims {
        Claims {
            store: Arc::new(Store::Memory(Mutex::default())),
            who: who().into(),
        }
    }

    /// Claims shared through `path` (created 0600 with its folder when missing). Only a plain file
    /// is used: a link would put the claims elsewhere.
    pub fn shared(path: &Path) -> io::Result<Claims> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        open(path)?;
        Ok(Claims {
            store: Arc::new(Store::File(path.to_path_buf())),
            who: who().into(),
        })
    }

    /// The claims file of the budget ledger at `ledger`: beside it, `.claims` for `.ledger`.
    pub fn path_beside(ledger: &Path) -> PathBuf {
        ledger.with_extension("claims")
    }

    pub fn path(&self) -> Option<&Path> {
        match &*self.store {
            Store::File(path) => Some(path),
            Store::Memory(_) => None,
        }
    }

    /// Claims every one of `sessions` for `run` that nothing holds, in one step, and says for each
    /// what holds it instead (`None`: claimed now). A recent move holds a session back unless
    /// `overrides(session, mark)` (the supervisor insisted, or the run undoes the mark's run); a
    /// claim of another run always does.
    pub fn take(
        &self,
        run: &str,
        sessions: &[String],
        overrides: impl Fn(&str, &Claim) -> bool,
    ) -> io::Result<Vec<Option<Held>>> {
        let who = self.who.to_string();
        self.with(|claims, now| {
            sessions
                .iter()
                .map(|session| {
                    let there = claims.iter().position(|c| &c.session == session);
                    if let Some(i) = there {
                        let held = claims[i].held(now);
                        if !(held.is_recent_move() && overrides(session, &claims[i])) {
                            return Some(held);
                        }
                        claims.remove(i);
                    }
                    claims.push(Claim {
                        session: session.clone(),
                        run: run.to_string(),
                        who: who.clone(),
                        pid: std::process::id(),
                        machine: this_machine(),
                        since: now,
                        moved: None,
                    });
                    None
                })
                .collect()
        })
    }

    /// Ends `run`'s claim on `session`: a mark for `RECENT` when the platform may have moved it,
    /// else nothing.
    pub fn settle(&self, run: &str, session: &str, may_have_moved: bool) -> io::Result<()> {
        self.with(|claims, now| {
            if let Some(i) = claims
                .iter()
                .position(|c| c.session == session && c.run == run && c.moved.is_none())
            {
                if may_have_moved {
                    claims[i].moved = Some(now);
                } else {
                    claims.remove(i);
                }
            }
        })
    }

    /// Ends every claim and mark of `run`; how many there were.
    pub fn release(&self, run: &str) -> io::Result<usize> {
        self.with(|claims, _| {
            let before = claims.len();
            claims.retain(|c| c.run != run);
            before - claims.len()
        })
    }

    /// Every claim and mark that holds now, with the time now. Read only: the file is not
    /// rewritten, so a console can look every second.
    pub fn list(&self) -> io::Result<(Vec<Claim>, u64)> {
        let now = now_ms();
        let claims = match &*self.store {
            Store::Memory(claims) => claims.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            Store::File(path) => {
                let mut file = open(path)?;
                file.lock_shared()?;
                let read = read_claims(&mut file);
                file.unlock()?;
                read?
            }
        };
        Ok((claims.into_iter().filter(|c| c.holds(now)).collect(), now))
    }

    /// Runs `f` over the claims that still hold, with the time now, under the lock, and keeps what it
    /// changes.
    fn with<R>(&self, f: impl FnOnce(&mut Vec<Claim>, u64) -> R) -> io::Result<R> {
        let now = now_ms();
        match &*self.store {
            Store::Memory(claims) => {
                let mut claims = claims.lock().unwrap_or_else(|p| p.into_inner());
                claims.retain(|c| c.holds(now));
                Ok(f(&mut claims, now))
            }
            Store::File(path) => {
                let mut file = open(path)?;
                file.lock()?;
                let mut claims = read_claims(&mut file)?;
                claims.retain(|c| c.holds(now));
                let result = f(&mut claims, now);
                let mut out = Vec::new();
                for claim in &claims {
                    serde_json::to_writer(&mut out, claim).map_err(io::Error::other)?;
                    out.push(b'\n');
                }
                file.seek(SeekFrom::Start(0))?;
                file.set_len(0)?;
                file.write_all(&out)?;
                file.unlock()?;
                Ok(result)
            }
        }
    }
}

/// The claims in the file; a line that cannot be read is dropped, as it holds nothing anyone could
/// name.
fn read_claims(file: &mut File) -> io::Result<Vec<Claim>> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

fn open(path: &Path) -> io::Result<File> {
    crate::output::plain_file_or_absent(path)?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `user@host` of this process.
pub fn who() -> String {
    format!("{}@{}", crate::audit::os_user(), this_machine())
}

/// This machine's host name.
pub fn this_machine() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Whether a process of this machine is still there (one of another user counts).
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_claimed_session_is_held_for_every_other_run_and_the_file_is_shared() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("budget/acct.claims");
        let a = Claims::shared(&path).unwrap();
        let b = Claims::shared(&path).unwrap();
        assert_eq!(
            a.take("r1", &ids(&["s1", "s2"]), |_, _| false).unwrap(),
            vec![None, None]
        );
        let held = b.take("r2", &ids(&["s2", "s3"]), |_, _| true).unwrap();
        assert_eq!(
            held[0].as_ref().map(Held::reason).unwrap(),
            format!("claimed by run r1 ({})", who()),
            "insisting never takes a claim"
        );
        assert_eq!(held[1], None);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_settled_move_marks_the_session_a_failed_one_frees_it() {
        let claims = Claims::in_memory();
        claims
            .take("r1", &ids(&["moved", "refused"]), |_, _| false)
            .unwrap();
        claims.settle("r1", "moved", true).unwrap();
        claims.settle("r1", "refused", false).unwrap();
        let held = claims
            .take("r2", &ids(&["moved", "refused"]), |_, _| false)
            .unwrap();
        assert!(
            matches!(&held[0], Some(Held::Moved { run, .. }) if run == "r1"),
            "{held:?}"
        );
        assert!(
            held[0]
                .as_ref()
                .unwrap()
                .reason()
                .starts_with("moved by run r1 0s ago")
        );
        assert_eq!(held[1], None, "a refused move holds nothing");
        // The supervisor insists: the mark gives way to a claim of the new run.
        assert_eq!(
            claims
                .take("r3", &ids(&["moved"]), |s, mark| s == "moved"
                    && mark.run == "r1")
                .unwrap(),
            vec![None]
        );
        assert!(matches!(
            &claims.take("r4", &ids(&["moved"]), |_, _| true).unwrap()[0],
            Some(Held::Claimed { run, .. }) if run == "r3"
        ));
    }

    #[test]
    fn a_claim_of_a_process_that_is_gone_ends_at_once_a_mark_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acct.claims");
        let gone = |session: &str, moved: Option<u64>| Claim {
            session: session.into(),
            run: "dead".into(),
            who: "x@y".into(),
            pid: i32::MAX as u32,
            machine: this_machine(),
            since: now_ms(),
            moved,
        };
        let lines = [gone("claimed", None), gone("marked", Some(now_ms()))]
            .iter()
            .map(|c| serde_json::to_string(c).unwrap() + "\n")
            .collect::<String>();
        std::fs::write(&path, format!("{lines}\u{fffd}not json\n")).unwrap();
        let claims = Claims::shared(&path).unwrap();
        let held = claims
            .take("r", &ids(&["claimed", "marked"]), |_, _| false)
            .unwrap();
        assert_eq!(held[0], None);
        assert!(matches!(held[1], Some(Held::Moved { .. })));
        assert_eq!(claims.release("dead").unwrap(), 1);
        assert_eq!(claims.list().unwrap().0.len(), 1, "r's claim stays");
    }

    #[test]
    fn a_link_is_not_a_claims_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("acct.claims");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(Claims::shared(&link).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    }
}
