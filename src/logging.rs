//! The log file. Logs never go to the terminal (the console draws there, and `assign` prints its
//! results there); they go to `log_file`, by default in the data directory. Other crates log only
//! warnings, so no dependency's debug output can carry a header or a token into the file.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Starts logging to `path` at info (`-v` debug, `-vv` trace, for switchboard's own events).
pub fn init(path: &Path, verbosity: u8) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    crate::output::plain_file_or_absent(path).map_err(|e| format!("the log file: {e}"))?;
    // Private: it names sessions, agents and the tenant.
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot open the log file {}: {e}", path.display()))?;
    crate::audit::keep_private(&file);
    let level = match verbosity {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(EnvFilter::new(format!("warn,switchboard={level}")))
        .try_init()
        .map_err(|e| format!("cannot start logging: {e}"))
}
