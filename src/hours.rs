//! A queue's Hours of Operation, as Kore's page shows them: two-letter days, 12-hour times
//! (`9:00 AM`, `11:59:59.999 PM`), an IANA time zone. Whether the queue is open at a moment, and
//! when it opens next. Special days (holidays) are not read: Kore's page shows only an empty list.

use jiff::Timestamp;
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde_json::Value;

/// One queue's hours.
#[derive(Debug, Clone)]
pub struct Hours {
    pub name: String,
    zone: TimeZone,
    zone_name: String,
    /// Each open span: its day, from, to (inclusive).
    days: Vec<(Weekday, Time, Time)>,
    /// Special days on the schedule, which are not read.
    pub special_days: usize,
}

/// Whether a queue is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenNow {
    Open,
    /// Closed, and when it opens next (`Tue 8:00 AM Asia/Kolkata`), if it ever does.
    Closed {
        opens: Option<String>,
    },
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(rename = "standardDays", default)]
    standard: Option<RawDays>,
    #[serde(rename = "specialDays", default)]
    special: Option<Value>,
}

#[derive(Deserialize)]
struct RawDays {
    #[serde(default)]
    days: Vec<RawDay>,
}

#[derive(Deserialize)]
struct RawDay {
    start: String,
    end: String,
    day: String,
}

impl OpenNow {
    /// What a warning says of a queue closed now: `is closed now; opens Tue 8:00 AM UTC`; none
    /// when it is open.
    pub fn closed_words(&self) -> Option<String> {
        match self {
            OpenNow::Open => None,
            OpenNow::Closed { opens } => Some(match opens {
                Some(when) => format!("is closed now; opens {when}"),
                None => "is closed now; its hours open no day of the week".into(),
            }),
        }
    }
}

/// Reads an Hours of Operation answer; an error says what could not be understood.
pub fn parse(body: &[u8]) -> Result<Hours, String> {
    let raw: Raw =
        serde_json::from_slice(body).map_err(|e| format!("not the documented JSON: {e}"))?;
    let zone_name = raw.timezone.unwrap_or_else(|| "UTC".into());
    let zone = TimeZone::get(&zone_name).map_err(|_| format!("unknown time zone {zone_name:?}"))?;
    let mut days = Vec::new();
    for d in raw.standard.map(|s| s.days).unwrap_or_default() {
        let day = weekday(&d.day).ok_or_else(|| format!("unknown day {:?}", d.day))?;
        let (start, end) = (clock(&d.start)?, clock(&d.end)?);
        days.push((day, start, end));
    }
    let special_days = raw
        .special
        .as_ref()
        .and_then(|s| s.get("days"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    Ok(Hours {
        name: raw.name.unwrap_or_default(),
        zone,
        zone_name,
        days,
        special_days,
    })
}

impl Hours {
    /// Whether the queue is open at `now`, and if not, when it opens next (within a week).
    pub fn at(&self, now: Timestamp) -> OpenNow {
        let here = now.to_zoned(self.zone.clone());
        let (today, time) = (here.weekday(), here.time());
        if self
            .days
            .iter()
            .any(|(d, from, to)| *d == today && *from <= time && time <= *to)
        {
            return OpenNow::Open;
        }
        let mut opens = None;
        for ahead in 0..8i8 {
            let day = today.wrapping_add(ahead);
            let mut starts: Vec<Time> = self
                .days
                .iter()
                .filter(|(d, from, _)| *d == day && (ahead > 0 || *from > time))
                .map(|(_, from, _)| *from)
                .collect();
            starts.sort();
            if let Some(first) = starts.first() {
                opens = Some(format!(
                    "{} {} {}",
                    short_day(day),
                    twelve_hour(*first),
                    self.zone_name
                ));
                break;
            }
        }
        OpenNow::Closed { opens }
    }
}

fn weekday(code: &str) -> Option<Weekday> {
    Some(match code.trim().to_uppercase().as_str() {
        "MO" => Weekday::Monday,
        "TU" => Weekday::Tuesday,
        "WE" => Weekday::Wednesday,
        "TH" => Weekday::Thursday,
        "FR" => Weekday::Friday,
        "SA" => Weekday::Saturday,
        "SU" => Weekday::Sunday,
        _ => return None,
    })
}

fn short_day(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    }
}

/// `9:00 AM`, `11:59:59.999 PM`, `12:00 AM` (midnight).
fn clock(text: &str) -> Result<Time, String> {
    let bad = || format!("unreadable time {text:?}");
    let (hms, half) = text.trim().rsplit_once(' ').ok_or_else(bad)?;
    let pm = match half.to_uppercase().as_str() {
        "AM" => false,
        "PM" => true,
        _ => return Err(bad()),
    };
    let mut parts = hms.split(':');
    let hour: i8 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let minute: i8 = parts.next().unwrap_or("0").parse().map_err(|_| bad())?;
    let (second, milli) = match parts.next() {
        Some(s) => match s.split_once('.') {
            Some((s, ms)) => (
                s.parse::<i8>().map_err(|_| bad())?,
                ms.parse::<i16>().map_err(|_| bad())?,
            ),
            None => (s.parse().map_err(|_| bad())?, 0),
        },
        None => (0, 0),
    };
    if !(1..=12).contains(&hour) {
        return Err(bad());
    }
    let hour = match (hour, pm) {
        (12, false) => 0,
        (12, true) => 12,
        (h, false) => h,
        (h, true) => h + 12,
    };
    Time::new(hour, minute, second, i32::from(milli) * 1_000_000).map_err(|_| bad())
}

fn twelve_hour(t: Time) -> String {
    let (h, half) = match t.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!("{h}:{:02} {half}", t.minute())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kore's sample, nearly as its page shows it.
    const SAMPLE: &str = r#"{
        "name": "Default Hours of Operation(Auto Created)1",
        "standardDays": {"frequency": "WEEKLY", "days": [
            {"start": "9:00 AM", "end": "11:00 PM", "day": "SU"},
            {"start": "12:00 AM", "end": "11:59:59.999 PM", "day": "MO"},
            {"start": "8:00 AM", "end": "5:00 PM", "day": "TU"}
        ]},
        "specialDays": {"frequency": "YEARLY", "days": []},
        "status": "ACTIVE",
        "timezone": "Asia/Kolkata"
    }"#;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn open_within_a_span_in_the_queues_zone_and_says_when_it_opens_next() {
        let hours = parse(SAMPLE.as_bytes()).unwrap();
        // Monday 23:00 in Kolkata (17:30 UTC): open all Monday.
        assert_eq!(hours.at(at("2026-11-30T17:30:00Z")), OpenNow::Open);
        // Tuesday 06:00 in Kolkata: closed until 8 AM.
        assert_eq!(
            hours.at(at("2026-12-01T00:30:00Z")),
            OpenNow::Closed {
                opens: Some("Tue 8:00 AM Asia/Kolkata".into())
            }
        );
        // Tuesday 18:00 in Kolkata: next is Sunday 9 AM.
        assert_eq!(
            hours.at(at("2026-12-01T12:30:00Z")),
            OpenNow::Closed {
                opens: Some("Sun 9:00 AM Asia/Kolkata".into())
            }
        );
        assert_eq!(hours.special_days, 0);
    }

    #[test]
    fn times_read_as_kore_writes_them_and_nonsense_is_an_error() {
        assert_eq!(clock("12:00 AM").unwrap(), Time::midnight());
        assert_eq!(clock("12:30 PM").unwrap(), Time::new(12, 30, 0, 0).unwrap());
        assert_eq!(
            clock("11:59:59.999 PM").unwrap(),
            Time::new(23, 59, 59, 999_000_000).unwrap()
        );
        assert!(clock("25:00 PM").is_err());
        assert!(parse(br#"{"timezone":"Mars/Olympus","standardDays":{"days":[]}}"#).is_err());
    }
}
