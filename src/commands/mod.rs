//! The subcommands. Each is a thin front: it reads its arguments, asks the core to do the work, and
//! prints the result. An `Err` means nothing was sent, and exits 2.

mod assign;
mod audit;
mod check;
mod claims;
mod demo;
mod listen;
mod live;
mod mock;
mod plan;
mod queue;
mod select;
mod watch;

use std::fmt;
use std::process::ExitCode;

use switchboard::config::{self, ConfigError, Settings};
use switchboard::console::{self, Startup, app::Pane};

use crate::cli::{Cli, Command, ConfigAction, GlobalArgs};

/// A usage, config or input error: nothing was sent. Exit code 2.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure(e.0)
    }
}

impl From<switchboard::input::LoadError> for Failure {
    fn from(e: switchboard::input::LoadError) -> Self {
        Failure(e.to_string())
    }
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure(e)
    }
}

/// A command that would send stops here in a read-only process, before it reads or asks anything:
/// a dry run, which sends nothing, still works.
pub fn refuse_if_read_only(settings: &Settings, dry_run: bool) -> Result<(), Failure> {
    if dry_run {
        return Ok(());
    }
    refuse_read_only(
        settings,
        " (--dry-run shows what would be; `plan -o FILE` writes it for later)",
    )
}

/// A read-only process stops here, saying where read-only was turned on, and `hint`.
pub fn refuse_read_only(settings: &Settings, hint: &str) -> Result<(), Failure> {
    match settings.read_only_origin() {
        Some(origin) => Err(Failure(format!(
            "{}; nothing was sent{hint}",
            switchboard::api::read_only_refusal(&origin)
        ))),
        None => Ok(()),
    }
}

/// Shows `what` and asks `question` once, on a terminal; without one, refuses (a pipe cannot say
/// yes), saying to add --yes.
pub fn ask(what: &str, question: &str) -> Result<(), Failure> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Failure(
            "not on a terminal, so nobody can confirm: add --yes to send; nothing was sent".into(),
        ));
    }
    eprint!("{what}");
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure(format!("cannot read the answer: {e}; nothing was sent")))?;
    if answer.trim().eq_ignore_ascii_case("y") || answer.trim().eq_ignore_ascii_case("yes") {
        Ok(())
    } else {
        Err(Failure("not confirmed; nothing was sent".into()))
    }
}

/// Exit 0 when every session was transferred, else 1.
pub fn exit_for(all_transferred: bool) -> ExitCode {
    if all_transferred {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

pub async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Some(Command::Assign(args)) => {
            let settings = shared_settings(&cli.global).await?;
            assign::run(&settings, args).await
        }
        Some(Command::Plan(args)) => {
            let settings = shared_settings(&cli.global).await?;
            plan::plan(&settings, args).await
        }
        Some(Command::Apply(args)) => {
            let settings = shared_settings(&cli.global).await?;
            plan::apply(&settings, args).await
        }
        Some(Command::Revert(args)) => {
            let settings = settings(&cli.global)?;
            plan::revert(&settings, args)
        }
        Some(Command::Check) => {
            let settings = settings(&cli.global)?;
            check::run(&settings).await
        }
        Some(Command::Live(args)) => {
            let settings = shared_settings(&cli.global).await?;
            live::run(&settings, args).await
        }
        Some(Command::Listen) => {
            let settings = shared_settings(&cli.global).await?;
            listen::run(&settings).await
        }
        Some(Command::Mock(args)) => mock::run(&cli.global, args).await,
        Some(Command::Token) => {
            let settings = settings(&cli.global)?;
            let maker = settings.token_maker()?;
            println!(
                "{}",
                maker.next().map_err(|e| Failure(e.to_string()))?.expose()
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Watch { since }) => {
            let settings = shared_settings(&cli.global).await?;
            watch::run(&settings, since).await
        }
        Some(Command::Claims { action }) => {
            let settings = shared_settings(&cli.global).await?;
            claims::run(&settings, action).await
        }
        Some(Command::Queue { action }) => {
            let settings = shared_settings(&cli.global).await?;
            queue::run(&settings, action).await
        }
        Some(Command::Audit { action }) => audit::run(&cli.global, action),
        Some(Command::Completions { shell }) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "switchboard", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man) => {
            let page = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
            page.render(&mut std::io::stdout())
                .map_err(|e| Failure(format!("cannot write the man page: {e}")))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Config { action }) => {
            let (path, _) = config::config_path(&cli.global.overrides(), &config::process_env())?;
            match action {
                ConfigAction::Path => println!("{}", path.display()),
                ConfigAction::Init => {
                    config::write_template(&path)?;
                    println!(
                        "wrote {}; edit the prod profile, then run `switchboard check`",
                        path.display()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let files = start_files(&cli);
            if cli.demo {
                return demo::run(&cli.global, files).await;
            }
            let settings = shared_settings(&cli.global).await?;
            let startup = Startup {
                files,
                ..Startup::default()
            };
            console::run(&settings, startup).await.map_err(Failure)
        }
    }
}

/// The files named on the command line, for the console to load as it opens.
fn start_files(cli: &Cli) -> Vec<(Pane, std::path::PathBuf)> {
    [
        (Pane::Sessions, &cli.sessions),
        (Pane::Agents, &cli.agents),
        (Pane::Queues, &cli.queues),
    ]
    .into_iter()
    .filter_map(|(pane, path)| path.clone().map(|p| (pane, p)))
    .collect()
}

/// The settings, connected to the shared store when one is set: for the commands that pace, send or
/// claim. An unreachable store stops them here (exit 2), before anything is read or sent.
async fn shared_settings(global: &GlobalArgs) -> Result<Settings, Failure> {
    let mut settings = settings(global)?;
    settings.connect_store().await?;
    Ok(settings)
}

/// Loads the settings and starts the log file they name.
fn settings(global: &GlobalArgs) -> Result<Settings, Failure> {
    let settings = Settings::load(&global.overrides(), config::process_env())?;
    for warning in settings.privacy_warnings() {
        eprintln!("switchboard: warning: {warning}");
    }
    switchboard::input::set_max_input_mb(settings.max_input_mb()?);
    start_logging(&settings, global.verbose);
    Ok(settings)
}

fn start_logging(settings: &Settings, verbose: u8) {
    if let Some(path) = settings.log_file()
        && let Err(e) = switchboard::logging::init(&path, verbose)
    {
        eprintln!("switchboard: warning: {e}; continuing without a log file");
    }
}
