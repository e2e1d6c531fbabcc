//! Names the commit the binary was built from, for `--version`: `0.1.0 (commit 1a2b3c4d5e6f)`.
//! Built outside a git checkout (a source tarball), it says so instead.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]);
    // Built again when HEAD moves: a commit, a checkout. Only files that exist are watched: cargo
    // takes a missing one (`packed-refs` before git packs anything) as changed, and would build
    // the binary again on every `cargo build`.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        let branch = git(&["symbolic-ref", "-q", "HEAD"]);
        let watched = ["HEAD".to_string(), "packed-refs".to_string()]
            .into_iter()
            .chain(branch);
        for file in watched {
            let path = std::path::Path::new(&dir).join(&file);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    let described = match commit {
        Some(c) => format!("commit {c}"),
        None => "not built from a git checkout".to_string(),
    };
    println!("cargo:rustc-env=SWITCHBOARD_BUILD={described}");
}
