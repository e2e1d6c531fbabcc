//! `switchboard`: the command-line front. Parsing is clap's; everything else is the library core.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A closed pipe (`switchboard assign … | head -1`) ends the process quietly, as it does any
    // Unix tool, rather than a write failing into a panic. Everything a run must record is in the
    // audit log before its results are printed.
    // SAFETY: setting a signal's disposition to the default, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // A file size limit (RLIMIT_FSIZE) is a full disk to switchboard: the write fails and is
    // rolled back, and the run stops, rather than the process being killed mid-line.
    // SAFETY: as above.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("switchboard: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(failure) => {
            // Errors can quote files and servers: shown, not obeyed.
            eprintln!(
                "switchboard: {}",
                switchboard::format::printable(&failure.to_string())
            );
            ExitCode::from(2)
        }
    }
}
