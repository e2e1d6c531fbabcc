//! The binary run as a user runs it: in a home directory of its own, aimed at the stand-in.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use switchboard::mock::{MockIdentity, MockServer};
use tokio::process::Command;

use super::SECRET;

pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// A home of its own: no config file, data and logs under the temp dir, no SWITCHBOARD_* from outside.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn audit(&self) -> PathBuf {
        self.path("data/switchboard/audit.jsonl")
    }

    pub fn command(&self) -> Command {
        self.isolated(Command::new(BIN))
    }

    /// A shell line in the same home, for what needs a shell: `ulimit`, `umask`, a pipe.
    pub fn shell(&self) -> Command {
        self.isolated(Command::new("bash"))
    }

    pub fn isolated(&self, mut c: Command) -> Command {
        for (k, _) in std::env::vars() {
            if k.starts_with("SWITCHBOARD_") || k == "KORE_PROD_SECRET" {
                c.env_remove(k);
            }
        }
        c.env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    /// A command aimed at `server` with the right secret and no pacing.
    pub fn against(&self, server: &MockServer) -> Command {
        let mut c = aimed(self.command(), &server.base_url(), server.identity());
        c.env("SWITCHBOARD_RATE", "0");
        c
    }
}

/// `c` aimed at `host` with the stand-in identity's ids and the test secret.
pub fn aimed(mut c: Command, host: &str, id: &MockIdentity) -> Command {
    c.env("SWITCHBOARD_HOST", host)
        .env("SWITCHBOARD_STREAM_ID", &id.stream_id)
        .env("SWITCHBOARD_ORG_ID", &id.org_id)
        .env("SWITCHBOARD_ACCOUNT_ID", &id.account_id)
        .env("SWITCHBOARD_APP_ID", &id.app_id)
        .env("SWITCHBOARD_CLIENT_SECRET", SECRET);
    c
}

pub async fn run(mut c: Command, args: &[&str]) -> Output {
    tokio::time::timeout(Duration::from_secs(60), c.args(args).output())
        .await
        .expect("the command finishes")
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn json_objects(stdout: &[u8]) -> Vec<Value> {
    text(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect()
}
