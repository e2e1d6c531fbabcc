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

use crate::store::SharedStore;

/// How long a settled move holds its session back from other runs.
pub const RECENT: Duration = Duration::from_secs(600);

/// How long a claim of a process on another machine (whose life cannot be checked from here) holds
/// its session when its move never settles: its process is taken to have gone.
pub const CLAIM_STALE: Duration = Duration::from_secs(1800);

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
            None if self.machine == this_machine() => process_alive(self.pid),
            None => now.saturating_sub(self.since) < CLAIM_STALE.as_millis() as u64,
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
    /// One key of the shared store holding every claim, changed by compare-and-set.
    Shared(SharedStore, String),
}

/// How long the shared claims key outlives its last change: longer than any claim or mark holds.
const SHARED_TTL: Duration = Duration::from_secs(3600);

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

    /// Claims kept in the shared store, for every process of the account on any machine.
    pub fn on_store(store: SharedStore) -> Claims {
        let key = store.key("claims");
        Claims {
            store: Arc::new(Store::Shared(store, key)),
            who: who().into(),
        }
    }

    /// The claims file of the budget ledger at `ledger`: beside it, `.claims` for `.ledger`.
    pub fn path_beside(ledger: &Path) -> PathBuf {
        ledger.with_extension("claims")
    }

    pub fn path(&self) -> Option<&Path> {
        match &*self.store {
            Store::File(path) => Some(path),
            Store::Memory(_) | Store::Shared(..) => None,
        }
    }

    /// Where the claims are kept, for messages.
    pub fn place(&self) -> String {
        match &*self.store {
            Store::File(path) => path.display().to_string(),
            Store::Memory(_) => "this process".into(),
            Store::Shared(store, key) => format!("{key} in {}", store.label()),
        }
    }

    /// Claims every one of `sessions` for `run` that nothing holds, in one step, and says for each
    /// what holds it instead (`None`: claimed now). A recent move holds a session back unless
    /// `overrides(session, mark)` (the supervisor insisted, or the run undoes the mark's run); a
    /// claim of another run always does.
    pub async fn take(
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
        .await
    }

    /// Ends `run`'s claim on `session`: a mark for `RECENT` when the platform may have moved it,
    /// else nothing.
    pub async fn settle(&self, run: &str, session: &str, may_have_moved: bool) -> io::Result<()> {
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
        .await
    }

    /// Ends every claim and mark of `run`; how many there were.
    pub async fn release(&self, run: &str) -> io::Result<usize> {
        self.with(|claims, _| {
            let before = claims.len();
            claims.retain(|c| c.run != run);
            before - claims.len()
        })
        .await
    }

    /// Every claim and mark that holds now, with the time now. Read only: the file is not
    /// rewritten, so a console can look every second.
    pub async fn list(&self) -> io::Result<(Vec<Claim>, u64)> {
        let mut now = now_ms();
        let claims = match &*self.store {
            Store::Memory(claims) => claims.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            Store::Shared(store, key) => {
                let (at, text) = store.read_with_time(key).await.map_err(io::Error::other)?;
                now = at;
                parse_claims(text.as_deref().unwrap_or(""))
            }
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
    async fn with<R>(&self, mut f: impl FnMut(&mut Vec<Claim>, u64) -> R) -> io::Result<R> {
        let now = now_ms();
        match &*self.store {
            // One compare-and-set on the store's clock; `f` runs again if another process changed
            // the claims first.
            Store::Shared(store, key) => store
                .update(key, SHARED_TTL, |text, now| {
                    let mut claims = parse_claims(text.unwrap_or(""));
                    claims.retain(|c| c.holds(now));
                    let result = f(&mut claims, now);
                    Ok((claims_text(&claims)?, result))
                })
                .await
                .map(|(result, _)| result),
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
                let out = claims_text(&claims)?;
                file.seek(SeekFrom::Start(0))?;
                file.set_len(0)?;
                file.write_all(out.as_bytes())?;
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
    Ok(parse_claims(&String::from_utf8_lossy(&bytes)))
}

fn parse_claims(text: &str) -> Vec<Claim> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The claims as stored: one JSON line each.
fn claims_text(claims: &[Claim]) -> io::Result<String> {
    let mut out = String::new();
    for claim in claims {
        out.push_str(&serde_json::to_string(claim).map_err(io::Error::other)?);
        out.push('\n');
    }
    Ok(out)
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

    #[tokio::test]
    async fn a_claimed_session_is_held_for_every_other_run_and_the_file_is_shared() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("budget/acct.claims");
        let a = Claims::shared(&path).unwrap();
        let b = Claims::shared(&path).unwrap();
        assert_eq!(
            a.take("r1", &ids(&["s1", "s2"]), |_, _| false)
                .await
                .unwrap(),
            vec![None, None]
        );
        let held = b
            .take("r2", &ids(&["s2", "s3"]), |_, _| true)
            .await
            .unwrap();
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

    #[tokio::test]
    async fn a_settled_move_marks_the_session_a_failed_one_frees_it() {
        let claims = Claims::in_memory();
        claims
            .take("r1", &ids(&["moved", "refused"]), |_, _| false)
            .await
            .unwrap();
        claims.settle("r1", "moved", true).await.unwrap();
        claims.settle("r1", "refused", false).await.unwrap();
        let held = claims
            .take("r2", &ids(&["moved", "refused"]), |_, _| false)
            .await
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
                .await
                .unwrap(),
            vec![None]
        );
        assert!(matches!(
            &claims.take("r4", &ids(&["moved"]), |_, _| true).await.unwrap()[0],
            Some(Held::Claimed { run, .. }) if run == "r3"
        ));
    }

    #[tokio::test]
    async fn a_claim_of_a_process_that_is_gone_ends_at_once_a_mark_does_not() {
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
            .await
            .unwrap();
        assert_eq!(held[0], None);
        assert!(matches!(held[1], Some(Held::Moved { .. })));
        assert_eq!(claims.release("dead").await.unwrap(), 1);
        assert_eq!(claims.list().await.unwrap().0.len(), 1, "r's claim stays");
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
