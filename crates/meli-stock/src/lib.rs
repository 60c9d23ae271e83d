//! meli-stock keeps a MercadoLibre seller's stock mirrored in the seller's own inventory
//! database (PostgreSQL, or an embedded SQLite file when none is configured).
//!
//! # Layout
//! - [`cli`]: the command line; one module per group of subcommands, wiring only.
//! - [`serve`]: the long-running process: schedule, token checks, shutdown.
//! - [`alerts`]: what to tell a person, when, and through which channel.
//! - [`web`]: health, metrics and JSON over HTTP.
//! - [`metrics`]: the Prometheus metrics.
//! - [`accounts`]: the sellers `serve` runs and the facts about their tokens.
//! - [`config`]: every setting, its layers (file, `.env`, environment, flags) and checks.
//! - [`sync`]: one run: listing, multiget, user-product stock reads, the plan, the write.
//! - [`sync::plan`]: the arithmetic of a run, free of I/O; [`sync::select`]: which user
//!   products a run reads the breakdown of.
//! - [`store`]: PostgreSQL and SQLite: the seller's inventory tables and meli-stock's state.
//! - [`tokens`]: seller accounts, encrypted tokens and the refresh that never loses one.
//! - [`demo`]: the offline demo: the simulator in-process and a real sync.
//! - [`error`]: how commands fail, and the exit codes.
//! - [`progress`], [`telemetry`]: progress bars and logs; [`output`]: printing on standard
//!   output, where a closed pipe ends the output and not the command.

#[macro_use]
pub mod output;

pub mod accounts;
pub mod alerts;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod metrics;
pub mod progress;
pub mod serve;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod tokens;
pub mod web;
