//! The console (SPEC §6): a ratatui front on the same core as `assign`. `app` holds the state and
//! the pure `update`; `view` draws it; `runner` owns the terminal and does the IO.

pub mod activity;
pub mod app;
pub mod columns;
pub mod keys;
pub mod live;
pub mod query;
pub mod ranker;
pub mod runner;
pub mod table;
pub mod view;

pub use runner::{Startup, run};
