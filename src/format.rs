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
