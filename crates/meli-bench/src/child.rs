//! One real `meli-stock sync --json` in a child process, pointed at the simulator, so the
//! memory it reports is the sync's own and not the simulator's.
//!
//! The child starts with an empty environment and a fresh working directory (no `.env`, no
//! `meli-stock.toml`): only the variables set here reach it, the ones a user would set
//! (`ML_*`, `DATABASE_URL`, `MELI_STOCK_*`, with the token key [`BENCH_KEY`]). It logs JSON lines at warnings, plus sqlx's line
//! per statement, from which [`write_statements`] takes the time of each statement of the
//! write transaction.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use meli_sim::SimHandle;
use serde::Deserialize;

/// The key the child encrypts its stored tokens with. The benchmark's databases are dropped
/// after each size and hold only the simulator's tokens, so a fixed key is enough.
pub const BENCH_KEY: &str = "5b3e0f7c9a1d2e4f6a8b0c1d3e5f7a9b1c2d4e6f8a0b1c3d5e7f9a0b2c4d6e8f";

/// The settings a run passes to the child beside the simulator's credentials.
#[derive(Clone, Debug, PartialEq)]
pub struct ChildSettings {
    /// `MELI_STOCK_REQUESTS_PER_SECOND`.
    pub requests_per_second: f64,
    /// `MELI_STOCK_STOCK_READS_PER_MINUTE`.
    pub stock_reads_per_minute: u32,
    /// `MELI_STOCK_CONCURRENCY`.
    pub concurrency: usize,
    /// `MELI_STOCK_STOCK_READ_BUDGET`; `None` leaves meli-stock's default.
    pub read_budget: Option<String>,
}

impl ChildSettings {
    /// The `MELI_STOCK_*` variables these settings stand for.
    pub fn variables(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            (
                "MELI_STOCK_REQUESTS_PER_SECOND",
                self.requests_per_second.to_string(),
            ),
            (
                "MELI_STOCK_STOCK_READS_PER_MINUTE",
                self.stock_reads_per_minute.to_string(),
            ),
            ("MELI_STOCK_CONCURRENCY", self.concurrency.to_string()),
        ];
        if let Some(budget) = &self.read_budget {
            vars.push(("MELI_STOCK_STOCK_READ_BUDGET", budget.clone()));
        }
        vars
    }
}

/// The part of `meli-stock sync --json` the benchmark reads.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct RunOutput {
    pub outcome: String,
    pub items_listed: u64,
    pub items_read: u64,
    pub user_products_read: u64,
    pub rows_written: u64,
    pub rows_changed: u64,
    pub rows_zeroed: u64,
    pub unmatched: u64,
    pub disagreements: u64,
    /// Calls by endpoint label, retries included.
    pub api_calls: BTreeMap<String, u64>,
    pub retries: u64,
    pub rate_limited: u64,
    /// The run's own wall time (inside the process).
    pub elapsed_ms: u64,
    /// Time in the write transaction.
    pub write_ms: Option<u64>,
    /// Peak resident memory of the sync process.
    pub peak_rss_kib: Option<u64>,
}

/// The endpoint labels of [`RunOutput::data_calls`].
pub const DATA_ENDPOINTS: [&str; 3] = ["items_search", "items", "user_product_stock"];

impl RunOutput {
    /// Calls sent to every endpoint.
    pub fn total_calls(&self) -> u64 {
        self.api_calls.values().sum()
    }

    /// Calls sent to the three endpoints a sync's data comes from (scan, multiget, stock):
    /// what the call allowance counts. The rest are account calls (a token refresh, the
    /// seller's `/users/me`), which the formula of the targets does not foresee.
    pub fn data_calls(&self) -> u64 {
        DATA_ENDPOINTS.iter().map(|label| self.calls(label)).sum()
    }

    /// Calls sent to one endpoint.
    pub fn calls(&self, endpoint: &str) -> u64 {
        self.api_calls.get(endpoint).copied().unwrap_or(0)
    }
}

/// A finished child run.
#[derive(Clone, Debug)]
pub struct ChildRun {
    /// From spawning the process to its exit: start-up, migrations and the run.
    pub wall: Duration,
    pub output: RunOutput,
    /// The statements of the write transaction, in order.
    pub write: Vec<Statement>,
}

/// One SQL statement as sqlx logged it.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// sqlx's summary: the statement's first words.
    pub summary: String,
    pub seconds: f64,
    pub rows: u64,
}

impl Statement {
    /// What the statement does, for the report: a name for the write's known statements,
    /// otherwise sqlx's summary.
    pub fn label(&self) -> String {
        const KNOWN: [(&str, &str); 7] = [
            ("WITH input AS", "stock rows and ledger"),
            ("DELETE FROM meli_stock.item_map", "item map cleared"),
            ("INSERT INTO meli_stock.item_map", "item map"),
            (
                "INSERT INTO meli_stock.unmatched_items",
                "unmatched listings",
            ),
            ("INSERT INTO meli_stock.user_product_stock", "breakdowns"),
            (
                "INSERT INTO meli_stock.user_products",
                "user-product totals",
            ),
            ("COMMIT", "commit"),
        ];
        KNOWN
            .iter()
            .find(|(prefix, _)| self.summary.starts_with(prefix))
            .map_or_else(
                || self.summary.trim_end_matches(" …").to_owned(),
                |(_, label)| (*label).to_owned(),
            )
    }
}

/// Runs `binary sync --json` against `sim` and the database at `database_url`.
///
/// # Errors
/// The binary cannot be started, exits with an error (its last log lines are included), or
/// prints something that is not a run record.
pub async fn run_sync(
    binary: &Path,
    sim: &SimHandle,
    database_url: &str,
    settings: &ChildSettings,
) -> Result<ChildRun> {
    let workdir = tempfile::tempdir().context("failed to create a working directory")?;
    let mut command = tokio::process::Command::new(binary);
    command
        .args(["sync", "--json"])
        .env_clear()
        .current_dir(workdir.path())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (name, value) in sim_variables(&sim.env_lines()) {
        command.env(name, value);
    }
    for (name, value) in settings.variables() {
        command.env(name, value);
    }
    command
        .env("DATABASE_URL", database_url)
        .env("MELI_STOCK_KEY", BENCH_KEY)
        .env("MELI_STOCK_LOG", "warn,sqlx::query=debug")
        .env("MELI_STOCK_LOG_FORMAT", "json");

    let started = Instant::now();
    let done = command.output().await.with_context(|| {
        format!(
            "failed to start {} (build it with `cargo build --release -p meli-stock`, or pass \
             --meli-stock PATH)",
            binary.display()
        )
    })?;
    let wall = started.elapsed();

    if !done.status.success() {
        bail!(
            "meli-stock sync exited with {}; its last lines:\n{}",
            done.status,
            tail(&String::from_utf8_lossy(&done.stderr), 20)
        );
    }
    let output: RunOutput = serde_json::from_slice(&done.stdout).with_context(|| {
        format!(
            "meli-stock sync --json printed something that is not a run record: {}",
            tail(&String::from_utf8_lossy(&done.stdout), 5)
        )
    })?;
    if output.outcome != "success" {
        bail!("meli-stock sync reported outcome {:?}", output.outcome);
    }
    let write = write_statements(&String::from_utf8_lossy(&done.stderr));
    Ok(ChildRun {
        wall,
        output,
        write,
    })
}

/// The statements from the write transaction's lock (`pg_advisory_xact_lock`) to its
/// `COMMIT`, from sqlx's JSON log lines; empty when the log holds no such transaction.
pub fn write_statements(log: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in log.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if event.get("target").and_then(|t| t.as_str()) != Some("sqlx::query") {
            continue;
        }
        let summary = event
            .get("summary")
            .and_then(|s| s.as_str())
            .unwrap_or_default();
        if summary.starts_with("SELECT pg_advisory_xact_lock") {
            inside = true;
            out.clear();
            continue;
        }
        if !inside {
            continue;
        }
        out.push(Statement {
            summary: summary.to_owned(),
            seconds: event
                .get("elapsed_secs")
                .and_then(|s| s.as_f64())
                .unwrap_or(0.0),
            rows: event
                .get("rows_affected")
                .and_then(|r| r.as_u64())
                .unwrap_or(0),
        });
        if summary == "COMMIT" {
            return out;
        }
    }
    Vec::new()
}

/// `NAME=value` lines as pairs; other lines are skipped.
fn sim_variables(lines: &str) -> Vec<(String, String)> {
    lines
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_variables_split_at_the_first_equals_sign() {
        let vars = sim_variables("ML_API_URL=http://127.0.0.1:1/\nML_SECRET=a=b\n\n");

        assert_eq!(
            vars,
            vec![
                ("ML_API_URL".to_owned(), "http://127.0.0.1:1/".to_owned()),
                ("ML_SECRET".to_owned(), "a=b".to_owned()),
            ]
        );
    }

    #[test]
    fn write_statements_are_the_ones_between_the_lock_and_the_commit() {
        let line = |summary: &str, secs: f64, rows: u64| {
            serde_json::json!({
                "level": "DEBUG",
                "summary": summary,
                "elapsed_secs": secs,
                "rows_affected": rows,
                "target": "sqlx::query",
            })
            .to_string()
        };
        let log = [
            line("SELECT \"external_id\"::text AS match_key, …", 0.2, 0),
            r#"{"level":"WARN","message":"listed item is gone","target":"meli_stock::sync"}"#
                .to_owned(),
            line("SELECT pg_advisory_xact_lock($1)", 0.001, 1),
            line("INSERT INTO meli_stock.item_map (seller_id, …", 0.6, 1000),
            line("WITH input AS ( …", 2.5, 1),
            line("COMMIT", 0.01, 0),
            line("UPDATE meli_stock.runs SET finished_at …", 0.005, 1),
            "not json".to_owned(),
        ]
        .join("\n");

        let statements = write_statements(&log);

        let labels: Vec<(String, f64, u64)> = statements
            .iter()
            .map(|s| (s.label(), s.seconds, s.rows))
            .collect();
        assert_eq!(
            labels,
            vec![
                ("item map".to_owned(), 0.6, 1000),
                ("stock rows and ledger".to_owned(), 2.5, 1),
                ("commit".to_owned(), 0.01, 0),
            ]
        );
    }

    #[test]
    fn a_log_without_a_finished_write_has_no_write_statements() {
        let log = serde_json::json!({
            "summary": "SELECT pg_advisory_xact_lock($1)",
            "elapsed_secs": 0.001,
            "target": "sqlx::query",
        })
        .to_string();

        assert!(write_statements(&log).is_empty());
    }

    #[test]
    fn the_budget_variable_is_set_only_when_asked_for() {
        let mut settings = ChildSettings {
            requests_per_second: 100.0,
            stock_reads_per_minute: 2_000,
            concurrency: 16,
            read_budget: None,
        };
        assert!(
            !settings
                .variables()
                .iter()
                .any(|(name, _)| *name == "MELI_STOCK_STOCK_READ_BUDGET")
        );

        settings.read_budget = Some("all".to_owned());
        assert!(
            settings
                .variables()
                .contains(&("MELI_STOCK_STOCK_READ_BUDGET", "all".to_owned()))
        );
    }
}
