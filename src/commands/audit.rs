//! `switchboard audit verify|runs|report`: the audit log read back. Nothing here sends or needs a
//! credential; the settings only say where the log is.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use switchboard::audit::chain;
use switchboard::audit::report::{self, Filter, Format};
use switchboard::config::{self, Settings};

use super::{Failure, settings};
use crate::cli::{AuditAction, AuditSelect, GlobalArgs, ReportFormat};

pub fn run(global: &GlobalArgs, action: AuditAction) -> Result<ExitCode, Failure> {
    match action {
        AuditAction::Verify { path } => verify(&log_path(global, path)?),
        AuditAction::Runs(select) => {
            let (path, filter) = selected(global, &select)?;
            say_chain_state(&path)?;
            let mut out = BufWriter::new(std::io::stdout().lock());
            let read = report::write_runs(open(&path)?, &filter, &mut out)
                .and_then(|r| out.flush().map(|_| r))
                .map_err(|e| failed_reading(&path, e))?;
            say_unreadable(&path, read.unreadable);
            Ok(ExitCode::SUCCESS)
        }
        AuditAction::Report {
            select,
            format,
            output,
        } => {
            let (path, filter) = selected(global, &select)?;
            say_chain_state(&path)?;
            let format = match format {
                ReportFormat::Md => Format::Markdown,
                ReportFormat::Csv => Format::Csv,
                ReportFormat::Json => Format::Json,
            };
            let read = match &output {
                Some(to) => {
                    // Never over the log it reads, nor any file switchboard keeps.
                    let mut kept = vec![("the audit log it reads", path.clone())];
                    if let Ok(settings) = Settings::load(&global.overrides(), config::process_env())
                    {
                        kept.extend(switchboard::output::kept_files(&settings));
                    }
                    switchboard::output::refuse_kept(to, &kept)?;
                    let read =
                        report::write_report_file(&path, &filter, format, to).map_err(|e| {
                            Failure(format!(
                                "cannot write the report of {} to {}: {e}",
                                path.display(),
                                to.display()
                            ))
                        })?;
                    eprintln!(
                        "switchboard: wrote the report of {} run(s) to {}",
                        read.runs,
                        to.display()
                    );
                    read
                }
                None => {
                    let source = path.display().to_string();
                    let mut out = BufWriter::new(std::io::stdout().lock());
                    report::write_report(open(&path)?, &filter, format, &source, &mut out)
                        .and_then(|r| out.flush().map(|_| r))
                        .map_err(|e| failed_reading(&path, e))?
                }
            };
            say_unreadable(&path, read.unreadable);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What a report is read from, said first (on stderr, so the report itself stays as it is): a
/// whole chain and its last hash, or where it first breaks — what follows a break may have been
/// edited, and is printed all the same, marked so.
fn say_chain_state(path: &Path) -> Result<(), Failure> {
    let v = chain::verify(open(path)?).map_err(|e| failed_reading(path, e))?;
    let shown = path.display();
    match (v.breaks.first(), &v.last_hash) {
        (None, Some(last)) => eprintln!("switchboard: {shown}: chain whole, last hash {last}"),
        (None, None) => eprintln!("switchboard: {shown}: chain whole (no chained line yet)"),
        (Some(first), _) => eprintln!(
            "switchboard: {shown}: chain broken at {first}; what it says may have been edited (`switchboard audit verify` names every break)"
        ),
    }
    Ok(())
}

/// Exit 0 when the chain is whole, 1 when it breaks.
fn verify(path: &Path) -> Result<ExitCode, Failure> {
    let v = chain::verify(open(path)?).map_err(|e| failed_reading(path, e))?;
    let shown = path.display();
    println!(
        "{shown}: {} line(s): {} chained{}",
        v.lines,
        v.chained,
        if v.unchained > 0 {
            format!(
                ", {} written before chaining began (unchained: not checked, not tampering)",
                v.unchained
            )
        } else {
            String::new()
        }
    );
    if v.whole() {
        if let Some(last) = &v.last_hash {
            println!("chain whole; the last line's hash is {last} (keep it to pin the end)");
        } else {
            println!("chain whole (the log is empty)");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let first = &v.breaks[0];
    println!("chain broken: first at {shown} {first}");
    for b in &v.breaks[1..] {
        println!("  also {b}");
    }
    if v.break_count > v.breaks.len() as u64 {
        println!(
            "  and {} more break(s)",
            v.break_count - v.breaks.len() as u64
        );
    }
    Ok(ExitCode::from(1))
}

/// The log named, else the one in force (`--audit-log`, the environment, the profile, the default).
fn log_path(global: &GlobalArgs, named: Option<PathBuf>) -> Result<PathBuf, Failure> {
    match named {
        Some(p) => Ok(p),
        None => Ok(settings(global)?.audit_log()?),
    }
}

fn selected(global: &GlobalArgs, select: &AuditSelect) -> Result<(PathBuf, Filter), Failure> {
    let path = log_path(global, select.log.clone())?;
    let since = select
        .since
        .as_deref()
        .map(|t| Filter::parse_since(t, jiff::Timestamp::now()))
        .transpose()?;
    let filter = Filter {
        run: select.run.clone(),
        since,
        process: None,
    };
    Ok((path, filter))
}

/// The log, read in large batches (`audit::lines`): no buffer of its own.
fn open(path: &Path) -> Result<File, Failure> {
    // A FIFO would never end, a device never say anything true: a plain file, or an error.
    if path.exists() {
        switchboard::output::plain_file_or_absent(path).map_err(|e| failed_reading(path, e))?;
    }
    File::open(path).map_err(|e| failed_reading(path, e))
}

fn failed_reading(path: &Path, e: std::io::Error) -> Failure {
    Failure(format!("cannot read the audit log {}: {e}", path.display()))
}

fn say_unreadable(path: &Path, count: u64) {
    if count > 0 {
        eprintln!(
            "switchboard: {count} line(s) of {} are not records and were skipped; `switchboard audit verify` names them",
            path.display()
        );
    }
}
