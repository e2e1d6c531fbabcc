//! `switchboard check`: calls each Kore API once with the active profile, through the pacer, and
//! prints which works and which scope is missing. Exit 0 when every API answered as it should.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use switchboard::check::{self, Verdict};
use switchboard::config::Settings;
use switchboard::engine;
use switchboard::format;
use switchboard::live::LiveClient;

use super::{Failure, exit_for};

pub async fn run(settings: &Settings) -> Result<ExitCode, Failure> {
    // The shared store first: reachable, its version, one round trip. One that is set and cannot
    // be reached fails the check, and the APIs are checked through a budget of this machine's.
    let store_ok = match settings.shared_store()? {
        None => {
            eprintln!("switchboard: shared store: none (this machine's budget ledger and claims)");
            true
        }
        Some(url) => {
            let mut connected = settings.clone();
            match connected.connect_store().await {
                Ok(()) => {
                    let store = connected.store().expect("connected above");
                    match store.info().await {
                        Ok(info) => {
                            eprintln!(
                                "switchboard: shared store {url}: reachable, Redis {}, round trip {} ms",
                                info.version,
                                info.round_trip.as_millis()
                            );
                            true
                        }
                        Err(e) => {
                            eprintln!("switchboard: shared store {url}: {e}");
                            false
                        }
                    }
                }
                Err(e) => {
                    eprintln!("switchboard: {e}");
                    false
                }
            }
        }
    };
    let api = Arc::new(engine::api(settings)?);
    let pacer = engine::pacer(settings)?;
    let org = api.endpoint().org_id.clone();
    // The probe's callback never comes (nothing moves); it names this machine's listener anyway.
    let route = engine::callback_route(
        settings,
        settings.listen()?,
        engine::callback_token(settings),
    )?;
    if let Some(warning) = engine::unreachable_callbacks(settings, &route) {
        eprintln!("switchboard: warning: {warning}");
    }
    let callback = route.url_for(check::PROBE_SESSION);
    let host = api.endpoint().host.clone();
    let history = LiveClient::new(api.clone(), engine::automation_pacer(settings)?);
    let client = LiveClient::new(api, pacer);
    eprintln!(
        "switchboard: checking the APIs on {host} as profile {} (paced; nothing is moved or changed)…",
        settings.profile_label()
    );
    let rows = check::check_all(&client, &history, &org, &callback).await;
    let api_w = rows.iter().map(|r| r.api.name().len()).max().unwrap_or(3);
    let scope_w = rows
        .iter()
        .map(|r| r.scope().name().len())
        .max()
        .unwrap_or(5);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{:<api_w$}  {:<scope_w$}  {:<13}  DETAIL",
        "API", "SCOPE", "RESULT"
    );
    for r in &rows {
        let detail = match (r.http_status, r.detail.is_empty()) {
            (Some(s), false) => format!("HTTP {s}: {}", format::one_line(&r.detail)),
            (Some(s), true) => format!("HTTP {s}"),
            (None, _) => format::one_line(&r.detail),
        };
        let _ = writeln!(
            out,
            "{:<api_w$}  {:<scope_w$}  {:<13}  {detail}",
            r.api.name(),
            r.scope().name(),
            r.verdict.as_str(),
        );
    }
    let failing: Vec<&str> = rows
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Ok | Verdict::Skipped))
        .map(|r| r.api.name())
        .collect();
    if failing.is_empty() {
        eprintln!("switchboard: every API answered; the profile is ready");
    } else {
        eprintln!(
            "switchboard: {} of {} APIs failed: {} (scopes: App Settings › Dev Tools › API Scope, then publish)",
            failing.len(),
            rows.len(),
            failing.join(", ")
        );
    }
    Ok(exit_for(failing.is_empty() && store_ok))
}
