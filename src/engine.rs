//! Builds the pieces of one run from its settings: the client, the pacer, the audit log and the
//! dispatcher that joins them. `assign` and the console start the same way through here.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::api::Api;

use crate::audit::{AuditLog, Stamp};
use crate::claims::Claims;
use crate::client::AssignClient;
use crate::config::{ConfigError, Settings};
use crate::dispatch::{Dispatcher, RetryPolicy};
use crate::pacer::{Pacer, PacerOptions};
use crate::request::{CallbackRoute, Endpoint};
use crate::secret::{Secret, random_hex};

/// The callback token of this run: the configured one, so that a separate `switchboard listen` can
/// accept the callbacks, else a fresh random one.
pub fn callback_token(settings: &Settings) -> Secret {
    settings
        .callback_token()
        .unwrap_or_else(|| Secret::random(16))
}

/// Where callbacks go: `callback_url` when set (a tunnel), else the listener's own address.
pub fn callback_route(
    settings: &Settings,
    listener: SocketAddr,
    token: Secret,
) -> Result<CallbackRoute, ConfigError> {
    Ok(match settings.callback_url()? {
        Some(base) => CallbackRoute::new(base, token),
        None => CallbackRoute::for_listener(listener, token),
    })
}

/// What to tell the operator at the start when Kore cannot reach the callbacks: the host is not on
/// this machine, and the callback URL Kore would be given is (no `callback_url` set). Callbacks then
/// never arrive, every row would end `late`, and only the server's word (verification) says where a
/// move went.
pub fn unreachable_callbacks(settings: &Settings, route: &CallbackRoute) -> Option<String> {
    let host = settings.host().ok()?;
    let unreachable =
        !crate::api::is_loopback_url(&host) && crate::api::is_loopback_url(route.base_url());
    unreachable.then(|| {
        format!(
            "Kore at {host} cannot reach this machine's listener ({}): callbacks will not arrive, and moves are checked with the server instead; set callback_url in profile {} (or --callback-url) to a public URL that reaches the listener, such as a tunnel",
            route.base_url(),
            settings.profile_label()
        )
    })
}

/// The client for the configured endpoint and credential; it checks everything a request needs, so
/// a configuration error stops the run before anything is sent.
pub fn client(settings: &Settings, route: CallbackRoute) -> Result<AssignClient, ConfigError> {
    Ok(AssignClient::new(Arc::new(api(settings)?), route))
}

/// The platform API for the configured endpoint and credential.
pub fn api(settings: &Settings) -> Result<Api, ConfigError> {
    let endpoint = Endpoint::from_settings(settings)?;
    let tokens = settings.token_maker()?;
    Api::new(
        endpoint,
        tokens,
        settings.timeout()?,
        settings.concurrency()?,
    )
    .map_err(ConfigError)
    .and_then(|api| {
        Ok(api
            .read_only(settings.read_only_origin())
            .max_retry_wait(settings.max_retry_wait()?)
            .iid(settings.iid()))
    })
}

/// A fresh id for this process, stamped on each of its audit lines (each run names itself too).
pub fn process_id() -> String {
    random_hex(6)
}

/// Opens this process's audit log, stamped with a fresh process id.
pub fn audit_log(settings: &Settings) -> Result<AuditLog, String> {
    let path = settings.audit_log().map_err(|e| e.0)?;
    let stamp = Stamp {
        process: process_id(),
        user: crate::audit::os_user(),
        profile: settings.profile_name().map(str::to_string),
        host: settings.host().ok(),
    };
    let log = AuditLog::open(&path, stamp).map_err(|e| {
        format!(
            "cannot open the audit log {}: {e} (set --audit-log PATH)",
            path.display()
        )
    })?;
    // With a shared store, what goes on record is shown to the account's other supervisors too.
    Ok(match settings.store() {
        Some(store) => log.publishing(crate::picture::Publisher::start(store.clone())),
        None => log,
    })
}

/// The dispatcher for a run, with the process's one pacer.
pub fn dispatcher(
    settings: &Settings,
    client: AssignClient,
    audit: AuditLog,
    pacer: Pacer,
    mut policy: RetryPolicy,
) -> Result<Dispatcher, ConfigError> {
    policy.max_retry_wait = settings.max_retry_wait()?;
    Ok(
        Dispatcher::new(client, pacer, audit, policy, settings.concurrency()?)
            .with_claims(claims(settings)?),
    )
}

/// The account's claims on this machine, in the file beside the budget ledger (shared even when
/// pacing is off: a session leaves once whatever the rate).
pub fn claims(settings: &Settings) -> Result<Claims, ConfigError> {
    if let Some(store) = settings.store() {
        return Ok(Claims::on_store(store.clone()));
    }
    let path = Claims::path_beside(&settings.budget_file()?);
    Claims::shared(&path).map_err(|e| {
        ConfigError(format!(
            "cannot open the claims file {}: {e} (it sits beside budget_file)",
            path.display()
        ))
    })
}

/// Kore's limit for its automation APIs (Conversation History): 60 a minute per bot (and 1800 an
/// hour, which reads on demand do not near).
pub const AUTOMATION_PER_MINUTE: u32 = 60;

/// The automation APIs' own budget, apart from the contact center's: this process's alone (a
/// supervisor reads a conversation now and then, not in bulk), at Kore's limit for them, or off
/// when pacing is off.
pub fn automation_pacer(settings: &Settings) -> Result<Pacer, ConfigError> {
    let per_minute = match settings.sending_rate()? {
        0 => 0,
        _ => AUTOMATION_PER_MINUTE,
    };
    Ok(Pacer::with_options(PacerOptions {
        per_minute,
        window: settings.rate_window()?,
    }))
}

/// The process's one pacer, at the configured rate, sharing the account's budget with its other
/// switchboard processes on this machine. Every call of the run, assignment or read, takes its slots
/// from it. When the budget file cannot be shared, the pacer paces this process alone and says so
/// in the log and on stderr.
pub fn pacer(settings: &Settings) -> Result<Pacer, ConfigError> {
    // The endpoint first: a run with no host has nothing to pace, and that is the error to show.
    settings.host()?;
    if let Some(w) = settings.rate_warning() {
        tracing::warn!("{w}");
        eprintln!("switchboard: warning: {w}");
    }
    let options = PacerOptions {
        per_minute: settings.sending_rate()?,
        window: settings.rate_window()?,
    };
    if options.per_minute == 0 {
        return Ok(Pacer::with_options(options));
    }
    // Several machines: the budget is the store's, on the store's clock.
    if let Some(store) = settings.store() {
        return Ok(Pacer::on_store(options, store.clone()));
    }
    let path = settings.budget_file()?;
    match crate::pacer::ledger::Ledger::shared(&path) {
        Ok(ledger) => Ok(Pacer::with_ledger(options, ledger)),
        // A ledger that is a link or a device is refused, not worked around: sharing it would
        // clobber its target, and not sharing it would overspend the account's budget without a
        // word.
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Err(ConfigError(format!(
            "the budget ledger: {e} (budget_file; remove it, or name a plain file)"
        ))),
        // Nor is a file that is no ledger: it is left as it is, not wiped by the first rewrite.
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            Err(ConfigError(format!("the budget ledger: {e}")))
        }
        Err(e) => {
            let w = format!(
                "cannot share the call budget through {}: {e}; this process paces alone",
                path.display()
            );
            tracing::warn!("{w}");
            eprintln!("switchboard: warning: {w}");
            Ok(Pacer::with_options(options))
        }
    }
}
