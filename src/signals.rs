//! The signals that end a run from outside, for every front alike: its terminal closed (SIGHUP, a
//! dropped ssh), `kill` (SIGTERM), an interrupt (SIGINT). Each stops the run through the same stop
//! as `x`, and the process exits 128 + the signal's number, as a shell reports one a signal ended.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// SIGHUP, SIGTERM and SIGINT, as one stream. Taken before a console takes the terminal, so none
/// can leave it raw, and before a run sends, so none can lose its record.
pub struct Signals {
    hangup: Signal,
    terminate: Signal,
    interrupt: Signal,
}

impl Signals {
    pub fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            hangup: signal(SignalKind::hangup())?,
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// The next one to come: its number and name.
    pub async fn next(&mut self) -> (i32, &'static str) {
        tokio::select! {
            _ = self.hangup.recv() => (libc::SIGHUP, "SIGHUP"),
            _ = self.terminate.recv() => (libc::SIGTERM, "SIGTERM"),
            _ = self.interrupt.recv() => (libc::SIGINT, "SIGINT"),
        }
    }
}
