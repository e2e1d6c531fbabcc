//! The report written out: Markdown for a ticket, CSV a row per session, JSON a line per run, and
//! the one-line-per-run list of `audit runs`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::dispatch::Origin;

use super::{Filter, Format, Read, RunReport, SessionRow, each_run};

/// Writes the report of every run `filter` takes, as `format`; returns what was read.
pub fn write_report(
    reader: impl io::Read,
    filter: &Filter,
    format: Format,
    source: &str,
    out: &mut impl Write,
) -> io::Result<Read> {
    match format {
        Format::Markdown => {
            writeln!(out, "# switchboard incident report\n")?;
            writeln!(out, "From the audit log `{}`.", cell(source))?;
            let read = each_run(reader, filter, |run| markdown(&run, out))?;
            if read.runs == 0 {
                writeln!(out, "\nNo run matches.")?;
            }
            Ok(read)
        }
        Format::Csv => {
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record(CSV_HEADER)?;
            let read = each_run(reader, filter, |run| {
                for s in &run.sessions {
                    // Every cell inert, ids too: a session id is text from a file or a server.
                    let row = csv_row(&run, s).map(|cell| match crate::format::inert_cell(&cell) {
                        Cow::Borrowed(_) => cell,
                        Cow::Owned(inert) => inert,
                    });
                    csv.write_record(row)?;
                }
                Ok(())
            })?;
            csv.flush()?;
            Ok(read)
        }
        Format::Json => each_run(reader, filter, |run| {
            serde_json::to_writer(&mut *out, &run)?;
            writeln!(out)
        }),
    }
}

/// Writes the report of the log at `log` to the file `to` (0600, replacing it), as `format`.
pub fn write_report_file(
    log: &std::path::Path,
    filter: &Filter,
    format: Format,
    to: &std::path::Path,
) -> io::Result<Read> {
    let reader = std::fs::File::open(log)?;
    let mut bytes = Vec::new();
    let read = write_report(
        reader,
        filter,
        format,
        &log.display().to_string(),
        &mut bytes,
    )?;
    crate::output::write_whole(to, &bytes)?;
    Ok(read)
}

/// Writes one line per run: when, who, where, how many, what came of them.
pub fn write_runs(
    reader: impl io::Read,
    filter: &Filter,
    out: &mut impl Write,
) -> io::Result<Read> {
    writeln!(
        out,
        "{:<12}  {:<24}  {:<12}  {:<12}  {:>8}  {:>9}  outcomes · targets",
        "RUN", "STARTED", "USER", "PROFILE", "SESSIONS", "SPAN"
    )?;
    each_run(reader, filter, |run| {
        // A run of priority changes says them; a run of moves, its outcomes and targets.
        let what = if run.sessions.is_empty() && !run.priorities.is_empty() {
            format!("queue priority: {}", run.priority_summary())
        } else {
            format!("{} · {}", counts(&run.outcomes), run.targets.join(", "))
        };
        writeln!(
            out,
            "{:<12}  {:<24}  {:<12}  {:<12}  {:>8}  {:>9}  {}",
            run.run,
            run.started,
            crate::format::printable(run.user.as_deref().unwrap_or("?")),
            crate::format::printable(run.profile.as_deref().unwrap_or("-")),
            run.sessions.len(),
            run.request_span_ms.map(span).unwrap_or_else(|| "-".into()),
            crate::format::printable(&what),
        )
    })
}

fn span(ms: i64) -> String {
    if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        crate::format::duration(std::time::Duration::from_millis(ms.max(0) as u64))
    }
}

/// `38 transferred, 1 rejected`.
fn counts(map: &BTreeMap<String, usize>) -> String {
    let mut pairs: Vec<(&String, &usize)> = map.iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    pairs
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text made safe for a Markdown table cell: one line, no control characters, no `|`. Most text
/// (ids, words) is safe as it is and is not copied.
fn cell(text: &str) -> Cow<'_, str> {
    let plain = text
        .bytes()
        .all(|b| (0x21..0x7f).contains(&b) && !b"|\\`<>[]".contains(&b) || b == b' ')
        && !text.starts_with(' ')
        && !text.ends_with(' ')
        && !text.contains("  ");
    if plain {
        return Cow::Borrowed(text);
    }
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::format::printable(&flat)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('`', "'")
        // No raw HTML, no links: the text of a cell is shown, never rendered as markup.
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .into()
}

fn origin(from: &Option<Origin>) -> String {
    match from {
        None => "unknown".into(),
        Some(o) if o.is_unknown() => "unknown".into(),
        Some(o) => {
            let mut parts = Vec::new();
            if let Some(q) = &o.queue {
                parts.push(format!("queue {q}"));
            }
            match (&o.agent, &o.agent_user) {
                (Some(a), _) => parts.push(format!("agent {a}")),
                (None, Some(u)) => parts.push(format!("agent {u}")),
                (None, None) => {}
            }
            parts.join(", ")
        }
    }
}

fn markdown(run: &RunReport, out: &mut impl Write) -> io::Result<()> {
    fn or_dash(v: &Option<String>) -> Cow<'_, str> {
        cell(v.as_deref().unwrap_or("-"))
    }
    writeln!(out, "\n## Run {}\n", cell(&run.run))?;
    writeln!(
        out,
        "- **Who:** {} (process {})",
        or_dash(&run.user),
        or_dash(&run.process)
    )?;
    writeln!(
        out,
        "- **Where:** profile {}, host {}",
        cell(run.profile.as_deref().unwrap_or("(none)")),
        or_dash(&run.host)
    )?;
    let requests = match (&run.first_request, &run.last_request, run.request_span_ms) {
        (Some(first), Some(last), Some(ms)) => {
            format!("; requests from {first} to {last} ({})", span(ms))
        }
        _ => "; no request sent".into(),
    };
    writeln!(out, "- **When:** began {}{requests}", cell(&run.started))?;
    if !run.priorities.is_empty() {
        writeln!(
            out,
            "- **Queue priority:** {} (the value replaced is what switchboard last set; Kore has no call that reads it)",
            cell(&run.priority_summary())
        )?;
        if run.sessions.is_empty() {
            return Ok(());
        }
    }
    writeln!(out, "- **Target(s):** {}", cell(&run.targets.join(", ")))?;
    writeln!(
        out,
        "- **Sessions:** {}: {}",
        run.sessions.len(),
        counts(&run.outcomes)
    )?;
    writeln!(out, "- **Callbacks:** {}", counts(&run.callbacks))?;
    writeln!(out, "- **Verified:** {}", counts(&run.verified))?;
    writeln!(out)?;
    writeln!(
        out,
        "| Session | From | To | Outcome | HTTP | Server's message | Latency | Callback | Verified |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
    for s in &run.sessions {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&s.session),
            cell(&origin(&s.from)),
            cell(&s.target_label()),
            s.outcome
                .map(|o| o.as_str())
                .unwrap_or("no answer on record"),
            s.http_status.map(|h| h.to_string()).unwrap_or_default(),
            cell(&s.message),
            s.latency_ms
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_default(),
            s.callback.map(|c| c.as_str()).unwrap_or("none"),
            cell(s.verified.as_deref().unwrap_or("-")),
        )?;
    }
    Ok(())
}

const CSV_HEADER: [&str; 19] = [
    "run",
    "user",
    "process",
    "profile",
    "host",
    "started",
    "first_request",
    "last_request",
    "botSessionId",
    "from",
    "to",
    "outcome",
    "http_status",
    "message",
    "latency_ms",
    "attempts",
    "callback",
    "callback_status",
    "verified",
];

fn csv_row(run: &RunReport, s: &SessionRow) -> [String; 19] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        run.run.clone(),
        text(&run.user),
        text(&run.process),
        text(&run.profile),
        text(&run.host),
        run.started.clone(),
        text(&run.first_request),
        text(&run.last_request),
        s.session.clone(),
        origin(&s.from),
        s.target_label(),
        s.outcome
            .map(|o| o.as_str().to_string())
            .unwrap_or_default(),
        s.http_status.map(|h| h.to_string()).unwrap_or_default(),
        s.message.clone(),
        s.latency_ms.map(|l| l.to_string()).unwrap_or_default(),
        s.attempts.to_string(),
        s.callback
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        s.callback_status.clone().unwrap_or_default(),
        text(&s.verified),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(cell("plain words"), "plain words");
        assert_eq!(cell("a|b\nc\x1b[2J  d"), r"a\|b c\\u{1b}\[2J d");
        assert_eq!(
            cell("<img src=x onerror=alert(1)> [click](http://evil)"),
            r"&lt;img src=x onerror=alert(1)&gt; \[click\](http://evil)"
        );
        assert_eq!(cell("id\u{202e}x"), r"id\\u{202e}x", "no reversed text");
    }
}
