//! The record of calls the account's budget counts: when each started, when its answer came, and
//! which kind of call it was. One record serves every switchboard process of the account on this
//! machine (a file, locked while it is read and rewritten); a process without one keeps it in memory.
//!
//! The server counts a call at some moment between the start of the request and its answer, so a
//! call is known to have left the server's window only a window after its answer came. That is what
//! makes the budget safe against network jitter: nothing here guesses a latency.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::Priority;

/// One call on record. Times are milliseconds on the ledger's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub pid: u32,
    pub id: u64,
    pub priority: Priority,
    pub start: u64,
    /// When its answer came (or it was abandoned); `None` while it is in flight.
    pub end: Option<u64>,
}

/// How long an unfinished call of another process is believed to be in flight; after that it is
/// taken to have ended (its process died mid-call, or never wrote its end).
pub const STALE_MS: u64 = 120_000;

impl Entry {
    /// The latest moment the server may have counted this call, as far as is known at `now`:
    /// `None` while it may still be counted later.
    pub fn counted_by(&self, now: u64) -> Option<u64> {
        match self.end {
            Some(end) => Some(end),
            None if now >= self.start + STALE_MS => Some(self.start + STALE_MS),
            None => None,
        }
    }

    fn line(&self) -> String {
        let end = self
            .end
            .map(|e| e.to_string())
            .unwrap_or_else(|| "-".into());
        format!(
            "{} {} {} {} {end}\n",
            self.pid, self.id, self.priority as u8, self.start
        )
    }

    fn parse(line: &str) -> Option<Entry> {
        let mut fields = line.split_whitespace();
        let pid = fields.next()?.parse().ok()?;
        let id = fields.next()?.parse().ok()?;
        let priority = Priority::from_index(fields.next()?.parse().ok()?)?;
        let start = fields.next()?.parse().ok()?;
        let end = match fields.next()? {
            "-" => None,
            n => Some(n.parse().ok()?),
        };
        Some(Entry {
            pid,
            id,
            priority,
            start,
            end,
        })
    }
}

enum Store {
    Memory(Vec<Entry>),
    File(PathBuf),
}

/// The clock entries are written in: the wall clock for a shared file (processes share it), the
/// runtime's clock in memory (so tests can pause time).
enum Clock {
    Runtime(Instant),
    Wall,
}

pub struct Ledger {
    store: Store,
    clock: Clock,
    pid: u32,
    next_id: u64,
}

impl Ledger {
    pub fn in_memory() -> Ledger {
        Ledger {
            store: Store::Memory(Vec::new()),
            clock: Clock::Runtime(Instant::now()),
            pid: std::process::id(),
            next_id: first_id(),
        }
    }

    /// A ledger shared through `path`, created (0600, with its directory) when missing.
    pub fn shared(path: &Path) -> std::io::Result<Ledger> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        open(path)?;
        Ok(Ledger {
            store: Store::File(path.to_path_buf()),
            clock: Clock::Wall,
            pid: std::process::id(),
            next_id: first_id(),
        })
    }

    pub fn is_shared(&self) -> bool {
        matches!(self.store, Store::File(_))
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn now_ms(&self) -> u64 {
        match &self.clock {
            Clock::Runtime(origin) => origin.elapsed().as_millis() as u64,
            Clock::Wall => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
        }
    }

    pub fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Runs `f` over every entry on record with the time now, holding the lock throughout, and
    /// keeps what it changes. Entries long out of any window are dropped on the way.
    pub fn with<R>(
        &mut self,
        keep_ms: u64,
        f: impl FnOnce(&mut Vec<Entry>, u64) -> R,
    ) -> std::io::Result<R> {
        let now = self.now_ms();
        let forget = |entries: &mut Vec<Entry>| {
            entries.retain(|e| match e.counted_by(now) {
                Some(end) => end + keep_ms > now,
                None => true,
            })
        };
        match &mut self.store {
            Store::Memory(entries) => {
                forget(entries);
                Ok(f(entries, now))
            }
            Store::File(path) => {
                let mut file = open(path)?;
                file.lock()?;
                let mut text = String::new();
                file.read_to_string(&mut text)?;
                let mut entries: Vec<Entry> = text.lines().filter_map(Entry::parse).collect();
                forget(&mut entries);
                let result = f(&mut entries, now);
                let out: String = entries.iter().map(Entry::line).collect();
                file.seek(SeekFrom::Start(0))?;
                file.set_len(0)?;
                file.write_all(out.as_bytes())?;
                file.unlock()?;
                Ok(result)
            }
        }
    }
}

/// Ids start at a random point, so two ledgers of one process (tests) never mix up their calls.
fn first_id() -> u64 {
    let mut buf = [0u8; 4];
    let _ = getrandom::fill(&mut buf);
    u64::from(u32::from_le_bytes(buf)) << 24
}

fn open(path: &Path) -> std::io::Result<File> {
    // A plain file only: a link would clobber its target, a device swallow the budget.
    crate::output::plain_file_or_absent(path)?;
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_bad_lines_are_skipped() {
        let e = Entry {
            pid: 7,
            id: 3,
            priority: Priority::Verify,
            start: 1000,
            end: None,
        };
        assert_eq!(Entry::parse(&e.line()), Some(e));
        let done = Entry {
            end: Some(1200),
            ..e
        };
        assert_eq!(Entry::parse(&done.line()), Some(done));
        assert_eq!(Entry::parse("garbage"), None);
        assert_eq!(Entry::parse("1 2 9 3 -"), None, "an unknown priority");
    }

    #[test]
    fn a_shared_ledger_is_seen_by_every_handle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/budget.ledger");
        let mut a = Ledger::shared(&path).unwrap();
        let mut b = Ledger::shared(&path).unwrap();
        a.with(60_000, |entries, now| {
            entries.push(Entry {
                pid: 1,
                id: 1,
                priority: Priority::Assign,
                start: now,
                end: None,
            })
        })
        .unwrap();
        let seen = b.with(60_000, |entries, _| entries.len()).unwrap();
        assert_eq!(seen, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
