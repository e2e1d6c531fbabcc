//! Durations as the console and the command line write them (`42s`, `3m12s`, `1h05m`), and times
//! in the operator's own zone: the records keep UTC (RFC 3339); people read local time.

use std::time::Duration;

pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Text for a terminal: control characters (ESC, BEL, CR, …) and the bidi controls that reorder
/// what follows them (U+202A–202E, U+2066–2069) are shown escaped (`\u{1b}`, `\u{202e}`), so text
/// from a server, a file or an id cannot move the cursor, retitle the window, clear the screen or
/// show an id reversed. Newlines and tabs stay.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c);
    if !text.chars().any(hidden) {
        return text.into();
    }
    escape(text, hidden).into()
}

/// Whether a character reorders the text around it: the bidi embeddings, overrides and isolates.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape(text: &str, hidden: impl Fn(char) -> bool) -> String {
    text.chars()
        .map(|c| {
            if hidden(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A CSV cell a spreadsheet will not run: every control and bidi character escaped (newlines and
/// tabs too), and one that starts like a formula (`=`, `+`, `-`, `@`) given a leading `'`.
pub fn inert_cell(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| c.is_control() || is_bidi_control(c);
    let formula = |t: &str| t.starts_with(['=', '+', '-', '@']);
    // Most cells (ids, words, numbers) are inert as they are, and are not copied.
    if !formula(text) && !text.chars().any(hidden) {
        return text.into();
    }
    let escaped = escape(text, hidden);
    if formula(&escaped) {
        format!("'{escaped}").into()
    } else {
        escaped.into()
    }
}

/// A message for one cell of a table: its first line (a transport failure's cause; the whole chain
/// is in the audit log), its blanks made one, its control characters escaped.
pub fn one_line(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default();
    printable(&first.split_whitespace().collect::<Vec<_>>().join(" ")).into_owned()
}

/// The time of day of an RFC 3339 instant in `zone`: `23:59:01`. Text that is not one is
/// returned as it is.
pub fn clock_in(at: &str, zone: &jiff::tz::TimeZone) -> String {
    match at.parse::<jiff::Timestamp>() {
        Ok(t) => t.to_zoned(zone.clone()).strftime("%H:%M:%S").to_string(),
        Err(_) => at.to_string(),
    }
}

/// An RFC 3339 instant in `zone`, with the zone said: `2026-11-27 23:59:01.123 CET (+01:00)`.
pub fn stamp_in(at: &str, zone: &jiff::tz::TimeZone) -> String {
    match at.parse::<jiff::Timestamp>() {
        Ok(t) => {
            let z = t.to_zoned(zone.clone());
            let fraction = if t.subsec_millisecond() != 0 {
                ".%3f"
            } else {
                ""
            };
            z.strftime(&format!("%Y-%m-%d %H:%M:%S{fraction} %Z (%:z)"))
                .to_string()
        }
        Err(_) => at.to_string(),
    }
}

/// Rows under their headings, in columns as wide as their widest cell, each cell on one line.
pub fn write_table(out: &mut impl std::io::Write, headings: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = headings
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{:<w$}", one_line(c)))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(out, "{}", line(headings.to_vec()));
    for r in rows {
        let _ = writeln!(out, "{}", line(r.iter().map(String::as_str).collect()));
    }
}

/// Line numbers for a message: `3, 9, 12` — the first ten, then how many more.
pub fn line_numbers(lines: &[u64]) -> String {
    let shown: Vec<String> = lines.iter().take(10).map(u64::to_string).collect();
    let mut text = shown.join(", ");
    if lines.len() > 10 {
        text.push_str(&format!(" and {} more", lines.len() - 10));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_inert_whatever_they_hold() {
        assert_eq!(inert_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        for lead in ["+1", "-1", "@SUM(A1)"] {
            assert_eq!(inert_cell(lead), format!("'{lead}"));
        }
        assert_eq!(
            inert_cell("\t=1"),
            "\\u{9}=1",
            "a tab is escaped, not obeyed"
        );
        assert_eq!(inert_cell("\r\n"), "\\u{d}\\u{a}");
        assert_eq!(inert_cell("ab\u{202e}cd"), "ab\\u{202e}cd");
        assert_eq!(inert_cell("Session not found"), "Session not found");
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(printable("ok"), "ok");
        assert_eq!(printable("a\u{1b}[2Jb\u{7}"), "a\\u{1b}[2Jb\\u{7}");
        assert_eq!(
            printable("id\u{202e}fdp"),
            "id\\u{202e}fdp",
            "no reversed ids"
        );
        assert_eq!(printable("\u{2066}x"), "\\u{2066}x");
        assert_eq!(printable("two\nlines"), "two\nlines");
        assert_eq!(one_line("cause  here\r\nchain"), "cause here");
        assert_eq!(one_line("a\u{1b}]0;title\u{7}"), "a\\u{1b}]0;title\\u{7}");
    }

    #[test]
    fn times_are_local_with_the_zone_said_in_full() {
        // A POSIX rule, so the test needs no tz database on the machine.
        let paris = jiff::tz::TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("a valid rule");
        assert_eq!(clock_in("2026-11-27T23:59:01Z", &paris), "00:59:01");
        assert_eq!(
            stamp_in("2026-11-27T23:59:01.250Z", &paris),
            "2026-11-28 00:59:01.250 CET (+01:00)"
        );
        assert_eq!(
            stamp_in("2026-07-01T12:00:00Z", &paris),
            "2026-07-01 14:00:00 CEST (+02:00)"
        );
        assert_eq!(clock_in("not a time", &paris), "not a time");
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(Duration::from_millis(42_900)), "42s");
        assert_eq!(duration(Duration::from_secs(192)), "3m12s");
        assert_eq!(duration(Duration::from_secs(3900)), "1h05m");
    }
}
