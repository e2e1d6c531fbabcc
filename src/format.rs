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

/// Text for a terminal: control characters (ESC, BEL, CR, …) are shown escaped (`\u{1b}`), so
/// text from a server, a file or an id cannot move the cursor, retitle the window or clear the
/// screen. Newlines and tabs stay.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(printable("ok"), "ok");
        assert_eq!(printable("a\u{1b}[2Jb\u{7}"), "a\\u{1b}[2Jb\\u{7}");
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
