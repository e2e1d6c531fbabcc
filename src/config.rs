//! Configuration (SPEC §2): profiles in a TOML file, `SWITCHBOARD_*` environment variables and flags,
//! with the precedence flag > environment > profile > default.
//!
//! Every value remembers where it came from, so an error can name the flag, the variable, or the file
//! and line to fix. Values are parsed when a command asks for them: `token` needs only the credential,
//! `assign` needs the whole endpoint, and neither fails for a setting it does not use.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::ids;
use crate::secret::Secret;
use crate::token::{Algorithm, Credential, TokenMaker};

/// A setting: its name in a profile, its flag and its environment variable (where it has them).
#[derive(Debug)]
pub struct Key {
    pub name: &'static str,
    pub flag: Option<&'static str>,
    pub env: Option<&'static str>,
}

macro_rules! keys {
    ($($id:ident = $name:literal, $flag:expr, $env:expr;)*) => {
        $(pub const $id: Key = Key { name: $name, flag: $flag, env: $env };)*
        /// Every key a profile may hold.
        pub const ALL: &[&Key] = &[$(&$id),*];
    };
}

/// The settings a profile, a flag or the environment can hold.
pub mod keys {
    use super::Key;
    keys! {
        HOST = "host", Some("--host"), Some("SWITCHBOARD_HOST");
        STREAM_ID = "stream_id", Some("--stream-id"), Some("SWITCHBOARD_STREAM_ID");
        ORG_ID = "org_id", Some("--org-id"), Some("SWITCHBOARD_ORG_ID");
        ACCOUNT_ID = "account_id", Some("--account-id"), Some("SWITCHBOARD_ACCOUNT_ID");
        APP_ID = "app_id", Some("--app-id"), Some("SWITCHBOARD_APP_ID");
        CLIENT_SECRET_ENV = "client_secret_env", None, None;
        CLIENT_SECRET_FILE = "client_secret_file", None, None;
        TOKEN_ENV = "token_env", None, None;
        ENFORCE_JTI = "enforce_jti", None, Some("SWITCHBOARD_ENFORCE_JTI");
        RATE = "rate_per_minute", Some("--rate"), Some("SWITCHBOARD_RATE");
        CONCURRENCY = "concurrency", Some("--concurrency"), Some("SWITCHBOARD_CONCURRENCY");
        TIMEOUT = "timeout_secs", Some("--timeout"), Some("SWITCHBOARD_TIMEOUT");
        LISTEN = "listen", Some("--listen"), Some("SWITCHBOARD_LISTEN");
        CALLBACK_URL = "callback_url", Some("--callback-url"), Some("SWITCHBOARD_CALLBACK_URL");
        CALLBACK_TOKEN = "callback_token", None, Some("SWITCHBOARD_CALLBACK_TOKEN");
        CALLBACK_WAIT = "callback_wait_secs", None, Some("SWITCHBOARD_CALLBACK_WAIT_SECS");
        LOG_FILE = "log_file", Some("--log-file"), Some("SWITCHBOARD_LOG_FILE");
        AUDIT_LOG = "audit_log", Some("--audit-log"), Some("SWITCHBOARD_AUDIT_LOG");
        LIVE = "live", None, Some("SWITCHBOARD_LIVE");
        REFRESH_SECS = "refresh_secs", None, Some("SWITCHBOARD_REFRESH_SECS");
        BUDGET_FILE = "budget_file", None, Some("SWITCHBOARD_BUDGET_FILE");
        RATE_WINDOW_MS = "rate_window_ms", None, Some("SWITCHBOARD_RATE_WINDOW_MS");
        ALGORITHM = "algorithm", None, Some("SWITCHBOARD_ALGORITHM");
        PRIVATE_KEY_FILE = "private_key_file", None, Some("SWITCHBOARD_PRIVATE_KEY_FILE");
        MAX_RETRY_WAIT = "max_retry_wait_secs", None, Some("SWITCHBOARD_MAX_RETRY_WAIT_SECS");
        ALLOW_INSECURE_HTTP = "allow_insecure_http", None, Some("SWITCHBOARD_ALLOW_INSECURE_HTTP");
        MAX_INPUT_MB = "max_input_mb", None, Some("SWITCHBOARD_MAX_INPUT_MB");
        READ_ONLY = "read_only", Some("--read-only"), Some("SWITCHBOARD_READ_ONLY");
        SHARED_STORE = "shared_store", Some("--shared-store"), Some("SWITCHBOARD_SHARED_STORE");
        SHARED_STORE_PASSWORD_FILE = "shared_store_password_file", None, None;
        ALERT_OFFLINE_CHATS = "alert_offline_chats", None, Some("SWITCHBOARD_ALERT_OFFLINE_CHATS");
        ALERT_QUEUE_WAITING = "alert_queue_waiting", None, Some("SWITCHBOARD_ALERT_QUEUE_WAITING");
        ALERT_OVERDUE = "alert_overdue", None, Some("SWITCHBOARD_ALERT_OVERDUE");
        IID = "iid", None, Some("SWITCHBOARD_IID");
    }
}

pub const ENV_CONFIG: &str = "SWITCHBOARD_CONFIG";
pub const ENV_PROFILE: &str = "SWITCHBOARD_PROFILE";
pub const ENV_CLIENT_SECRET: &str = "SWITCHBOARD_CLIENT_SECRET";
pub const ENV_TOKEN: &str = "SWITCHBOARD_TOKEN";
pub const ENV_SHARED_STORE_PASSWORD: &str = "SWITCHBOARD_SHARED_STORE_PASSWORD";

pub const DEFAULT_RATE_PER_MINUTE: u32 = 60;
pub const DEFAULT_CONCURRENCY: usize = 4;
pub const DEFAULT_TIMEOUT_SECS: u64 = 15;
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8009";
pub const DEFAULT_CALLBACK_WAIT_SECS: u64 = 60;
pub const DEFAULT_REFRESH_SECS: u64 = 30;
pub const DEFAULT_MAX_RETRY_WAIT_SECS: u64 = 120;
/// The calls a minute Kore documents for an account's contact-center APIs (kore-api.md).
pub const KORE_RATE_PER_MINUTE: u32 = 60;
pub const MIN_CALLBACK_TOKEN_CHARS: usize = 16;

/// The commented template that `config init` writes.
pub const TEMPLATE: &str = include_str!("../assets/config.toml");

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Reads an environment variable; tests pass a map instead of the process environment.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

pub fn process_env() -> EnvLookup {
    // An empty variable counts as unset — except the callback token, where an empty one is a
    // mistake (`SWITCHBOARD_CALLBACK_TOKEN=$UNSET`) to refuse rather than a token to ignore.
    Arc::new(|name| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty() || keys::CALLBACK_TOKEN.env == Some(name))
    })
}

pub fn env_from(pairs: &[(&str, &str)]) -> EnvLookup {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Arc::new(move |name| map.get(name).cloned())
}

/// What the command line said; everything it did not say is `None`.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub profile: Option<String>,
    /// Read no config file at all (the demo, which must not pick up a real tenant's settings).
    pub no_config_file: bool,
    values: HashMap<&'static str, String>,
}

impl Overrides {
    pub fn has(&self, key: &Key) -> bool {
        self.values.contains_key(key.name)
    }

    pub fn set(&mut self, key: &Key, value: Option<impl ToString>) {
        if let Some(v) = value {
            self.values.insert(key.name, v.to_string());
        }
    }
}

/// Where a value came from: what the user must change to change it.
#[derive(Debug, Clone)]
pub enum Origin {
    Flag(&'static str),
    Env(&'static str),
    File {
        path: PathBuf,
        line: usize,
        key: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "flag {flag}"),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::File { path, line, key } => write!(f, "{} line {line} ({key})", path.display()),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigDoc {
    default_profile: Option<Spanned<String>>,
    #[serde(default)]
    profiles: BTreeMap<String, Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
    #[serde(default)]
    keys: BTreeMap<String, Spanned<toml::Value>>,
}

/// The resolved configuration of one process run.
#[derive(Clone)]
pub struct Settings {
    pub config_path: PathBuf,
    pub config_exists: bool,
    /// The active profile's name, when there is one.
    pub profile: Option<String>,
    values: HashMap<&'static str, (String, Origin)>,
    /// `[keys]` rebindings for the console, each with its line.
    pub key_bindings: Vec<(String, String, usize)>,
    env: EnvLookup,
    /// The shared store, once connected (`connect_store`): the pacer and the claims use it.
    store: Option<crate::store::SharedStore>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("config_path", &self.config_path)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

/// The default config file: `~/.config/switchboard/config.toml` on Linux.
pub fn default_config_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

/// The directory for the audit log and the log file: `~/.local/share/switchboard` on Linux.
pub fn data_dir() -> Option<PathBuf> {
    project_dirs().map(|d| d.data_dir().to_path_buf())
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "switchboard")
}

/// The config file this run uses: `--config`, else `SWITCHBOARD_CONFIG`, else the default path.
pub fn config_path(overrides: &Overrides, env: &EnvLookup) -> Result<(PathBuf, bool), ConfigError> {
    if let Some(p) = &overrides.config {
        return Ok((p.clone(), true));
    }
    if let Some(p) = env(ENV_CONFIG) {
        return Ok((PathBuf::from(p), true));
    }
    default_config_path().map(|p| (p, false)).ok_or_else(|| {
        ConfigError("cannot find a home directory for the config file; pass --config PATH".into())
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Settings {
    pub fn load(overrides: &Overrides, env: EnvLookup) -> Result<Settings, ConfigError> {
        let (config_path, explicit) = config_path(overrides, &env)?;
        let text = match std::fs::read_to_string(&config_path) {
            _ if overrides.no_config_file => None,
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => None,
            Err(e) => {
                return Err(ConfigError(format!(
                    "cannot read config file {}: {e}",
                    config_path.display()
                )));
            }
        };
        let doc: ConfigDoc = match &text {
            // The line and toml's words, but not the line's text: it may hold a secret.
            Some(t) => toml::from_str(t).map_err(|e: toml::de::Error| {
                let line = e.span().map(|s| line_of(t, s.start)).unwrap_or(1);
                ConfigError(format!(
                    "config file {} line {line}: {}",
                    config_path.display(),
                    e.message().trim_end()
                ))
            })?,
            None => ConfigDoc::default(),
        };
        let file_text = text.as_deref().unwrap_or("");

        let profile = Self::choose_profile(
            overrides,
            &env,
            &doc,
            &config_path,
            file_text,
            text.is_some(),
        )?;
        let mut values = HashMap::new();
        if let Some(name) = &profile {
            let table = doc.profiles[name].get_ref();
            for (key, value) in table {
                let line = line_of(file_text, value.span().start);
                let Some(known) = keys::ALL.iter().find(|k| k.name == key) else {
                    let names: Vec<&str> = keys::ALL.iter().map(|k| k.name).collect();
                    return Err(ConfigError(format!(
                        "config file {} line {line}: unknown key `{key}` in [profiles.{name}]; known keys: {}",
                        config_path.display(),
                        names.join(", ")
                    )));
                };
                let raw = match value.get_ref() {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    other => {
                        return Err(ConfigError(format!(
                            "config file {} line {line}: `{key}` must be a string, number or true/false, not a {}",
                            config_path.display(),
                            other.type_str()
                        )));
                    }
                };
                let origin = Origin::File {
                    path: config_path.clone(),
                    line,
                    key: format!("profiles.{name}.{key}"),
                };
                values.insert(known.name, (raw, origin));
            }
        }
        for key in keys::ALL {
            if let Some(var) = key.env
                && let Some(v) = env(var)
            {
                values.insert(key.name, (v, Origin::Env(var)));
            }
            if let (Some(flag), Some(v)) = (key.flag, overrides.values.get(key.name)) {
                values.insert(key.name, (v.clone(), Origin::Flag(flag)));
            }
        }
        let key_bindings = doc
            .keys
            .iter()
            .map(|(action, v)| {
                let line = line_of(file_text, v.span().start);
                match v.get_ref() {
                    toml::Value::String(s) => Ok((action.clone(), s.clone(), line)),
                    _ => Err(ConfigError(format!(
                        "config file {} line {line}: [keys] {action} must be a string such as \"ctrl-r\"",
                        config_path.display()
                    ))),
                }
            })
            .collect::<Result<_, _>>()?;
        let settings = Settings {
            config_exists: text.is_some(),
            config_path,
            profile,
            values,
            key_bindings,
            env,
            store: None,
        };
        settings.check_bounds()?;
        Ok(settings)
    }

    /// Every number and duration, checked at once: an absurd one stops the command before it
    /// does anything, naming where it came from, whether or not this command reads it.
    fn check_bounds(&self) -> Result<(), ConfigError> {
        self.rate_per_minute()?;
        self.concurrency()?;
        self.timeout()?;
        self.callback_wait()?;
        self.refresh_every()?;
        self.max_retry_wait()?;
        self.max_input_mb()?;
        self.read_only()?;
        self.check_callback_token()?;
        // The endpoint's parts, where they are set (not every command needs them).
        if self.raw(&keys::HOST).is_some() {
            self.host()?;
        }
        if self.raw(&keys::ACCOUNT_ID).is_some() {
            self.account_id()?;
        }
        self.listen()?;
        Ok(())
    }

    fn choose_profile(
        overrides: &Overrides,
        env: &EnvLookup,
        doc: &ConfigDoc,
        path: &Path,
        text: &str,
        exists: bool,
    ) -> Result<Option<String>, ConfigError> {
        let (name, asked_by) = if let Some(p) = &overrides.profile {
            (p.clone(), "--profile".to_string())
        } else if let Some(p) = env(ENV_PROFILE) {
            (p, ENV_PROFILE.to_string())
        } else if let Some(p) = &doc.default_profile {
            let line = line_of(text, p.span().start);
            (
                p.get_ref().clone(),
                format!("default_profile at {} line {line}", path.display()),
            )
        } else {
            return match doc.profiles.len() {
                0 => Ok(None),
                1 => Ok(doc.profiles.keys().next().cloned()),
                _ => Err(ConfigError(format!(
                    "config file {} has profiles {} but no default_profile: pass --profile NAME or set default_profile",
                    path.display(),
                    doc.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                ))),
            };
        };
        if doc.profiles.contains_key(&name) {
            return Ok(Some(name));
        }
        if !exists {
            return Err(ConfigError(format!(
                "profile `{name}` ({asked_by}) not found: there is no config file at {}; run `switchboard config init` to write one",
                path.display()
            )));
        }
        let known: Vec<_> = doc.profiles.keys().cloned().collect();
        Err(ConfigError(format!(
            "profile `{name}` ({asked_by}) is not in {}; it has: {}",
            path.display(),
            if known.is_empty() {
                "no profiles".into()
            } else {
                known.join(", ")
            }
        )))
    }

    /// How to set `key`, for an error message.
    fn how_to_set(&self, key: &Key) -> String {
        let mut ways: Vec<String> = Vec::new();
        if let Some(f) = key.flag {
            ways.push(f.into());
        }
        if let Some(e) = key.env {
            ways.push(e.into());
        }
        let place = match &self.profile {
            Some(p) => format!(
                "{} in [profiles.{p}] of {}",
                key.name,
                self.config_path.display()
            ),
            None => format!(
                "{} in a profile of {}",
                key.name,
                self.config_path.display()
            ),
        };
        ways.push(place);
        let last = ways.pop().unwrap_or_default();
        let mut text = if ways.is_empty() {
            last
        } else {
            format!("{}, or {last}", ways.join(", "))
        };
        if !self.config_exists {
            text.push_str(" (`switchboard config init` writes a commented template)");
        }
        text
    }

    fn raw(&self, key: &Key) -> Option<&(String, Origin)> {
        self.values.get(key.name)
    }

    fn missing(&self, key: &Key) -> ConfigError {
        ConfigError(format!(
            "missing setting `{}`: set {}",
            key.name,
            self.how_to_set(key)
        ))
    }

    /// Parses an optional setting; a bad value names its origin and what was expected.
    fn parsed<T>(
        &self,
        key: &Key,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        match self.raw(key) {
            None => Ok(None),
            Some((raw, origin)) => parse(raw.trim()).map(Some).ok_or_else(|| {
                ConfigError(format!(
                    "invalid `{}` {:?} from {origin}: expected {expected}",
                    key.name,
                    without_password(raw)
                ))
            }),
        }
    }

    fn required_string(&self, key: &Key) -> Result<String, ConfigError> {
        match self.raw(key) {
            Some((v, _)) if !v.trim().is_empty() => Ok(v.trim().to_string()),
            _ => Err(self.missing(key)),
        }
    }

    /// The platform's base URL, without a trailing slash. A bare host name gets `https://`. It is
    /// a scheme, a host and maybe a port, nothing more: a path, query, fragment or `user:password@`
    /// would change every request. Plain `http://` is for loopback, or with `allow_insecure_http`.
    pub fn host(&self) -> Result<String, ConfigError> {
        self.required_string(&keys::HOST)?;
        let host = self
            .parsed(
                &keys::HOST,
                "a URL such as https://platform.kore.ai: a scheme, a host and maybe a port, with no path, query, fragment or user:password@",
                |v| {
                    let with_scheme = if v.contains("://") {
                        v.to_string()
                    } else {
                        format!("https://{v}")
                    };
                    let url = url::Url::parse(&with_scheme).ok()?;
                    let bare = url.username().is_empty()
                        && url.password().is_none()
                        && url.query().is_none()
                        && url.fragment().is_none()
                        && matches!(url.path(), "" | "/");
                    (matches!(url.scheme(), "http" | "https") && url.host().is_some() && bare)
                        .then(|| with_scheme.trim_end_matches('/').to_string())
                },
            )?
            .expect("checked present");
        let insecure = self
            .parsed(&keys::ALLOW_INSECURE_HTTP, "true or false", parse_bool)?
            .unwrap_or(false);
        if host.starts_with("http://") && !crate::api::is_loopback_url(&host) && !insecure {
            let (_, origin) = self.raw(&keys::HOST).expect("checked present");
            return Err(ConfigError(format!(
                "`host` {host} from {origin} is plain http: the token would cross the network unencrypted. Use https://, or set allow_insecure_http = true if you must"
            )));
        }
        Ok(host)
    }

    pub fn stream_id(&self) -> Result<String, ConfigError> {
        self.required_string(&keys::STREAM_ID)?;
        self.parsed(
            &keys::STREAM_ID,
            "an id such as st-<uuid> (letters, digits and -)",
            |v| ids::is_path_safe(v).then(|| v.to_string()),
        )
        .map(|v| v.expect("checked present"))
    }

    pub fn org_id(&self) -> Result<String, ConfigError> {
        self.required_string(&keys::ORG_ID)
    }

    /// The `accountid` header's value: visible characters only, since a CR or LF would start
    /// another header.
    pub fn account_id(&self) -> Result<String, ConfigError> {
        self.required_string(&keys::ACCOUNT_ID)?;
        self.parsed(
            &keys::ACCOUNT_ID,
            "an id of visible characters (no spaces, CR, LF or other control characters)",
            |v| header_safe(v).then(|| v.to_string()),
        )
        .map(|v| v.expect("checked present"))
    }

    pub fn rate_per_minute(&self) -> Result<u32, ConfigError> {
        Ok(self
            .parsed(
                &keys::RATE,
                "a whole number of calls per minute from 0 to 6000 (0 turns pacing off)",
                |v| v.parse().ok().filter(|n| *n <= 6000),
            )?
            .unwrap_or(DEFAULT_RATE_PER_MINUTE))
    }

    /// The window the rate counts in: Kore's minute. A shorter one is for tests against the stand-in
    /// on loopback only, since against Kore it would overspend the budget.
    pub fn rate_window(&self) -> Result<Duration, ConfigError> {
        let Some(ms) = self.parsed(
            &keys::RATE_WINDOW_MS,
            "a whole number of milliseconds from 100 to 60000",
            |v| v.parse().ok().filter(|n| (100..=60_000).contains(n)),
        )?
        else {
            return Ok(Duration::from_secs(60));
        };
        if ms != 60_000 && !crate::api::is_loopback_url(&self.host()?) {
            let (_, origin) = self.raw(&keys::RATE_WINDOW_MS).expect("parsed above");
            return Err(ConfigError(format!(
                "`rate_window_ms` {ms} from {origin} is only for a stand-in on loopback: Kore counts a minute"
            )));
        }
        Ok(Duration::from_millis(ms))
    }

    /// The rate for a run that sends: `--rate 0` (pacing off) only against a host on loopback, since
    /// against Kore nothing would keep the account under its limit.
    pub fn sending_rate(&self) -> Result<u32, ConfigError> {
        let rate = self.rate_per_minute()?;
        if rate == 0 && !crate::api::is_loopback_url(&self.host()?) {
            let origin = self
                .raw(&keys::RATE)
                .map(|(_, o)| o.to_string())
                .unwrap_or_else(|| "the settings".into());
            return Err(ConfigError(format!(
                "rate 0 (pacing off, from {origin}) is only for a stand-in on loopback; {} is not: set --rate to at most 60",
                self.host()?
            )));
        }
        Ok(rate)
    }

    /// A warning when the rate is over Kore's documented 60 calls a minute against a host that is
    /// not on loopback: the platform refuses the excess, and every refusal slows the account.
    pub fn rate_warning(&self) -> Option<String> {
        let rate = self.rate_per_minute().ok()?;
        let host = self.host().ok()?;
        (rate > KORE_RATE_PER_MINUTE && !crate::api::is_loopback_url(&host)).then(|| {
            let origin = self
                .raw(&keys::RATE)
                .map(|(_, o)| o.to_string())
                .unwrap_or_else(|| "the settings".into());
            format!(
                "rate {rate} a minute (from {origin}) is over the {KORE_RATE_PER_MINUTE} Kore allows an account: {host} will refuse calls beyond it, and the pacer slows to what it sees allowed; set --rate to at most {KORE_RATE_PER_MINUTE}"
            )
        })
    }

    /// The file through which every switchboard process of this account on this machine shares one
    /// call budget: `budget/<account id>.ledger` in the data directory.
    pub fn budget_file(&self) -> Result<PathBuf, ConfigError> {
        if let Some((v, _)) = self.raw(&keys::BUDGET_FILE) {
            return Ok(PathBuf::from(v.trim()));
        }
        let account: String = self
            .account_id()?
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        data_dir()
            .map(|d| d.join("budget").join(format!("{account}.ledger")))
            .ok_or_else(|| self.missing(&keys::BUDGET_FILE))
    }

    pub fn concurrency(&self) -> Result<usize, ConfigError> {
        Ok(self
            .parsed(&keys::CONCURRENCY, "a whole number from 1 to 1024", |v| {
                v.parse().ok().filter(|n| (1..=1024).contains(n))
            })?
            .unwrap_or(DEFAULT_CONCURRENCY))
    }

    pub fn timeout(&self) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(
            self.parsed(
                &keys::TIMEOUT,
                "a whole number of seconds from 1 to 600",
                |v| v.parse().ok().filter(|n| (1..=600).contains(n)),
            )?
            .unwrap_or(DEFAULT_TIMEOUT_SECS),
        ))
    }

    /// The listener's address. One on every interface (`0.0.0.0`) needs `callback_url`: the
    /// platform cannot call back to 0.0.0.0.
    pub fn listen(&self) -> Result<SocketAddr, ConfigError> {
        let addr: SocketAddr = self
            .parsed(&keys::LISTEN, "an address such as 127.0.0.1:8009", |v| {
                v.parse().ok()
            })?
            .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default"));
        if addr.ip().is_unspecified() && self.callback_url()?.is_none() {
            let (_, origin) = self.raw(&keys::LISTEN).expect("the default is loopback");
            return Err(ConfigError(format!(
                "`listen` {addr} from {origin} is every interface, and the platform cannot call back to {}: set callback_url (--callback-url) to the address it can reach",
                addr.ip()
            )));
        }
        Ok(addr)
    }

    /// The public base URL the platform posts callbacks to, when the listener is not directly reachable.
    pub fn callback_url(&self) -> Result<Option<url::Url>, ConfigError> {
        self.parsed(&keys::CALLBACK_URL, "an http:// or https:// URL", |v| {
            url::Url::parse(v)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        })
    }

    /// The `IId` header of Hours of Operation, when it is not the stream id (Kore: "the appId or
    /// streamId").
    pub fn iid(&self) -> Option<String> {
        self.raw(&keys::IID)
            .map(|(v, _)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// When the console raises an alert: chats an OFFLINE or AWAY agent holds, sessions waiting in a
    /// queue nobody AVAILABLE serves, conversations OVERDUE (each at least 1).
    pub fn alert_thresholds(&self) -> Result<(u64, u64, u64), ConfigError> {
        let at_least_one = |key: &Key| {
            self.parsed(key, "a whole number from 1 to 100000", |v| {
                v.parse::<u64>().ok().filter(|n| (1..=100_000).contains(n))
            })
            .map(|n| n.unwrap_or(1))
        };
        Ok((
            at_least_one(&keys::ALERT_OFFLINE_CHATS)?,
            at_least_one(&keys::ALERT_QUEUE_WAITING)?,
            at_least_one(&keys::ALERT_OVERDUE)?,
        ))
    }

    /// The shared store several supervisors' processes share the account's budget, claims and
    /// picture through: `redis://HOST:PORT/DB` or `rediss://…` (TLS). `None` when unset or `none`
    /// (this machine's files only). A URL with a password in it is refused: the password comes
    /// from `shared_store_password_file` or the environment, never from a URL that is shown.
    pub fn shared_store(&self) -> Result<Option<url::Url>, ConfigError> {
        let Some((raw, origin)) = self.raw(&keys::SHARED_STORE) else {
            return Ok(None);
        };
        let raw = raw.trim();
        if raw.is_empty() || raw.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        let bad = |why: &str| {
            ConfigError(format!(
                "`shared_store` {} from {origin}: {why}",
                without_password(raw)
            ))
        };
        let url = url::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "redis" | "rediss") || url.host().is_none() {
            return Err(bad(
                "must be redis://HOST:PORT/DB or rediss://HOST:PORT/DB (TLS)",
            ));
        }
        if url.password().is_some() {
            return Err(bad(&format!(
                "a password in the URL would be shown wherever the URL is; put it in shared_store_password_file or {ENV_SHARED_STORE_PASSWORD}"
            )));
        }
        Ok(Some(url))
    }

    /// The shared store's password: `SWITCHBOARD_SHARED_STORE_PASSWORD`, else the file
    /// `shared_store_password_file` names, else none.
    pub fn shared_store_password(&self) -> Result<Option<Secret>, ConfigError> {
        if let Some(p) = (self.env)(ENV_SHARED_STORE_PASSWORD) {
            return Ok(Some(Secret::new(p.trim())));
        }
        let Some((file, origin)) = self.raw(&keys::SHARED_STORE_PASSWORD_FILE) else {
            return Ok(None);
        };
        let value = std::fs::read_to_string(file.trim()).map_err(|e| {
            ConfigError(format!(
                "shared_store_password_file ({origin}): cannot read {file}: {e}"
            ))
        })?;
        Ok(Some(Secret::new(value.trim())))
    }

    /// Connects to the shared store, when one is set: every later pacer and claims of this process
    /// use it. Unreachable → an error that says what to do (`--shared-store none` runs alone).
    pub async fn connect_store(&mut self) -> Result<(), ConfigError> {
        let Some(url) = self.shared_store()? else {
            return Ok(());
        };
        let password = self.shared_store_password()?;
        let store = crate::store::SharedStore::connect(
            &url,
            password.as_ref(),
            &self.account_id()?,
            self.timeout()?,
        )
        .await
        .map_err(ConfigError)?;
        self.store = Some(store);
        Ok(())
    }

    /// The shared store this process is connected to.
    pub fn store(&self) -> Option<&crate::store::SharedStore> {
        self.store.as_ref()
    }

    pub fn callback_token(&self) -> Option<Secret> {
        self.raw(&keys::CALLBACK_TOKEN)
            .map(|(v, _)| Secret::new(v.trim()))
    }

    /// A set callback token must be one worth guessing: an empty or short one would let anyone who
    /// can reach the listener post callbacks (and fill the audit log).
    fn check_callback_token(&self) -> Result<(), ConfigError> {
        match self.raw(&keys::CALLBACK_TOKEN) {
            Some((v, origin)) if v.trim().chars().count() < MIN_CALLBACK_TOKEN_CHARS => {
                Err(ConfigError(format!(
                    "`callback_token` from {origin} is {}: it must be at least {MIN_CALLBACK_TOKEN_CHARS} characters (or unset, for a random one per run)",
                    if v.trim().is_empty() {
                        "empty"
                    } else {
                        "too short"
                    }
                )))
            }
            _ => Ok(()),
        }
    }

    pub fn callback_wait(&self) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(
            self.parsed(
                &keys::CALLBACK_WAIT,
                "a whole number of seconds from 0 to 3600",
                |v| v.parse().ok().filter(|n| *n <= 3600),
            )?
            .unwrap_or(DEFAULT_CALLBACK_WAIT_SECS),
        ))
    }

    /// Whether the console fills its panes from Kore's live data at start.
    pub fn live(&self) -> Result<bool, ConfigError> {
        Ok(self
            .parsed(&keys::LIVE, "true or false", parse_bool)?
            .unwrap_or(false))
    }

    /// How often live data is refreshed.
    pub fn refresh_every(&self) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(
            self.parsed(
                &keys::REFRESH_SECS,
                "a whole number of seconds from 5 to 3600",
                |v| v.parse().ok().filter(|n| (5..=3600).contains(n)),
            )?
            .unwrap_or(DEFAULT_REFRESH_SECS),
        ))
    }

    /// Warnings for the files that hold secrets or lead to them, where others can read them.
    pub fn privacy_warnings(&self) -> Vec<String> {
        let mut files = Vec::new();
        if self.config_exists {
            files.push((self.config_path.clone(), "the config file"));
        }
        for (key, what) in [
            (&keys::CLIENT_SECRET_FILE, "client_secret_file"),
            (&keys::PRIVATE_KEY_FILE, "private_key_file"),
        ] {
            if let Some((v, _)) = self.raw(key) {
                files.push((PathBuf::from(v.trim()), what));
            }
        }
        files
            .iter()
            .filter_map(|(path, what)| readable_by_others(path, what))
            .collect()
    }

    /// The largest sessions, agents or queues file read, in megabytes.
    pub fn max_input_mb(&self) -> Result<u64, ConfigError> {
        Ok(self
            .parsed(
                &keys::MAX_INPUT_MB,
                "a whole number of megabytes from 1 to 4096",
                |v| v.parse().ok().filter(|n| (1..=4096).contains(n)),
            )?
            .unwrap_or(crate::input::DEFAULT_MAX_INPUT_MB))
    }

    /// The longest `Retry-After` a run waits for.
    pub fn max_retry_wait(&self) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(
            self.parsed(
                &keys::MAX_RETRY_WAIT,
                "a whole number of seconds from 1 to 3600",
                |v| v.parse().ok().filter(|n| (1..=3600).contains(n)),
            )?
            .unwrap_or(DEFAULT_MAX_RETRY_WAIT_SECS),
        ))
    }

    /// Whether this process may never send an assignment (`--read-only`, `SWITCHBOARD_READ_ONLY`,
    /// `read_only = true`): live reads, plans, dry runs and reports still work.
    pub fn read_only(&self) -> Result<bool, ConfigError> {
        Ok(self
            .parsed(&keys::READ_ONLY, "true or false", parse_bool)?
            .unwrap_or(false))
    }

    /// Where read-only mode was turned on, for the message that says why nothing can be sent.
    pub fn read_only_origin(&self) -> Option<String> {
        match self.read_only() {
            Ok(true) => self
                .raw(&keys::READ_ONLY)
                .map(|(_, origin)| origin.to_string()),
            _ => None,
        }
    }

    pub fn enforce_jti(&self) -> Result<bool, ConfigError> {
        Ok(self
            .parsed(&keys::ENFORCE_JTI, "true or false", parse_bool)?
            .unwrap_or(false))
    }

    pub fn log_file(&self) -> Option<PathBuf> {
        self.raw(&keys::LOG_FILE)
            .map(|(v, _)| PathBuf::from(v))
            .or_else(|| data_dir().map(|d| d.join("switchboard.log")))
    }

    pub fn audit_log(&self) -> Result<PathBuf, ConfigError> {
        self.raw(&keys::AUDIT_LOG)
            .map(|(v, _)| PathBuf::from(v))
            .or_else(|| data_dir().map(|d| d.join("audit.jsonl")))
            .ok_or_else(|| self.missing(&keys::AUDIT_LOG))
    }

    /// The credential for the `auth` header: a ready token (`SWITCHBOARD_TOKEN`, `token_env`) or the
    /// JWT app's Client ID and Client Secret (`SWITCHBOARD_CLIENT_SECRET`, `client_secret_env`,
    /// `client_secret_file`). The environment wins over the profile, as everywhere.
    pub fn credential(&self) -> Result<Credential, ConfigError> {
        if let Some(token) = (self.env)(ENV_TOKEN) {
            return token_credential(&token, ENV_TOKEN);
        }
        if self.algorithm()?.is_rsa() {
            return self.private_key_credential();
        }
        if let Some((_, origin)) = self.raw(&keys::PRIVATE_KEY_FILE) {
            return Err(ConfigError(format!(
                "private_key_file ({origin}) is for algorithm RS256 or RS512; the algorithm is {} (set `algorithm` as the JWT app is set)",
                self.algorithm()?.as_str()
            )));
        }
        let secret = if let Some(s) = (self.env)(ENV_CLIENT_SECRET) {
            Some(Secret::new(s.trim()))
        } else if let Some((var, origin)) = self.raw(&keys::CLIENT_SECRET_ENV) {
            let value = (self.env)(var.trim()).ok_or_else(|| {
                ConfigError(format!(
                    "client_secret_env ({origin}) names the environment variable {var}, which is not set"
                ))
            })?;
            Some(Secret::new(value.trim()))
        } else if let Some((file, origin)) = self.raw(&keys::CLIENT_SECRET_FILE) {
            let value = std::fs::read_to_string(file.trim()).map_err(|e| {
                ConfigError(format!(
                    "client_secret_file ({origin}): cannot read {file}: {e}"
                ))
            })?;
            if value.trim().is_empty() {
                return Err(ConfigError(format!(
                    "client_secret_file ({origin}): {file} is empty"
                )));
            }
            Some(Secret::new(value.trim()))
        } else if let Some((var, origin)) = self.raw(&keys::TOKEN_ENV) {
            let value = (self.env)(var.trim()).ok_or_else(|| {
                ConfigError(format!(
                    "token_env ({origin}) names the environment variable {var}, which is not set"
                ))
            })?;
            return token_credential(&value, &format!("token_env ({origin}), {var}"));
        } else {
            None
        };
        let Some(secret) = secret else {
            let place = match &self.profile {
                Some(p) => {
                    format!("client_secret_env, client_secret_file or token_env in [profiles.{p}]")
                }
                None => "client_secret_env, client_secret_file or token_env in a profile".into(),
            };
            return Err(ConfigError(format!(
                "no credential: set {ENV_CLIENT_SECRET} (the JWT app's Client Secret) or {ENV_TOKEN}, or {place} of {}",
                self.config_path.display()
            )));
        };
        let app_id = self.required_string(&keys::APP_ID).map_err(|e| {
            ConfigError(format!(
                "{e} (the JWT app's Client ID, cs-...; it signs the token)"
            ))
        })?;
        Ok(Credential::ClientSecret { app_id, secret })
    }

    /// The JWT app's signing algorithm: HS256 (Kore's documented default), HS512, RS256 or RS512.
    pub fn algorithm(&self) -> Result<Algorithm, ConfigError> {
        Ok(self
            .parsed(
                &keys::ALGORITHM,
                "HS256, HS512, RS256 or RS512",
                Algorithm::parse,
            )?
            .unwrap_or_default())
    }

    /// For RS256/RS512: the Client ID and the private key from `private_key_file`.
    fn private_key_credential(&self) -> Result<Credential, ConfigError> {
        let algorithm = self.algorithm()?.as_str();
        let Some((file, origin)) = self.raw(&keys::PRIVATE_KEY_FILE) else {
            return Err(ConfigError(format!(
                "algorithm {algorithm} signs with a private key: set private_key_file (or SWITCHBOARD_PRIVATE_KEY_FILE) to the PEM file of the key whose public half the JWT app holds"
            )));
        };
        let pem = std::fs::read_to_string(file.trim()).map_err(|e| {
            ConfigError(format!(
                "private_key_file ({origin}): cannot read {file}: {e}"
            ))
        })?;
        if !pem.contains("PRIVATE KEY-----") {
            return Err(ConfigError(format!(
                "private_key_file ({origin}): {file} is not a PEM private key"
            )));
        }
        let app_id = self.required_string(&keys::APP_ID)?;
        Ok(Credential::PrivateKey {
            app_id,
            pem: Secret::new(pem),
        })
    }

    /// What signs each request's token, ready: a bad key or a missing secret stops here, before
    /// anything is sent.
    pub fn token_maker(&self) -> Result<TokenMaker, ConfigError> {
        TokenMaker::with_algorithm(self.credential()?, self.enforce_jti()?, self.algorithm()?)
            .map_err(|e| ConfigError(e.to_string()))
    }

    /// The profile in force, if any.
    pub fn profile_name(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// A short label for headers and messages: the profile name, or `(no profile)`.
    pub fn profile_label(&self) -> &str {
        self.profile.as_deref().unwrap_or("(no profile)")
    }
}

/// Whether a value can stand in an HTTP header as it is: visible ASCII, no spaces or control
/// characters (a CR or LF would start a header of its own).
fn header_safe(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic())
}

/// A ready token for the `auth` header; one that could not stand in a header is refused without
/// echoing it.
fn token_credential(token: &str, from: &str) -> Result<Credential, ConfigError> {
    if !header_safe(token.trim()) {
        return Err(ConfigError(format!(
            "the token from {from} holds a space, CR, LF or another character a header cannot carry"
        )));
    }
    Ok(Credential::Token(Secret::new(token.trim())))
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// Writes the commented template to `path`, refusing to overwrite a file that is there.
pub fn write_template(path: &Path) -> Result<(), ConfigError> {
    if path.exists() {
        return Err(ConfigError(format!(
            "{} already exists; edit it, or pass --config PATH to write the template elsewhere",
            path.display()
        )));
    }
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let fail = |what: &Path, e: std::io::Error| {
        ConfigError(format!("cannot write {}: {e}", what.display()))
    };
    // Private whatever the umask: the file will name the tenant and where its secret is, and may
    // come to hold a token.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| fail(dir, e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| fail(path, e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| fail(path, e))?;
    std::io::Write::write_all(&mut file, TEMPLATE.as_bytes()).map_err(|e| fail(path, e))
}

/// A warning for a file that holds or leads to a secret and that others can read, naming the
/// `chmod` that fixes it.
pub fn readable_by_others(path: &Path, what: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "{what} {} can be read by others (mode {:o}): run chmod 600 {}",
            path.display(),
            mode & 0o777,
            path.display()
        )
    })
}

/// A value as an error may repeat it: a URL's `user:password@` keeps the user and never the password.
fn without_password(raw: &str) -> String {
    let (scheme, rest) = match raw.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), raw),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    match authority
        .rfind('@')
        .map(|at| authority[..at].split_once(':').map(|u| (u.0, at)))
    {
        Some(Some((user, at))) => format!(
            "{scheme}{user}:<redacted>@{}{}",
            &authority[at + 1..],
            &rest[end..]
        ),
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn load(
        path: &Path,
        env: &[(&str, &str)],
        flags: impl FnOnce(&mut Overrides),
    ) -> Result<Settings, ConfigError> {
        let mut o = Overrides {
            config: Some(path.to_path_buf()),
            ..Default::default()
        };
        flags(&mut o);
        Settings::load(&o, env_from(env))
    }

    const PROFILE: &str = r#"
default_profile = "prod"

[profiles.prod]
host = "https://platform.kore.ai"
stream_id = "st-a0ec5267-a58a-5fbb-ab0e-e27ebc350001"
org_id = "o-02c0d56d-fd90-5e24-8458-01be1d2e0001"
account_id = "650d9eb6da96d0bc0d230001"
app_id = "cs-50febaa3-743f-55b3-8956-718e96f6bb90"
client_secret_env = "KORE_PROD_SECRET"
rate_per_minute = 30

[profiles.staging]
host = "staging-smartassist.kore.ai"
"#;

    #[test]
    fn an_error_about_a_host_never_repeats_its_password() {
        let (_d, path) = write(PROFILE);
        let host = [(
            "SWITCHBOARD_HOST",
            "https://bob:s3cret-pw@platform.kore.ai/x",
        )];
        // Loading checks the host already; either way, the error is the one shown.
        let e = match load(&path, &host, |_| {}) {
            Err(e) => e.0,
            Ok(s) => s.host().unwrap_err().0,
        };
        assert!(!e.contains("s3cret-pw"), "{e}");
        assert!(e.contains("bob:<redacted>@platform.kore.ai/x"), "{e}");
        assert_eq!(
            without_password("https://platform.kore.ai"),
            "https://platform.kore.ai"
        );
        assert_eq!(without_password("u:p@h"), "u:<redacted>@h");
    }

    #[test]
    fn a_rate_over_kores_limit_warns_off_loopback_only() {
        let (_d, path) = write(PROFILE);
        let s = load(&path, &[("SWITCHBOARD_RATE", "90")], |_| {}).unwrap();
        let w = s.rate_warning().expect("90 against Kore warns");
        assert!(
            w.contains("rate 90 a minute") && w.contains("at most 60"),
            "{w}"
        );
        let s = load(&path, &[("SWITCHBOARD_RATE", "60")], |_| {}).unwrap();
        assert_eq!(s.rate_warning(), None);
        let s = load(
            &path,
            &[
                ("SWITCHBOARD_RATE", "600"),
                ("SWITCHBOARD_HOST", "http://127.0.0.1:8080"),
            ],
            |_| {},
        )
        .unwrap();
        assert_eq!(
            s.rate_warning(),
            None,
            "a stand-in on loopback may go faster"
        );
    }

    #[test]
    fn precedence_is_flag_then_env_then_profile_then_default() {
        let (_d, path) = write(PROFILE);
        let s = load(&path, &[], |_| {}).unwrap();
        assert_eq!(s.rate_per_minute().unwrap(), 30);
        assert_eq!(s.concurrency().unwrap(), DEFAULT_CONCURRENCY);
        let s = load(&path, &[("SWITCHBOARD_RATE", "20")], |_| {}).unwrap();
        assert_eq!(s.rate_per_minute().unwrap(), 20);
        let s = load(&path, &[("SWITCHBOARD_RATE", "20")], |o| {
            o.set(&keys::RATE, Some(10))
        })
        .unwrap();
        assert_eq!(s.rate_per_minute().unwrap(), 10);
    }

    #[test]
    fn profile_comes_from_flag_env_or_default_profile() {
        let (_d, path) = write(PROFILE);
        assert_eq!(
            load(&path, &[], |_| {}).unwrap().profile.as_deref(),
            Some("prod")
        );
        let s = load(&path, &[("SWITCHBOARD_PROFILE", "staging")], |_| {}).unwrap();
        assert_eq!(s.host().unwrap(), "https://staging-smartassist.kore.ai");
        let err = load(&path, &[], |o| o.profile = Some("dev".into()))
            .unwrap_err()
            .0;
        assert!(
            err.contains("profile `dev`") && err.contains("prod, staging"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let (_d, path) = write("[profiles.prod]\nhost = \"https://x\"\nstreamid = \"st-1\"\n");
        let err = load(&path, &[], |_| {}).unwrap_err().0;
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("line 3") && err.contains("streamid"), "{err}");
    }

    #[test]
    fn broken_toml_names_file_and_line() {
        let (_d, path) = write("default_profile = \"prod\"\n[profiles.prod\nhost = 1\n");
        let err = load(&path, &[], |_| {}).unwrap_err().0;
        assert!(
            err.contains(&path.display().to_string()) && err.contains("line 2"),
            "{err}"
        );
    }

    #[test]
    fn bad_value_names_its_origin() {
        let (_d, path) = write("[profiles.prod]\nrate_per_minute = \"fast\"\n");
        // Every number is checked as the settings load, before anything uses them.
        let err = load(&path, &[], |_| {}).err().unwrap().0;
        assert!(
            err.contains("line 2") && err.contains("profiles.prod.rate_per_minute"),
            "{err}"
        );
        let (_d, path) = write("[profiles.prod]\n");
        let err = load(&path, &[], |o| o.set(&keys::TIMEOUT, Some("0")))
            .err()
            .unwrap()
            .0;
        assert!(err.contains("flag --timeout"), "{err}");
        let (_d, path) = write("[profiles.prod]\nrefresh_secs = 99999999\n");
        let err = load(&path, &[], |_| {}).err().unwrap().0;
        assert!(
            err.contains("line 2") && err.contains("from 5 to 3600"),
            "{err}"
        );
    }

    #[test]
    fn missing_setting_says_what_to_set() {
        let (_d, path) = write("[profiles.prod]\nhost = \"https://x\"\n");
        let err = load(&path, &[], |_| {}).unwrap().stream_id().unwrap_err().0;
        assert!(
            err.contains("--stream-id") && err.contains("SWITCHBOARD_STREAM_ID"),
            "{err}"
        );
        assert!(
            err.contains("[profiles.prod]") && err.contains(&path.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn explicit_config_that_is_missing_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(&dir.path().join("nope.toml"), &[], |_| {})
            .unwrap_err()
            .0;
        assert!(err.contains("nope.toml"), "{err}");
    }

    #[test]
    fn credential_from_profile_env_indirection() {
        let (_d, path) = write(PROFILE);
        let s = load(&path, &[("KORE_PROD_SECRET", "s3cret")], |_| {}).unwrap();
        match s.credential().unwrap() {
            Credential::ClientSecret { app_id, secret } => {
                assert_eq!(app_id, "cs-50febaa3-743f-55b3-8956-718e96f6bb90");
                assert_eq!(secret.expose(), "s3cret");
            }
            other => panic!("{other:?}"),
        }
        let err = load(&path, &[], |_| {})
            .unwrap()
            .credential()
            .unwrap_err()
            .0;
        assert!(
            err.contains("KORE_PROD_SECRET") && err.contains("line 10"),
            "{err}"
        );
        let s = load(&path, &[("SWITCHBOARD_TOKEN", "a.b.c")], |_| {}).unwrap();
        assert!(matches!(s.credential().unwrap(), Credential::Token(_)));
    }

    #[test]
    fn credential_from_secret_file() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "from-file\n").unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            format!(
                "[profiles.p]\napp_id = \"cs-1\"\nclient_secret_file = {:?}\n",
                secret.display().to_string()
            ),
        )
        .unwrap();
        match load(&path, &[], |_| {}).unwrap().credential().unwrap() {
            Credential::ClientSecret { secret, .. } => assert_eq!(secret.expose(), "from-file"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn template_parses_and_has_a_profile() {
        let (_d, path) = write(TEMPLATE);
        let s = load(&path, &[], |_| {}).unwrap();
        assert!(s.profile.is_some());
        assert_eq!(s.rate_per_minute().unwrap(), 60);
    }
}
