//! meli-bench measures meli-stock syncs against ML's limits and against the method of the
//! script meli-stock replaces, and writes the results as `BENCHMARKS.md`.
//!
//! For each catalogue size it starts the simulator in-process with ML's limits scaled up,
//! runs the real `meli-stock sync --json` binary as a child process into a fresh
//! PostgreSQL database (cold, after 1% of the stock changed, and cold with the default read
//! budget), runs the old method on a sample, and holds the numbers against the targets.
//!
//! # Layout
//! - [`args`]: the command line and its checks.
//! - [`bound`]: the arithmetic: lower bound, efficiency, call allowance, extrapolation.
//! - [`scenario`]: one size from start to end: simulators, databases, runs, stock changes.
//! - [`child`]: one `meli-stock sync --json` in a child process.
//! - [`baseline`]: the old method, through the meli-api client at concurrency 1.
//! - [`database`]: fresh benchmark databases on the PostgreSQL server.
//! - [`targets`]: each target met or missed, by how much and why.
//! - [`report`], [`machine`]: the Markdown report and the machine it ran on.

pub mod args;
pub mod baseline;
pub mod bound;
pub mod child;
pub mod database;
pub mod machine;
pub mod report;
pub mod scenario;
pub mod targets;

use std::time::Instant;

use anyhow::{Context, Result};
use tracing::info;

use crate::report::BenchReport;
use crate::scenario::BenchOptions;

/// Runs every size of `options` in turn and gathers the report; `command` is what the
/// report names as the command that regenerates it.
///
/// # Errors
/// PostgreSQL cannot be reached, or a step of a size fails (the message names it).
pub async fn run(options: &BenchOptions, command: String) -> Result<BenchReport> {
    let postgres = database::server_version(&options.database_url).await?;
    let machine = machine::Machine::detect(postgres);
    let load_before = machine::load_average();
    let started = chrono::Utc::now();
    let clock = Instant::now();

    let mut sizes = Vec::new();
    for plan in &options.sizes {
        info!(listings = plan.listings, "benchmarking a catalogue size");
        let result = scenario::run_size(options, *plan)
            .await
            .with_context(|| format!("the benchmark of {} listings failed", plan.listings))?;
        sizes.push(result);
    }

    Ok(BenchReport {
        command,
        started,
        took: clock.elapsed(),
        machine,
        load: (load_before, machine::load_average()),
        options: options.clone(),
        sizes,
    })
}
