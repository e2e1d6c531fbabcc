//! The audit log (SPEC §7): one JSON line per event, appended to a file and written through to the
//! operating system as it happens. The attempt line is written *before* its request is sent, so a crash
//! or a SIGKILL can lose nothing that reached the platform. What goes in is built by the callers from
//! redacted values; this module stamps each line with who and where (run, process, OS user, profile,
//! host), chains it to the line before (`seq`, `prev`: see `chain`) and appends it.

pub mod chain;
mod lines;
pub mod report;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use chain::Link;

/// Who and where, stamped on every line of a process.
#[derive(Debug, Clone, Default)]
pub struct Stamp {
    /// This process's id; a run (one confirmed batch) names itself in its own lines as `run`.
    pub process: String,
    /// The operating-system user the process runs as.
    pub user: String,
    /// The profile in force (none when the settings came from flags and the environment alone).
    pub profile: Option<String>,
    /// The platform host the process is aimed at.
    pub host: Option<String>,
}

impl Stamp {
    /// A process of this OS user with no profile and no host (a bare `listen`, a test).
    pub fn for_process(process: &str) -> Stamp {
        Stamp {
            process: process.to_string(),
            user: os_user(),
            ..Stamp::default()
        }
    }
}

#[derive(Clone)]
pub struct AuditLog {
    file: Arc<Mutex<Appender>>,
    path: PathBuf,
    stamp: Arc<Stamp>,
    /// The run each session was last attempted in by this process, so its callback and
    /// verification lines name the run too.
    runs: Arc<Mutex<HashMap<String, String>>>,
    /// Where each line is also published for the account's other supervisors (a shared store).
    publisher: Option<crate::picture::Publisher>,
}

/// The open file and what this process last wrote to it, so that the next line's link needs no
/// read while nobody else has written since.
struct Appender {
    file: File,
    last: Option<(u64, Link)>,
}

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    ts: String,
    run: Option<&'a str>,
    process: &'a str,
    user: &'a str,
    profile: Option<&'a str>,
    host: Option<&'a str>,
    event: &'a str,
    #[serde(flatten)]
    fields: &'a T,
}

impl AuditLog {
    /// Opens (creating it and its directory if needed) the log at `path` for appending. Every line of
    /// this process carries `stamp`, so one process's lines can be picked out of a shared log.
    pub fn open(path: &Path, stamp: Stamp) -> io::Result<AuditLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        // A plain file only: a link would put the record elsewhere (and the chmod below on its
        // target), a FIFO would swallow it.
        crate::output::plain_file_or_absent(path)?;
        // Private: it names every session moved. Read too, for the line a new one chains to.
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        keep_private(&file);
        Ok(AuditLog {
            file: Arc::new(Mutex::new(Appender { file, last: None })),
            path: path.to_path_buf(),
            stamp: Arc::new(stamp),
            runs: Arc::default(),
            publisher: None,
        })
    }

    /// This log, publishing what it records to the account's shared stream too.
    pub fn publishing(self, publisher: crate::picture::Publisher) -> AuditLog {
        AuditLog {
            publisher: Some(publisher),
            ..self
        }
    }

    /// Waits, at most `within`, until what this log recorded is published to the shared store
    /// (at once without one): for a command about to exit.
    pub async fn published(&self, within: std::time::Duration) {
        if let Some(publisher) = &self.publisher {
            publisher.flushed(within).await;
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn process(&self) -> &str {
        &self.stamp.process
    }

    /// `user@host` of this process, as the account's other supervisors see it.
    pub fn who(&self) -> String {
        format!("{}@{}", self.stamp.user, crate::claims::this_machine())
    }

    /// Notes that `session` is being attempted in `run`: its later lines (callback, verification)
    /// name that run.
    pub fn note_run(&self, session: &str, run: &str) {
        self.runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(session.to_string(), run.to_string());
    }

    /// The run this process last attempted `session` in.
    pub fn run_of(&self, session: &str) -> Option<String> {
        self.runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(session)
            .cloned()
    }

    /// Appends one line, of `run` when it belongs to one. It is handed to the operating system in a
    /// single unbuffered write before this returns, which is what survives a kill of this process.
    /// The file is locked from reading the line it chains to until it is written, so processes
    /// sharing the log keep one chain. If the file ends without a newline (a crash), the line starts
    /// on a new one; a write that fails (a full disk) is rolled back, so no fragment is left to
    /// swallow the next record.
    pub fn record(
        &self,
        run: Option<&str>,
        event: &str,
        fields: &impl Serialize,
    ) -> io::Result<()> {
        self.record_unless(run, event, fields, || false).map(|_| ())
    }

    /// `record`, unless `stopped()` says so once the lock is held: a line that waited for another
    /// writer is not written after its run stopped meanwhile. `Ok(false)` when it was not written.
    pub fn record_unless(
        &self,
        run: Option<&str>,
        event: &str,
        fields: &impl Serialize,
        stopped: impl Fn() -> bool,
    ) -> io::Result<bool> {
        let line = Line {
            ts: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            run,
            process: &self.stamp.process,
            user: &self.stamp.user,
            profile: self.stamp.profile.as_deref(),
            host: self.stamp.host.as_deref(),
            event,
            fields,
        };
        let body = serde_json::to_vec(&line).map_err(io::Error::other)?;
        let mut appender = self.file.lock().unwrap_or_else(|p| p.into_inner());
        appender.file.lock()?;
        if stopped() {
            let _ = appender.file.unlock();
            return Ok(false);
        }
        let published = self.publisher.as_ref().map(|p| (p, body.clone()));
        let written = appender.append(body);
        let _ = appender.file.unlock();
        drop(appender);
        // What is on record is shown to the account's other supervisors (a projection: no body,
        // no message, no token).
        if let (Ok(()), Some((publisher, body))) = (&written, published)
            && let Ok(line) = serde_json::from_slice::<serde_json::Value>(&body)
            && let Some(event) = crate::picture::SharedEvent::from_line(&line, &self.who())
        {
            publisher.publish(event);
        }
        written.map(|()| true)
    }
}

impl Appender {
    /// Links `body` (a JSON object) to the file's last line and appends it; the caller holds the lock.
    fn append(&mut self, mut body: Vec<u8>) -> io::Result<()> {
        let before = self.file.metadata()?.len();
        let (previous, torn) = match self.last {
            Some((len, link)) if len == before => (Some(link), false),
            _ => chain::last_line(&self.file, before)?,
        };
        let link = chain::link_after(previous.as_ref(), &mut body);
        let mut whole = Vec::with_capacity(body.len() + 2);
        if torn {
            whole.push(b'\n');
        }
        whole.extend_from_slice(&body);
        whole.push(b'\n');
        match self.file.write_all(&whole) {
            Ok(()) => {
                self.last = Some((before + whole.len() as u64, link));
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(before);
                self.last = None;
                Err(e)
            }
        }
    }
}

/// The operating-system user this process runs as: its login name, else its uid.
pub fn os_user() -> String {
    // SAFETY: getuid cannot fail; getpwuid_r writes only into the buffers given.
    let uid = unsafe { libc::getuid() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc == 0 && !found.is_null() && !pwd.pw_name.is_null() {
        // SAFETY: on success pw_name points at a NUL-terminated name inside `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        if let Ok(name) = name.to_str()
            && !name.is_empty()
        {
            return name.to_string();
        }
    }
    std::env::var("USER").unwrap_or_else(|_| format!("uid {uid}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn stamp(process: &str) -> Stamp {
        Stamp {
            process: process.into(),
            user: "sup".into(),
            profile: Some("prod".into()),
            host: Some("https://platform.kore.ai".into()),
        }
    }

    #[test]
    fn a_file_that_ends_mid_line_does_not_swallow_the_next_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, "{\"event\":\"attempt\",\"botSess").unwrap();
        let log = AuditLog::open(&path, stamp("p")).unwrap();
        log.record(None, "outcome", &serde_json::json!({"botSessionId": "b"}))
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
        AuditLog::open(&path, stamp("p")).unwrap();
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
        AuditLog::open(&loose, stamp("p")).unwrap();
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
        let log = AuditLog::open(&path, stamp("run-1")).unwrap();
        log.record(
            Some("r1"),
            "attempt",
            &serde_json::json!({"botSessionId": "a"}),
        )
        .unwrap();
        let again = AuditLog::open(&path, stamp("run-2")).unwrap();
        again
            .record(
                Some("r1"),
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
        // Who and where, on every line.
        for line in &lines {
            assert_eq!(line["run"], "r1");
            assert_eq!(line["user"], "sup");
            assert_eq!(line["profile"], "prod");
            assert_eq!(line["host"], "https://platform.kore.ai");
        }
    }
}
