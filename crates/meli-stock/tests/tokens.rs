//! Stored tokens against the simulator on PostgreSQL and SQLite: single-flight refresh
//! across tasks and processes, rotation that survives a failed commit, expiry in the middle
//! of a run, dead grants, the settings' stale tokens, the authorization commands, key
//! rotation, and no token in clear in the database or the logs.

#![allow(clippy::unwrap_used)]

mod common;

#[path = "tokens/commands.rs"]
mod commands;
#[path = "tokens/helpers.rs"]
mod helpers;
#[path = "tokens/processes.rs"]
mod processes;
#[path = "tokens/provider.rs"]
mod provider;
