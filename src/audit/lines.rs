//! Reading a large log fast and in little memory: whole lines in batches of a few megabytes, each
//! batch's lines worked on by every core, then taken in file order. `verify` and `report` both read
//! this way; only a batch is ever in memory.

use std::io::{self, Read};

/// About how many bytes a batch holds (more when one line is longer).
const BATCH: usize = 4 << 20;
/// How much one read asks for.
const READ_PIECE: usize = 256 * 1024;
/// Below this many lines a batch is not worth a second thread.
const PARALLEL_FROM: usize = 512;

/// Calls `each` with the lines of each batch in file order, each line with its newline when it has
/// one (only the file's last line can lack it).
pub fn for_each_batch(
    mut reader: impl Read,
    mut each: impl FnMut(&[&[u8]]) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(BATCH + BATCH / 4);
    let mut want = BATCH;
    loop {
        let mut eof = false;
        while buf.len() < want {
            // Appended a piece at a time into spare room, which is not zeroed first.
            let n = (&mut reader)
                .take(READ_PIECE as u64)
                .read_to_end(&mut buf)?;
            if n == 0 {
                eof = true;
                break;
            }
        }
        let cut = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(i) => i + 1,
                // One line longer than the batch: read on until it ends.
                None => {
                    want += BATCH;
                    continue;
                }
            }
        };
        if cut > 0 {
            let lines: Vec<&[u8]> = split_lines(&buf[..cut]);
            each(&lines)?;
        }
        buf.drain(..cut);
        want = BATCH.max(buf.len() + 1);
        if eof {
            return Ok(());
        }
    }
}

fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::with_capacity(bytes.len() / 256 + 1);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes) {
        lines.push(&bytes[start..=end]);
        start = end + 1;
    }
    if start < bytes.len() {
        lines.push(&bytes[start..]);
    }
    lines
}

/// `f` of every line, in order, the lines shared out over the machine's cores.
pub fn map_lines<'a, T: Send>(lines: &[&'a [u8]], f: impl Fn(&'a [u8]) -> T + Sync) -> Vec<T> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    if workers < 2 || lines.len() < PARALLEL_FROM {
        return lines.iter().map(|l| f(l)).collect();
    }
    let share = lines.len().div_ceil(workers);
    let f = &f;
    std::thread::scope(|scope| {
        let others: Vec<_> = lines[share..]
            .chunks(share)
            .map(|chunk| scope.spawn(move || chunk.iter().map(|l| f(l)).collect::<Vec<T>>()))
            .collect();
        let mut out: Vec<T> = Vec::with_capacity(lines.len());
        out.extend(lines[..share].iter().map(|l| f(l)));
        for other in others {
            out.extend(other.join().expect("a line worker panicked"));
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_whole_lines_in_order_whatever_their_length() {
        // Short lines, one longer than a batch, and a last line without its newline.
        let mut text = Vec::new();
        for i in 0..200_000 {
            text.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        text.extend(std::iter::repeat_n(b'x', BATCH * 2 + 7));
        text.push(b'\n');
        text.extend_from_slice(b"last");
        let mut seen: Vec<Vec<u8>> = Vec::new();
        // A reader that hands out odd-sized pieces.
        let reader = io::BufReader::with_capacity(977, &text[..]);
        for_each_batch(reader, |lines| {
            let lengths = map_lines(lines, |l| l.len());
            assert_eq!(lengths, lines.iter().map(|l| l.len()).collect::<Vec<_>>());
            seen.extend(lines.iter().map(|l| l.to_vec()));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.concat(), text);
        assert_eq!(seen.len(), 200_002);
        assert_eq!(seen[199_999], b"line 199999\n");
        assert_eq!(seen.last().unwrap(), b"last");
    }
}
