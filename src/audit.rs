//! The audit log (SPEC §7): one JSON line per event, appended to a file and written through to the
//! operating system as it happens. The attempt line is written *before* its request is sent, so a crash
//! or a SIGKILL can lose nothing that reached the platform. What goes in is built by the callers from
//! redacted values; this module only stamps and appends.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;

#[derive(Clone)]
pub struct AuditLog {
    file: Arc<Mutex<File>>,
    path: PathBuf,
    process: Arc<str>,
}

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    ts: String,
    /// This process's id; a run (one confirmed batch) names itself in its own lines as `run`.
    process: &'a str,
    event: &'a str,
    #[serde(flatten)]
    fields: &'a T,
}

impl AuditLog {
    /// Opens (creating it and its directory if needed) the log at `path` for appending. Every line of
    /// this process carries `process`, so one process's lines can be picked out of a shared log.
    pub fn open(path: &Path, process: &str) -> io::Result<AuditLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        // Private: it names every session moved. Read too, to see how the file ends.
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        keep_private(&file);
        Ok(AuditLog {
            file: Arc::new(Mutex::new(file)),
            path: path.to_path_buf(),
            process: process.into(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn process(&self) -> &str {
        &self.process
    }

    /// Appends one line. It is handed to the operating system in a single unbuffered write before this
    /// returns, which is what survives a kill of this process. The file is locked while it is
    /// written (other switchboard processes may share it). If the file ends without a newline (a
    /// crash, another writer), the line starts on a new one; a write that fails (a full disk) is
    /// rolled back, so no fragment is left to swallow the next record.
    pub fn record(&self, event: &str, fields: &impl Serialize) -> io::Result<()> {
        let line = Line {
            ts: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            process: &self.process,
            event,
            fields,
        };
        let mut bytes = serde_json::to_vec(&line).map_err(io::Error::other)?;
        bytes.push(b'\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        file.lock()?;
        let written = append_whole(&mut file, &bytes);
        let _ = file.unlock();
        written
    }
}

/// Writes a whole file that only its owner may read (a plan, an export), replacing what was there.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    keep_private(&file);
    file.write_all(bytes)?;
    file.sync_all()
}

/// Narrows a file an older run (or a loose umask) left readable by others to 0600.
pub fn keep_private(file: &File) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = file.metadata()
        && meta.permissions().mode() & 0o077 != 0
    {
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
}

/// Appends `bytes` on a line of its own, or leaves the file as it was.
fn append_whole(file: &mut File, bytes: &[u8]) -> io::Result<()> {
    let before = file.metadata()?.len();
    let mut last = [0u8; 1];
    let torn = before > 0 && file.read_at(&mut last, before - 1)? == 1 && last[0] != b'\n';
    let mut whole = Vec::with_capacity(bytes.len() + 1);
    if torn {
        whole.push(b'\n');
    }
    whole.extend_from_slice(bytes);
    match file.write_all(&whole) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = file.set_len(before);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_ends_mid_line_does_not_swallow_the_next_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, "{\"event\":\"attempt\",\"botSess").unwrap();
        let log = AuditLog::open(&path, "p").unwrap();
        log.record("outcome", &serde_json::json!({"botSessionId": "b"}))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let last = text.lines().last().unwrap();
        let line: serde_json::Value = serde_json::from_str(last).unwrap();
        assert_eq!(line["botSessionId"], "b");
        assert_eq!(text.lines().count(), 2, "{text}");
    }

    #[test]
    fn the_log_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        AuditLog::open(&path, "p").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        // One an older run left readable by others is narrowed.
        let loose = dir.path().join("loose.jsonl");
        std::fs::write(&loose, "").unwrap();
        std::fs::set_permissions(&loose, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .unwrap();
        AuditLog::open(&loose, "p").unwrap();
        let mode = std::fs::metadata(&loose).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }

    #[test]
    fn lines_are_stamped_and_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/audit.jsonl");
        let log = AuditLog::open(&path, "run-1").unwrap();
        log.record("attempt", &serde_json::json!({"botSessionId": "a"}))
            .unwrap();
        let again = AuditLog::open(&path, "run-2").unwrap();
        again
            .record(
                "outcome",
                &serde_json::json!({"botSessionId": "a", "outcome": "failed"}),
            )
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "attempt");
        assert_eq!(lines[0]["process"], "run-1");
        assert_eq!(lines[1]["outcome"], "failed");
        assert!(lines[1]["ts"].as_str().unwrap().ends_with('Z'));
    }
}
