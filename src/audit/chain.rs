//! The audit log's hash chain. Each line ends with `seq` (its place in the chain, from 1) and `prev`:
//! the lowercase hex SHA-256 of the previous line's bytes without its newline, 64 zeros for a file's
//! first line. A line edited, removed, reordered or torn breaks the chain where it was, and `verify`
//! names that line. `seq` is what tells the kinds apart: a gap is a removal, a step back a reorder,
//! an unbroken count under a hash that does not match an edit.
//!
//! What a chain cannot show: lines cut off the end of the file (the last line has nobody after it to
//! vouch for it), or a file rewritten whole with every hash recomputed. Keep a copy of a file's last
//! `prev` elsewhere (an incident ticket) to pin it down.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The `prev` of a file's first line.
pub const FIRST_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a line gives the one after it: its place in the chain (0 when it has none) and its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub seq: u64,
    pub hash: [u8; 32],
}

/// The two fields the chain reads of a line; the rest is skipped unread.
#[derive(Deserialize)]
struct Links<'a> {
    seq: Option<u64>,
    #[serde(borrow)]
    prev: Option<&'a str>,
}

pub fn hash(line: &[u8]) -> [u8; 32] {
    Sha256::digest(line).into()
}

pub fn hex(hash: &[u8; 32]) -> String {
    use std::fmt::Write;
    hash.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Ends `body` (a serialized JSON object) with the `seq` and `prev` that chain it after `previous`
/// (none: the file is empty), and returns what it gives the line after it.
pub fn link_after(previous: Option<&Link>, body: &mut Vec<u8>) -> Link {
    let (seq, prev) = match previous {
        Some(p) => (p.seq + 1, hex(&p.hash)),
        None => (1, FIRST_PREV.to_string()),
    };
    debug_assert_eq!(body.last(), Some(&b'}'));
    body.pop();
    body.extend_from_slice(format!(r#","seq":{seq},"prev":"{prev}"}}"#).as_bytes());
    Link {
        seq,
        hash: hash(body),
    }
}

/// The link of the file's last line, read from its end, and whether the file ends mid-line (a
/// write cut short). The seq of a torn line is that of the whole line before it.
pub fn last_line(file: &File, len: u64) -> io::Result<(Option<Link>, bool)> {
    if len == 0 {
        return Ok((None, false));
    }
    let mut window: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(window);
        let mut buf = vec![0; (len - start) as usize];
        file.read_exact_at(&mut buf, start)?;
        let torn = buf.last() != Some(&b'\n');
        let text = if torn {
            &buf[..]
        } else {
            &buf[..buf.len() - 1]
        };
        let (before, last) = match memchr::memrchr(b'\n', text) {
            Some(i) => (Some(&text[..i]), &text[i + 1..]),
            None if start == 0 => (None, text),
            // The last line is longer than the window: look further back.
            None => {
                window *= 4;
                continue;
            }
        };
        let mut seq = seq_of(last);
        if seq == 0
            && torn
            && let Some(before) = before
        {
            let line_before = match memchr::memrchr(b'\n', before) {
                Some(j) => &before[j + 1..],
                None => before,
            };
            seq = seq_of(line_before);
        }
        return Ok((
            Some(Link {
                seq,
                hash: hash(last),
            }),
            torn,
        ));
    }
}

fn seq_of(line: &[u8]) -> u64 {
    links(line).map_or(0, |(seq, _)| seq)
}

/// How the chain broke at a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// Its bytes are not what the line after it recorded (or it has no link where one belongs).
    Edited,
    /// Lines the chain counted are not there.
    Removed,
    /// A line stands where another belongs.
    Reordered,
    /// Not a whole record: a write cut short, or bytes that are not one JSON object.
    Torn,
}

impl BreakKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakKind::Edited => "edited",
            BreakKind::Removed => "removed",
            BreakKind::Reordered => "reordered",
            BreakKind::Torn => "torn",
        }
    }
}

/// One break: the line it names (from 1), its kind, and what shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub line: u64,
    pub kind: BreakKind,
    pub detail: String,
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {}: {}",
            self.line,
            self.kind.as_str(),
            self.detail
        )
    }
}

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    pub lines: u64,
    /// Lines that carry a link.
    pub chained: u64,
    /// Lines before chaining began in this file (written by an older switchboard): not checked,
    /// and not tampering.
    pub unchained: u64,
    /// The first breaks, in file order (at most `MAX_BREAKS_KEPT`).
    pub breaks: Vec<Break>,
    pub break_count: u64,
    /// The last line's hash: keep it elsewhere to pin the end of the file.
    pub last_hash: Option<String>,
}

impl Verification {
    pub fn whole(&self) -> bool {
        self.break_count == 0
    }
}

pub const MAX_BREAKS_KEPT: usize = 20;
/// How far past a gap in `seq` to look for the missing lines before calling them removed.
const REORDER_LOOKAHEAD: u64 = 1024;

/// A gap in `seq` not yet called a removal: the missing lines may turn up a little later.
struct Gap {
    line: u64,
    missing: (u64, u64),
    seen_after: u64,
}

/// A line's `prev`, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prev {
    Missing,
    Hash([u8; 32]),
    /// Present, but not 64 hex digits: it matches nothing.
    Malformed,
}

/// What the chain needs of one line, worked out for many lines at once.
struct Facts {
    hash: [u8; 32],
    ended: bool,
    /// Its seq (0 when none) and prev; none when it is not a whole record.
    record: Option<(u64, Prev)>,
}

fn facts(line: &[u8]) -> Facts {
    let ended = line.last() == Some(&b'\n');
    let bytes = if ended { &line[..line.len() - 1] } else { line };
    let record = if ended { links(bytes) } else { None };
    Facts {
        hash: hash(bytes),
        ended,
        record,
    }
}

/// A whole record's seq (0 when none) and prev; none when the line is not one JSON object.
fn links(line: &[u8]) -> Option<(u64, Prev)> {
    if let Some((seq, prev)) = written_links(line) {
        return Some((seq, Prev::Hash(prev)));
    }
    serde_json::from_slice::<Links>(line).ok().map(|l| {
        let prev = match l.prev {
            None => Prev::Missing,
            Some(p) => unhex(p.as_bytes()).map_or(Prev::Malformed, Prev::Hash),
        };
        (l.seq.unwrap_or(0), prev)
    })
}

/// The links as the writer puts them, last on the line (`…,"seq":12,"prev":"<64 hex>"}`), read
/// without parsing the rest. A line edited elsewhere still fails the next line's `prev`.
fn written_links(line: &[u8]) -> Option<(u64, [u8; 32])> {
    let rest = line.strip_suffix(b"\"}")?;
    let (rest, prev) = rest.split_at_checked(rest.len().checked_sub(64)?)?;
    let prev = unhex(prev)?;
    let rest = rest.strip_suffix(br#","prev":""#)?;
    let digits = rest.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let (rest, seq) = rest.split_at(rest.len() - digits);
    rest.strip_suffix(br#","seq":"#)?;
    let seq = std::str::from_utf8(seq).ok()?.parse().ok()?;
    Some((seq, prev))
}

/// 64 lowercase hex digits as 32 bytes.
fn unhex(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// Checks the chain of a log, streaming in batches: memory stays the same whatever its length.
pub fn verify(reader: impl std::io::Read) -> io::Result<Verification> {
    let mut v = Verification::default();
    let mut check = Checker::default();
    super::lines::for_each_batch(reader, |lines| {
        for f in super::lines::map_lines(lines, facts) {
            check.line(&mut v, f);
        }
        Ok(())
    })?;
    if let Some(g) = check.gap.take() {
        found(&mut v, BreakKind::Removed, g.line, removed(&g));
    }
    v.breaks.sort_by_key(|b| b.line);
    v.last_hash = check.before.map(|b| hex(&b.hash));
    Ok(v)
}

/// The chain walked line by line, in file order.
#[derive(Default)]
struct Checker {
    /// The line before: its hash, and the seq of the last whole record.
    before: Option<Link>,
    gap: Option<Gap>,
    started: bool,
}

impl Checker {
    fn line(&mut self, v: &mut Verification, f: Facts) {
        v.lines += 1;
        let n = v.lines;
        // Missing lines that turn up within the lookahead were moved, not removed.
        if let Some(g) = &mut self.gap {
            let seq = f.record.map(|(seq, _)| seq).unwrap_or(0);
            if (g.missing.0..=g.missing.1).contains(&seq) {
                let detail = format!("seq {seq} belongs before it and stands at line {n}");
                found(v, BreakKind::Reordered, g.line, detail);
                self.gap = None;
            } else {
                g.seen_after += 1;
                if g.seen_after > REORDER_LOOKAHEAD {
                    let g = self.gap.take().expect("a gap");
                    found(v, BreakKind::Removed, g.line, removed(&g));
                }
            }
        }
        let Some((seq, prev)) = f.record else {
            let detail = if f.ended {
                "not one whole JSON record (a write cut short, or edited)".to_string()
            } else {
                "the file ends mid-line: the last write was cut short".to_string()
            };
            found(v, BreakKind::Torn, n, detail);
            // The next line chains to these bytes; its seq follows the last whole line's.
            self.before = Some(Link {
                seq: self.before.map(|b| b.seq).unwrap_or(0),
                hash: f.hash,
            });
            return;
        };
        match prev {
            Prev::Missing if !self.started => v.unchained += 1,
            Prev::Missing => found(
                v,
                BreakKind::Edited,
                n,
                "it has no `prev`, after chaining began: inserted or edited".into(),
            ),
            Prev::Hash(_) | Prev::Malformed => {
                self.started = true;
                v.chained += 1;
                let expected = self.before.map(|b| b.hash).unwrap_or([0; 32]);
                if prev != Prev::Hash(expected) {
                    self.broken(v, n, seq);
                }
            }
        }
        self.before = Some(Link { seq, hash: f.hash });
    }

    /// Line `n` (at `seq`) does not follow the line before it: says how, from the seqs.
    fn broken(&mut self, v: &mut Verification, n: u64, seq: u64) {
        let seq_before = self.before.map(|b| b.seq).unwrap_or(0);
        if seq_before > 0 && seq > seq_before + 1 || self.before.is_none() && seq > 1 {
            self.gap = Some(Gap {
                line: n,
                missing: (seq_before + 1, seq - 1),
                seen_after: 0,
            });
        } else if seq_before > 0 && seq <= seq_before {
            let detail = format!("seq {seq} comes after seq {seq_before}");
            found(v, BreakKind::Reordered, n, detail);
        } else if self.before.is_none() {
            let detail = "the file's first line must have 64 zeros as `prev`".into();
            found(v, BreakKind::Edited, n, detail);
        } else {
            let detail = format!("its bytes are not what line {n} recorded as their hash");
            found(v, BreakKind::Edited, n - 1, detail);
        }
    }
}

/// Counts a break, keeping the first ones; a line already named (torn, then not what the next line
/// recorded) is named once.
fn found(v: &mut Verification, kind: BreakKind, line: u64, detail: String) {
    if v.breaks.iter().any(|b| b.line == line) {
        return;
    }
    v.break_count += 1;
    if v.breaks.len() < MAX_BREAKS_KEPT {
        v.breaks.push(Break { line, kind, detail });
    }
}

fn removed(g: &Gap) -> String {
    let (from, to) = g.missing;
    let count = to - from + 1;
    if count == 1 {
        format!("the line with seq {from} before it is gone")
    } else {
        format!("{count} lines (seq {from} to {to}) before it are gone")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditLog;
    use crate::audit::tests::stamp;

    /// A chained log of `n` lines written the way a run writes them.
    fn generated(dir: &std::path::Path, n: usize) -> (std::path::PathBuf, Vec<Vec<u8>>) {
        let path = dir.join("audit.jsonl");
        let log = AuditLog::open(&path, stamp("p1")).unwrap();
        for i in 0..n {
            let event = if i % 2 == 0 { "attempt" } else { "outcome" };
            let fields =
                serde_json::json!({"botSessionId": format!("s{:04}", i / 2), "message": "ok"});
            log.record(Some("r1"), event, &fields).unwrap();
        }
        let lines = split(&std::fs::read(&path).unwrap());
        (path, lines)
    }

    fn split(bytes: &[u8]) -> Vec<Vec<u8>> {
        bytes
            .split_inclusive(|b| *b == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    }

    fn check(lines: &[Vec<u8>]) -> Verification {
        verify(&lines.concat()[..]).unwrap()
    }

    fn first(v: &Verification) -> (u64, BreakKind) {
        let b = v
            .breaks
            .first()
            .unwrap_or_else(|| panic!("no break in {v:?}"));
        (b.line, b.kind)
    }

    #[test]
    fn a_whole_chain_verifies_and_the_first_line_links_to_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let (_, lines) = generated(dir.path(), 50);
        let v = check(&lines);
        assert!(v.whole(), "{v:?}");
        assert_eq!((v.lines, v.chained, v.unchained), (50, 50, 0));
        let first: serde_json::Value = serde_json::from_slice(&lines[0]).unwrap();
        assert_eq!(first["prev"], FIRST_PREV);
        assert_eq!(first["seq"], 1);
        let second: serde_json::Value = serde_json::from_slice(&lines[1]).unwrap();
        assert_eq!(
            second["prev"].as_str().unwrap(),
            hex(&hash(lines[0].strip_suffix(b"\n").unwrap()))
        );
    }

    /// Every kind of tampering, at every place in a generated log, is named at the line it hit.
    #[test]
    fn each_kind_of_tampering_is_named_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let (_, lines) = generated(dir.path(), 40);
        for k in 0..lines.len() {
            let line = k as u64 + 1;
            // One byte of one line changed (still JSON): that line is edited. The last line has
            // nobody after it to vouch for it (see the module's note), so it is left out.
            if k + 1 < lines.len() {
                let mut edited = lines.clone();
                let text = String::from_utf8(edited[k].clone()).unwrap();
                edited[k] = text.replacen("\"ok\"", "\"OK\"", 1).into_bytes();
                assert_eq!(
                    first(&check(&edited)),
                    (line, BreakKind::Edited),
                    "edit {line}"
                );
                // Removed: the line now in its place names the gap.
                let mut removed = lines.clone();
                removed.remove(k);
                assert_eq!(
                    first(&check(&removed)),
                    (line, BreakKind::Removed),
                    "remove {line}"
                );
                // Two lines swapped.
                let mut swapped = lines.clone();
                swapped.swap(k, k + 1);
                assert_eq!(
                    first(&check(&swapped)),
                    (line, BreakKind::Reordered),
                    "swap {line}"
                );
            }
            // A line moved further down.
            if k + 5 < lines.len() {
                let mut moved = lines.clone();
                let taken = moved.remove(k);
                moved.insert(k + 4, taken);
                assert_eq!(
                    first(&check(&moved)),
                    (line, BreakKind::Reordered),
                    "move {line}"
                );
            }
            // Cut mid-line.
            let mut torn = lines[..=k].to_vec();
            let half = torn[k].len() / 2;
            torn[k].truncate(half);
            assert_eq!(first(&check(&torn)), (line, BreakKind::Torn), "torn {line}");
        }
        // Two lines in the middle removed at once.
        let mut two = lines.clone();
        two.drain(10..12);
        let v = check(&two);
        assert_eq!(first(&v), (11, BreakKind::Removed));
        assert!(v.breaks[0].detail.contains("2 lines"), "{:?}", v.breaks[0]);
        // A line without a link, slipped in after chaining began.
        let mut inserted = lines.clone();
        inserted.insert(
            7,
            b"{\"event\":\"attempt\",\"botSessionId\":\"x\"}\n".to_vec(),
        );
        assert_eq!(first(&check(&inserted)), (8, BreakKind::Edited));
    }

    #[test]
    fn lines_from_before_chaining_are_unchained_not_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(
            &path,
            "{\"ts\":\"2026-01-01T00:00:00Z\",\"event\":\"attempt\"}\n{\"ts\":\"2026-01-01T00:00:01Z\",\"event\":\"outcome\"}\n",
        )
        .unwrap();
        let log = AuditLog::open(&path, stamp("p")).unwrap();
        for _ in 0..3 {
            log.record(None, "outcome", &serde_json::json!({"m": 1}))
                .unwrap();
        }
        let v = verify(std::io::BufReader::new(File::open(&path).unwrap())).unwrap();
        assert!(v.whole(), "{v:?}");
        assert_eq!((v.lines, v.unchained, v.chained), (5, 2, 3));
    }

    #[test]
    fn a_line_a_crash_cut_short_is_named_once_and_the_chain_goes_on_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = generated(dir.path(), 6);
        // A process killed mid-write leaves a fragment; the next one starts a line of its own.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut f, b"{\"event\":\"attempt\",\"bo").unwrap();
        let log = AuditLog::open(&path, stamp("p2")).unwrap();
        log.record(None, "outcome", &serde_json::json!({"m": 1}))
            .unwrap();
        log.record(None, "outcome", &serde_json::json!({"m": 2}))
            .unwrap();
        let v = verify(std::io::BufReader::new(File::open(&path).unwrap())).unwrap();
        assert_eq!(v.break_count, 1, "{v:?}");
        assert_eq!(first(&v), (7, BreakKind::Torn));
        let lines = split(&std::fs::read(&path).unwrap());
        let after: serde_json::Value = serde_json::from_slice(&lines[7]).unwrap();
        assert_eq!(
            after["seq"], 7,
            "the count goes on from the last whole line"
        );
    }

    /// Processes appending at once (each its own open file, as separate processes have) keep
    /// one chain: the lock covers reading the last line and writing the next.
    #[test]
    fn appends_from_many_writers_at_once_stay_chained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let log = AuditLog::open(&path, stamp(&format!("w{w}"))).unwrap();
                    for i in 0..100 {
                        log.record(Some("r"), "attempt", &serde_json::json!({"i": i}))
                            .unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let v = verify(std::io::BufReader::new(File::open(&path).unwrap())).unwrap();
        assert!(v.whole(), "{:?}", v.breaks);
        assert_eq!(v.chained, 400);
    }
}
