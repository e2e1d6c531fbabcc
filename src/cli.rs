//! The command line (SPEC §1). Flags only: the core resolves environment variables and profiles, so
//! precedence and error messages are the same whichever front is used.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use switchboard::config::{Overrides, keys};
use switchboard::mock::TRIGGER_HELP;

/// `0.1.0 (commit 1a2b3c4d5e6f)`: the commit comes from `build.rs`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("SWITCHBOARD_BUILD"),
    ")"
);

#[derive(Parser, Debug)]
#[command(
    name = "switchboard",
    version = VERSION,
    about = "Move live Kore.ai bot conversations to an agent or a queue, paced, confirmed and on record.",
    after_help = "Every global option also reads SWITCHBOARD_<NAME> (e.g. SWITCHBOARD_HOST); precedence is flag > environment > profile > default.\n\
Secrets never go on the command line: SWITCHBOARD_CLIENT_SECRET or SWITCHBOARD_TOKEN, or client_secret_env / client_secret_file / token_env in the profile.\n\
Exit codes: 0 everything done; 1 some session was not transferred; 2 nothing was sent (usage, config or input error)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub global: GlobalArgs,
    /// Run against the built-in stand-in server and the sample data: no account needed.
    #[arg(long)]
    pub demo: bool,
    /// Sessions to load at start (CSV, JSON or JSON Lines).
    #[arg(long, value_name = "FILE")]
    pub sessions: Option<PathBuf>,
    /// Agents to load at start.
    #[arg(long, value_name = "FILE")]
    pub agents: Option<PathBuf>,
    /// Queues to load at start.
    #[arg(long, value_name = "FILE")]
    pub queues: Option<PathBuf>,
}

#[derive(Args, Debug, Default, Clone)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Config file [env: SWITCHBOARD_CONFIG; default: ~/.config/switchboard/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Profile in the config file [env: SWITCHBOARD_PROFILE; default: default_profile]
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Platform base URL, e.g. https://platform.kore.ai
    #[arg(long, global = true, value_name = "URL")]
    pub host: Option<String>,
    /// Stream id (botId), st-...
    #[arg(long, global = true, value_name = "ID")]
    pub stream_id: Option<String>,
    /// Organisation id, o-...
    #[arg(long, global = true, value_name = "ID")]
    pub org_id: Option<String>,
    /// Account id (24 hex digits), sent as the accountid header
    #[arg(long, global = true, value_name = "ID")]
    pub account_id: Option<String>,
    /// Client ID of the JWT app, cs-...
    #[arg(long, global = true, value_name = "ID")]
    pub app_id: Option<String>,
    /// Public base URL for callbacks, when the platform cannot reach the listener directly
    #[arg(long, global = true, value_name = "URL")]
    pub callback_url: Option<String>,
    /// Callback listener address [default: 127.0.0.1:8009]
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Calls per minute, shared by every call of the run [default: 60]. 0 turns pacing off: only for the stand-in and benchmarks, never against Kore
    #[arg(long, global = true, value_name = "PER_MINUTE")]
    pub rate: Option<String>,
    /// Requests in flight at once [default: 4]
    #[arg(long, global = true, value_name = "N")]
    pub concurrency: Option<String>,
    /// Seconds to wait for each answer [default: 15]
    #[arg(long, global = true, value_name = "SECS")]
    pub timeout: Option<String>,
    /// Log file [default: ~/.local/share/switchboard/switchboard.log]
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<String>,
    /// Audit log [default: ~/.local/share/switchboard/audit.jsonl]
    #[arg(long, global = true, value_name = "PATH")]
    pub audit_log: Option<String>,
    /// The shared store (redis://HOST:PORT/DB, rediss:// for TLS) several supervisors share the account's budget and claims through; `none` runs alone [env: SWITCHBOARD_SHARED_STORE]
    #[arg(long, global = true, value_name = "URL")]
    pub shared_store: Option<String>,
    /// Nothing can be sent: live data, check, plans, dry runs and reports still work [env: SWITCHBOARD_READ_ONLY]
    #[arg(long, global = true)]
    pub read_only: bool,
    /// More detail in the log file (-v debug, -vv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides::default();
        o.config = self.config.clone();
        o.profile = self.profile.clone();
        o.set(&keys::HOST, self.host.as_ref());
        o.set(&keys::STREAM_ID, self.stream_id.as_ref());
        o.set(&keys::ORG_ID, self.org_id.as_ref());
        o.set(&keys::ACCOUNT_ID, self.account_id.as_ref());
        o.set(&keys::APP_ID, self.app_id.as_ref());
        o.set(&keys::CALLBACK_URL, self.callback_url.as_ref());
        o.set(&keys::LISTEN, self.listen.as_ref());
        o.set(&keys::RATE, self.rate.as_ref());
        o.set(&keys::CONCURRENCY, self.concurrency.as_ref());
        o.set(&keys::TIMEOUT, self.timeout.as_ref());
        o.set(&keys::LOG_FILE, self.log_file.as_ref());
        o.set(&keys::AUDIT_LOG, self.audit_log.as_ref());
        o.set(&keys::READ_ONLY, self.read_only.then_some("true"));
        o.set(&keys::SHARED_STORE, self.shared_store.as_ref());
        o
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Move sessions to an agent or a queue, paced, and print what came of each
    Assign(AssignArgs),
    /// Write the moves `assign` would make, with what is true now, as a plan to review and apply
    Plan(PlanArgs),
    /// Apply a plan: read the live data again and send only the moves nothing changed under
    Apply(ApplyArgs),
    /// Write the plan that undoes a run: each session it transferred back where it was
    Revert(RevertArgs),
    /// Run only the callback listener; print each callback as one JSON line
    Listen,
    /// Run the built-in AgentAssist stand-in server (for the demo and tests)
    #[command(after_help = TRIGGER_HELP)]
    Mock(MockArgs),
    /// Print a JWT for the active profile (to use with curl); it does not check the credential
    Token,
    /// Call each Kore API once with the active profile and say which works and which scope is missing
    Check,
    /// Print the live data the console shows: open sessions, agents or queues, read from Kore
    Live(LiveArgs),
    /// Print the config file's path, or write a commented template there
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print the account's last 50 moves, callbacks and verifications from the shared store, then
    /// follow them, one JSON line each (for a wallboard or a chat bot)
    Watch {
        /// Start this long ago instead (e.g. 15m, 2h), up to 10,000 events
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        since: Option<std::time::Duration>,
    },
    /// List the sessions runs of this account are moving now or moved in the last 10 minutes
    Claims {
        #[command(subcommand)]
        action: Option<ClaimsAction>,
    },
    /// A queue's settings that an incident may change: its priority
    Queue {
        #[command(subcommand)]
        action: QueueAction,
    },
    /// The audit log: check its hash chain, list its runs, write the incident report
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Print the shell completion script for SHELL (e.g. `switchboard completions bash > /etc/bash_completion.d/switchboard`)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), made from the same definitions as --help: `switchboard man | man -l -`
    Man,
}

#[derive(Subcommand, Debug)]
pub enum ClaimsAction {
    /// End every claim and mark of RUN (a run that is stuck, or moves to send again), on record
    Release {
        #[arg(value_name = "RUN_ID")]
        run: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum QueueAction {
    /// Raise or lower QUEUE's priority (1-10) through Kore's Update Queue Priority, after one
    /// confirmation (Kore applies it only with "Dynamic Queue Reprioritization" on)
    Priority {
        /// The queue: its id or its name (`switchboard live queues` lists them)
        #[arg(value_name = "QUEUE")]
        queue: String,
        /// The new priority, 1 to 10
        #[arg(value_name = "N")]
        priority: String,
        /// Send without asking (needed when not on a terminal)
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditAction {
    /// Check the hash chain; name the first line edited, removed, reordered or torn (exit 1 if any)
    Verify {
        /// The log to check [default: the audit log in force, --audit-log or the data directory]
        #[arg(value_name = "PATH")]
        path: Option<PathBuf>,
    },
    /// List the runs: when, who, profile, how many sessions, what came of them, where they went
    Runs(AuditSelect),
    /// The incident report: per run who, when, where, counts, and one row per session
    Report {
        #[command(flatten)]
        select: AuditSelect,
        /// md pastes into a ticket as it is; csv is a row per session; json a line per run
        #[arg(long, value_enum, default_value = "md")]
        format: ReportFormat,
        /// Write the report here (0600) instead of stdout
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
    },
}

/// Which runs of which log.
#[derive(Args, Debug)]
pub struct AuditSelect {
    /// Only this run (its id, as a run's summary names it)
    #[arg(long, value_name = "ID", conflicts_with = "since")]
    pub run: Option<String>,
    /// Only runs that began since TIME: RFC 3339 (2026-11-28T03:00:00Z) or a span back from now (2h, 30m, 1d)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// The log to read [default: the audit log in force]
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Md,
    Csv,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum ConfigAction {
    /// Print the config file's path
    Path,
    /// Write a commented template to the config file's path (never overwrites)
    Init,
}

/// Which sessions to move: `assign` and `plan` take the same.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("input").required(true).multiple(true).args(["session", "sessions", "from_agent", "from_queue"])))]
pub struct Selectors {
    /// A session to move (botSessionId); repeat for more
    #[arg(long = "session", value_name = "ID")]
    pub session: Vec<String>,
    /// A file of sessions (CSV, JSON, JSON Lines), or - for stdin
    #[arg(long = "sessions", value_name = "FILE|-")]
    pub sessions: Option<PathBuf>,
    /// Every active conversation this agent holds, from the live data (a-..., or a name)
    #[arg(long, value_name = "AGENT")]
    pub from_agent: Option<String>,
    /// Every conversation waiting in this queue, from the live data (qu-..., or a name)
    #[arg(long, value_name = "QUEUE")]
    pub from_queue: Option<String>,
}

/// Where to move them: one agent, one queue, or spread over several agents by free capacity.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["agent", "queue", "spread_agents", "spread_queue"])))]
pub struct Targets {
    /// Move to this agent (aId a-..., or a name: the whole name, or a first or last name that picks one)
    #[arg(long, value_name = "AGENT")]
    pub agent: Option<String>,
    /// Move to this queue (queueId qu-..., or its name)
    #[arg(long, value_name = "QUEUE")]
    pub queue: Option<String>,
    /// Spread over these agents by free capacity, longest-waiting first (ids or names, comma-separated)
    #[arg(long, value_name = "AGENT,…", value_delimiter = ',')]
    pub spread_agents: Vec<String>,
    /// Spread over the agents of this queue by free capacity (an id or a name)
    #[arg(long, value_name = "QUEUE")]
    pub spread_queue: Option<String>,
    /// With a spread: what no agent has room for goes to this queue (else it stays, listed; an id or a name)
    #[arg(long, value_name = "QUEUE")]
    pub overflow_queue: Option<String>,
}

impl Targets {
    pub fn is_spread(&self) -> bool {
        !self.spread_agents.is_empty() || self.spread_queue.is_some()
    }
}

#[derive(Args, Debug)]
pub struct AssignArgs {
    #[command(flatten)]
    pub selectors: Selectors,
    #[command(flatten)]
    pub targets: Targets,
    /// Send sessions another run moved in the last 10 minutes too (one another run is moving now
    /// is never sent)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// How a run goes and reports: `assign` and `apply` take the same.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Print each request as a curl command and send nothing
    #[arg(long)]
    pub dry_run: bool,
    /// One JSON object per session on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// Run the listener and wait up to SECS (at most 3600) after the last answer for the callbacks
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub wait_callbacks: Option<u64>,
    /// Do not ask the server afterwards where each moved session is now
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub selectors: Selectors,
    #[command(flatten)]
    pub targets: Targets,
    /// Write the plan here (JSON) and print it for a reader; without it the JSON goes to stdout
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The plan (from `plan`, `revert` or the console's `:plan save`)
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Send without asking (needed when not on a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Send the moves that drifted, and those another run moved in the last 10 minutes, too
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
pub struct RevertArgs {
    /// The run to undo: its id, as the run's summary and the audit log name it
    #[arg(value_name = "RUN_ID")]
    pub run: String,
    /// Write the plan although the audit log's chain is broken before the run's end (the plan
    /// carries the warning)
    #[arg(long)]
    pub force: bool,
    /// Write the plan here (JSON) and print it for a reader; without it the JSON goes to stdout
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct LiveArgs {
    /// What to read
    #[arg(value_enum)]
    pub what: LiveWhat,
    /// One JSON object per line on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// Sessions only: the conversation statuses to list [default: ACTIVE,OPEN,IDLE,OVERDUE; also
    /// CLOSED, TERMINATED]
    #[arg(long, value_name = "S,…", value_delimiter = ',')]
    pub status: Vec<String>,
    /// Sessions only: longest waiting first, highest priority first, or most negative sentiment
    /// first [default: as Kore lists them]
    #[arg(long, value_enum, value_name = "ORDER")]
    pub sort: Option<SortBy>,
}

/// The orders `live sessions --sort` takes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SortBy {
    Wait,
    Priority,
    Sentiment,
}

impl SortBy {
    pub fn order(self) -> switchboard::triage::SessionOrder {
        use switchboard::triage::SessionOrder;
        match self {
            SortBy::Wait => SessionOrder::Wait,
            SortBy::Priority => SessionOrder::Priority,
            SortBy::Sentiment => SessionOrder::Sentiment,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LiveWhat {
    Sessions,
    Agents,
    Queues,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CallbackChoice {
    Ok,
    Failed,
    Off,
}

#[derive(Args, Debug)]
pub struct MockArgs {
    /// Address to serve on (port 0 picks a free one)
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub bind: SocketAddr,
    /// Calls per rolling minute before answering 429, as Kore does; 0 turns the limit off
    #[arg(long, default_value_t = 60, value_name = "N")]
    pub rate_limit: u32,
    /// The rolling window --rate-limit counts in, in milliseconds (Kore's is a minute)
    #[arg(long, default_value_t = 60_000, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub rate_window_ms: u64,
    /// Refuse every API that needs this scope, as Kore does for a JWT app without it (Routing,
    /// Configuration, "SmartAssist Analytics"); repeat or separate with commas
    #[arg(long, value_name = "SCOPE", value_delimiter = ',', value_parser = parse_scope)]
    pub deny_scope: Vec<switchboard::api::Scope>,
    /// How long a transfer takes to show in the read APIs after it is answered
    #[arg(long, default_value_t = 1_000, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub apply_delay_ms: u64,
    /// Fault: add this many milliseconds before every answer
    #[arg(long, default_value_t = 0, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub latency_ms: u64,
    /// Fault: up to this many milliseconds more, at random, before every answer (network jitter)
    #[arg(long, default_value_t = 0, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub latency_jitter_ms: u64,
    /// How long sessions ending in 0408 wait before answering
    #[arg(long, default_value_t = 30_000, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub slow_ms: u64,
    /// Delay before each callback is posted
    #[arg(long, default_value_t = 300, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub callback_delay_ms: u64,
    /// Fault: what the callbacks say, or none at all
    #[arg(long, value_enum, default_value = "ok")]
    pub callbacks: CallbackChoice,
    /// Fault: answer every assign call with this HTTP status (e.g. 404, 429, 500)
    #[arg(long, value_name = "CODE", value_parser = clap::value_parser!(u16).range(200..600))]
    pub status: Option<u16>,
    /// Fault: the Retry-After (seconds) sent with --status 429
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=31_536_000))]
    pub retry_after: Option<u64>,
    /// Fault: answer 200 with a body that is not JSON
    #[arg(long)]
    pub non_json: bool,
    /// The JWT app's public key (PEM), to accept RS256/RS512 tokens signed with its private key
    #[arg(long, value_name = "PATH")]
    pub public_key_file: Option<PathBuf>,
    /// Serve no simulated contact center: accept any well-formed session, queue and agent id, and
    /// answer the read APIs with empty lists (for benchmarks with made-up ids)
    #[arg(long)]
    pub no_center: bool,
    /// Every SECS, a conversation arrives in the simulated center and another ends (0: never)
    #[arg(long, default_value_t = 0, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub churn_secs: u64,
}

fn parse_scope(text: &str) -> Result<switchboard::api::Scope, String> {
    switchboard::api::Scope::parse(text).ok_or_else(|| {
        format!(
            "unknown scope {text:?}: expected Routing, Configuration or \"SmartAssist Analytics\""
        )
    })
}
