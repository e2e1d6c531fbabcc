//! Files switchboard writes when asked (a report, a plan, an export): never over a file it keeps —
//! the audit log, the config, the budget ledger, the log file — through links too, and whole or not
//! at all: written to a temporary file beside the target, then renamed into place.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::config::Settings;

/// The files this switchboard keeps, each with what it is, as far as the settings name them.
pub fn kept_files(settings: &Settings) -> Vec<(&'static str, PathBuf)> {
    let mut kept = vec![("the config file", settings.config_path.clone())];
    kept.extend(settings.audit_log().ok().map(|p| ("the audit log", p)));
    kept.extend(
        settings
            .budget_file()
            .ok()
            .map(|p| ("the budget ledger", p)),
    );
    kept.extend(
        settings
            .budget_file()
            .ok()
            .map(|p| ("the claims file", crate::claims::Claims::path_beside(&p))),
    );
    kept.extend(settings.log_file().map(|p| ("the log file", p)));
    kept
}

/// Refuses an output path that is (or links to) a file switchboard keeps.
pub fn refuse_kept(to: &Path, kept: &[(&'static str, PathBuf)]) -> Result<(), String> {
    let target = resolved(to);
    match kept.iter().find(|(_, path)| resolved(path) == target) {
        Some((what, _)) => Err(format!(
            "{} is {what}: nothing is written over it; name another file",
            to.display()
        )),
        None => Ok(()),
    }
}

/// A path as the file system resolves it: the file itself through any links, or, for a file not
/// there yet, its folder resolved and its name.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            parent
                .canonicalize()
                .unwrap_or_else(|_| parent.to_path_buf())
                .join(name)
        }
        _ => path.to_path_buf(),
    }
}

/// Refuses a record (the audit log, the budget ledger, the log file) that is there and is not a
/// plain file: a link, a device, a FIFO. The record would go, or be read from, somewhere else — or
/// never end. Folders on the way may be links; what is absent is created later, as a plain file.
pub fn plain_file_or_absent(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => Ok(()),
        Ok(meta) => {
            let kind = if meta.file_type().is_symlink() {
                "a link"
            } else if meta.file_type().is_dir() {
                "a folder"
            } else {
                "a device, FIFO or socket"
            };
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is {kind}, not a plain file: switchboard keeps its records only in plain files",
                    path.display()
                ),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` to `to`, readable by its owner only (it names sessions and agents): whole or
/// not at all. A link at `to` is replaced, never followed; nothing else is chmodded.
pub fn write_whole(to: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = to
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    let temporary = to.with_file_name(temporary_name);
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, to)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn records_are_plain_files_or_not_there_yet() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("audit.jsonl");
        assert!(plain_file_or_absent(&plain).is_ok(), "absent: made later");
        std::fs::write(&plain, "").unwrap();
        assert!(plain_file_or_absent(&plain).is_ok());
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&plain, &link).unwrap();
        let e = plain_file_or_absent(&link).unwrap_err().to_string();
        assert!(e.contains("is a link"), "{e}");
        let e = plain_file_or_absent(Path::new("/dev/null"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("device, FIFO"), "{e}");
        assert!(plain_file_or_absent(dir.path()).is_err(), "a folder");
    }

    #[test]
    fn a_kept_file_is_refused_by_its_path_and_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        std::fs::write(&audit, "{}\n").unwrap();
        let kept = vec![("the audit log", audit.clone())];
        let e = refuse_kept(&audit, &kept).unwrap_err();
        assert!(e.contains("is the audit log"), "{e}");
        let link = dir.path().join("report.md");
        std::os::unix::fs::symlink(&audit, &link).unwrap();
        assert!(refuse_kept(&link, &kept).is_err(), "through a link too");
        let dotted = dir.path().join("sub/../audit.jsonl");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(refuse_kept(&dotted, &kept).is_err());
        assert!(refuse_kept(&dir.path().join("new.md"), &kept).is_ok());
    }

    #[test]
    fn an_output_is_written_whole_private_and_replaces_a_link_without_following_it() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere.txt");
        std::fs::write(&elsewhere, "keep me").unwrap();
        let to = dir.path().join("plan.json");
        std::os::unix::fs::symlink(&elsewhere, &to).unwrap();
        write_whole(&to, b"{}").unwrap();
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep me");
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "{}");
        let mode = std::fs::metadata(&to).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
