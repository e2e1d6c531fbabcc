//! switchboard's core: configuration, credentials, the assign call, pacing, callbacks, the audit log and
//! file loading. It knows nothing of the terminal; the `assign` command and the console are fronts on it.

pub mod config;
pub mod ids;
pub mod outcome;
pub mod pacer;
pub mod picture;
pub mod plan;
pub mod secret;
pub mod signals;
pub mod store;
pub mod token;

pub mod api;
pub mod audit;
pub mod check;
pub mod claims;
pub mod client;
pub mod console;
pub mod demo;
pub mod dispatch;
pub mod engine;
pub mod format;
pub mod history;
pub mod hours;
pub mod input;
pub mod listener;
pub mod live;
pub mod logging;
pub mod mock;
pub mod names;
pub mod output;
pub mod priority;
pub mod request;
pub mod triage;
pub mod verify;
