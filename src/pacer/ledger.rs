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
use crate::store::SharedStore;

/// One call on record. Times are milliseconds on the ledger's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub pid: u32,
    pub id: u64,
    pub priority: Priority,
    pub start: u64,
    /// When its answer came (or it was abandoned); `None` while it is in flight.
    pub end: Option<u64>,
    /// The limit its process paced by when it started (none in a ledger from before): while it is
    /// in the window, every process of the account paces by the lowest such limit.
    pub limit: Option<u32>,
}

/// How long an unfinished call of another process is believed to be in flight; after that it is
/// taken to have ended (its process died mid-call, or never wrote its end).
pub const STALE_MS: u64 = 120_000;

/// The first line of every ledger: what the file is, so that nothing else is ever taken for one
/// (and wiped by the rewrite).
pub const HEADER: &str = "switchboard-budget-ledger/1";

/// How far ahead of the clock an entry may be dated before it is taken for a clock stepped back.
const AHEAD_MS: u64 = 2_000;

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
        let limit = self.limit.map(|l| format!(" {l}")).unwrap_or_default();
        format!(
            "{} {} {} {} {end}{limit}\n",
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
        let limit = match fields.next() {
            None => None,
            Some(n) => Some(n.parse().ok()?),
        };
        Some(Entry {
            pid,
            id,
            priority,
            start,
            end,
            limit,
        })
    }
}

enum Store {
    Memory(Vec<Entry>),
    File(PathBuf),
    /// One key of the shared store: the ledger's text, changed by compare-and-set.
    Shared(SharedStore, String),
}

/// How long the shared ledger's key outlives its last change: longer than any call stays on it.
const SHARED_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// The clock entries are written in: the wall clock for a shared file (processes share it), the
/// store's clock for a shared store (machines' clocks differ), the runtime's clock in memory (so
/// tests can pause time).
enum Clock {
    Runtime(Instant),
    Wall,
    /// The store's clock, as this machine's wall clock plus the offset last seen.
    Store(i64),
}

pub struct Ledger {
    store: Store,
    clock: Clock,
    pid: u32,
    next_id: u64,
    /// Entries found dated ahead of the clock and brought back to it, since the last look.
    clamped: usize,
    /// This process's own calls as last kept in the shared store: if the store comes back empty (it
    /// restarted without its data), they go back in, so the window's calls are not forgotten.
    mine: Vec<Entry>,
}

impl Ledger {
    pub fn in_memory() -> Ledger {
        Ledger {
            store: Store::Memory(Vec::new()),
            clock: Clock::Runtime(Instant::now()),
            pid: std::process::id(),
            next_id: first_id(),
            clamped: 0,
            mine: Vec::new(),
        }
    }

    /// A ledger shared through `path`, created (0600, with its directory) when missing.
    pub fn shared(path: &Path) -> std::io::Result<Ledger> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // What is there must be a ledger (or nothing yet): anything else is refused, untouched.
        let mut file = open(path)?;
        file.lock_shared()?;
        let read = read_entries(&mut file, path);
        file.unlock()?;
        read?;
        Ok(Ledger {
            store: Store::File(path.to_path_buf()),
            clock: Clock::Wall,
            pid: std::process::id(),
            next_id: first_id(),
            clamped: 0,
            mine: Vec::new(),
        })
    }

    /// A ledger kept in the shared store, for every process of the account on any machine.
    pub fn on_store(store: SharedStore) -> Ledger {
        let key = store.key("budget");
        Ledger {
            store: Store::Shared(store, key),
            clock: Clock::Store(0),
            pid: std::process::id(),
            next_id: first_id(),
            clamped: 0,
            mine: Vec::new(),
        }
    }

    pub fn is_shared(&self) -> bool {
        matches!(self.store, Store::File(_) | Store::Shared(..))
    }

    /// Whether it is kept in the shared store (a failure there pauses, never falls back).
    pub fn on_shared_store(&self) -> bool {
        matches!(self.store, Store::Shared(..))
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn now_ms(&self) -> u64 {
        match &self.clock {
            Clock::Runtime(origin) => origin.elapsed().as_millis() as u64,
            Clock::Wall => wall_ms(),
            Clock::Store(offset) => wall_ms().saturating_add_signed(*offset),
        }
    }

    /// How many entries were found dated ahead of the clock (a clock stepped back) since the last
    /// call, each brought back to now so that no wait for them outlasts a window.
    pub fn take_clamped(&mut self) -> usize {
        std::mem::take(&mut self.clamped)
    }

    pub fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Runs `f` over every entry on record with the time now, holding the lock throughout (in the
    /// shared store: as one compare-and-set, `f` run again if another process changed it first),
    /// and keeps what it changes. Entries long out of any window are dropped on the way.
    pub async fn with<R>(
        &mut self,
        keep_ms: u64,
        mut f: impl FnMut(&mut Vec<Entry>, u64) -> R,
    ) -> std::io::Result<R> {
        let now = self.now_ms();
        let forget = |entries: &mut Vec<Entry>, now: u64| {
            entries.retain(|e| match e.counted_by(now) {
                Some(end) => end + keep_ms > now,
                None => true,
            })
        };
        match &mut self.store {
            Store::Memory(entries) => {
                forget(entries, now);
                Ok(f(entries, now))
            }
            Store::Shared(store, key) => {
                let (pid, mine) = (self.pid, &mut self.mine);
                let (result, now) = store
                    .update(key, SHARED_TTL, |text, now| {
                        let mut entries: Vec<Entry> = match text {
                            Some(text) => text
                                .lines()
                                .filter(|l| l.trim() != HEADER)
                                .filter_map(Entry::parse)
                                .collect(),
                            // Gone (a store restarted without its data): our own calls go back in.
                            None => mine.clone(),
                        };
                        forget(&mut entries, now);
                        let result = f(&mut entries, now);
                        *mine = entries.iter().filter(|e| e.pid == pid).copied().collect();
                        Ok((ledger_text(&entries), result))
                    })
                    .await?;
                self.clock = Clock::Store(now as i64 - wall_ms() as i64);
                Ok(result)
            }
            Store::File(path) => {
                let mut file = open(path)?;
                file.lock()?;
                let mut entries = match read_entries(&mut file, path) {
                    Ok(entries) => entries,
                    Err(e) => {
                        let _ = file.unlock();
                        return Err(e);
                    }
                };
                self.clamped += clamp_ahead(&mut entries, now);
                forget(&mut entries, now);
                let result = f(&mut entries, now);
                let out = ledger_text(&entries);
                file.seek(SeekFrom::Start(0))?;
                file.set_len(0)?;
                file.write_all(out.as_bytes())?;
                file.unlock()?;
                Ok(result)
            }
        }
    }
}

/// The entries of a ledger file: after its header, each line that reads as one (bytes that are
/// not text, or a line cut short, are skipped). A file from before the header (every line an entry)
/// is read as one, and gets the header when written; anything else is not a ledger, and is refused
/// rather than wiped.
fn read_entries(file: &mut File, path: &Path) -> std::io::Result<Vec<Entry>> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty()).peekable();
    match lines.peek() {
        None => return Ok(Vec::new()),
        Some(first) if first.trim() == HEADER => {
            lines.next();
            return Ok(lines.filter_map(Entry::parse).collect());
        }
        Some(_) => {}
    }
    let entries: Vec<Option<Entry>> = lines.map(Entry::parse).collect();
    if entries.iter().all(Option::is_some) {
        return Ok(entries.into_iter().flatten().collect());
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "{} is not a budget ledger (its first line is not {HEADER:?}, and not every line is a call on record): it was left as it is; name another budget_file",
            path.display()
        ),
    ))
}

/// Brings entries dated more than `AHEAD_MS` after `now` back to `now` (a clock stepped back would
/// otherwise stop every process of the account until that time); how many there were.
fn clamp_ahead(entries: &mut [Entry], now: u64) -> usize {
    let mut clamped = 0;
    for e in entries.iter_mut() {
        if e.start > now + AHEAD_MS || e.end.is_some_and(|end| end > now + AHEAD_MS) {
            e.start = e.start.min(now);
            e.end = e.end.map(|end| end.min(now));
            clamped += 1;
        }
    }
    clamped
}

/// The ledger as stored: its header, then one line a call.
fn ledger_text(entries: &[Entry]) -> String {
    std::iter::once(format!("{HEADER}\n"))
        .chain(entries.iter().map(Entry::line))
        .collect()
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
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
            limit: Some(60),
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

    #[tokio::test]
    async fn a_shared_ledger_is_seen_by_every_handle() {
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
                limit: None,
            })
        })
        .await
        .unwrap();
        let seen = b.with(60_000, |entries, _| entries.len()).await.unwrap();
        assert_eq!(seen, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[tokio::test]
    async fn a_ledger_has_a_header_an_old_one_gets_it_and_anything_else_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let entry = Entry {
            pid: 1,
            id: 1,
            priority: Priority::Assign,
            start: 5,
            end: Some(6),
            limit: None,
        };
        // From before the header: every line an entry. It is read, and gets the header.
        let old = dir.path().join("old.ledger");
        std::fs::write(&old, entry.line()).unwrap();
        let mut ledger = Ledger::shared(&old).unwrap();
        ledger.with(u64::MAX / 4, |_, _| ()).await.unwrap();
        let text = std::fs::read_to_string(&old).unwrap();
        assert_eq!(text, format!("{HEADER}\n{}", entry.line()));
        // A file that is no ledger is refused and kept as it was.
        let notes = dir.path().join("notes.txt");
        std::fs::write(&notes, "my notes\n").unwrap();
        let err = Ledger::shared(&notes).err().unwrap().to_string();
        assert!(err.contains("is not a budget ledger"), "{err}");
        assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes\n");
        // Bytes that are not text are skipped, the rest kept.
        let mut bytes = format!("{HEADER}\n").into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\n");
        bytes.extend_from_slice(entry.line().as_bytes());
        std::fs::write(&old, &bytes).unwrap();
        let seen = ledger
            .with(u64::MAX / 4, |entries, _| entries.len())
            .await
            .unwrap();
        assert_eq!(seen, 1);
    }

    #[tokio::test]
    async fn an_entry_dated_ahead_is_brought_back_to_now_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("budget.ledger");
        let mut ledger = Ledger::shared(&path).unwrap();
        let ahead = ledger.now_ms() + 3_600_000;
        ledger
            .with(60_000, |entries, _| {
                entries.push(Entry {
                    pid: 2,
                    id: 9,
                    priority: Priority::Assign,
                    start: ahead,
                    end: Some(ahead + 100),
                    limit: None,
                })
            })
            .await
            .unwrap();
        let starts = ledger
            .with(60_000, |entries, now| {
                entries.iter().map(|e| e.start <= now).collect::<Vec<_>>()
            })
            .await
            .unwrap();
        assert_eq!(starts, vec![true]);
        assert_eq!(ledger.take_clamped(), 1);
        assert_eq!(ledger.take_clamped(), 0, "reported once");
    }
}
