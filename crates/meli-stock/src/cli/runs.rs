//! `meli-stock runs` and `meli-stock report unmatched`: reading the run ledger.

use anyhow::anyhow;
use clap::{Args, Subcommand};

use super::open_store;
use crate::config::Config;
use crate::error::Failure;

/// `meli-stock runs` flags.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// How many runs to show.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Only this seller's runs.
    #[arg(long, value_name = "ID")]
    pub seller: Option<u64>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Reports.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Listings the last run could not match to a product.
    Unmatched {
        /// Only this seller.
        #[arg(long, value_name = "ID")]
        seller: Option<u64>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(value).map_err(|e| Failure::Run(anyhow!("cannot encode: {e}")))
}

pub(super) async fn list(config: &Config, args: &RunsArgs) -> Result<(), Failure> {
    let store = open_store(config).await?;
    let runs = store
        .recent_runs(args.seller, args.limit)
        .await
        .map_err(|e| Failure::Run(e.into()))?;

    if args.json {
        outln!("{}", to_json(&runs)?);
        return Ok(());
    }
    if runs.is_empty() {
        outln!("no runs recorded yet; start one with: meli-stock sync");
        return Ok(());
    }
    outln!(
        "{:>6}  {:<20}  {:>12}  {:<8}  {:>8}  {:>8}  {:>8}  {:>9}  error",
        "run",
        "started (UTC)",
        "seller",
        "outcome",
        "items",
        "changed",
        "UP reads",
        "unmatched"
    );
    for r in runs {
        let outcome = if r.dry_run {
            format!("{}*", r.outcome)
        } else {
            r.outcome.to_string()
        };
        outln!(
            "{:>6}  {:<20}  {:>12}  {:<8}  {:>8}  {:>8}  {:>8}  {:>9}  {}",
            r.id,
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            r.seller_id,
            outcome,
            r.items_listed,
            r.rows_changed,
            r.user_products_read,
            r.unmatched,
            r.error.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

pub(super) async fn report(config: &Config, cmd: ReportCommand) -> Result<(), Failure> {
    let ReportCommand::Unmatched { seller, json } = cmd;
    let store = open_store(config).await?;
    let seller = match seller.or(config.ml.seller_id) {
        Some(seller) => seller,
        None => match store
            .recent_runs(None, 1)
            .await
            .map_err(|e| Failure::Run(e.into()))?[..]
        {
            [ref latest] => latest.seller_id,
            _ => {
                outln!("no runs recorded yet; start one with: meli-stock sync");
                return Ok(());
            }
        },
    };
    let rows = store
        .unmatched(seller)
        .await
        .map_err(|e| Failure::Run(e.into()))?;

    if json {
        outln!("{}", to_json(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        outln!("every listing of seller {seller}'s last run matched a product");
        return Ok(());
    }
    outln!(
        "{:<16}  {:>12}  {:<24}  {:<10}  {:>8}  first seen (UTC)",
        "item",
        "variation",
        "match key",
        "status",
        "stock"
    );
    for item in &rows {
        let row = &item.row;
        outln!(
            "{:<16}  {:>12}  {:<24}  {:<10}  {:>8}  {}",
            row.item_id,
            row.variation_id,
            row.match_key.as_deref().unwrap_or("(none)"),
            row.status,
            row.available_quantity
                .map_or_else(|| "?".to_owned(), |q| q.to_string()),
            item.first_seen.format("%Y-%m-%d %H:%M:%S")
        );
    }
    outln!(
        "{} listings of seller {seller} have no product; add products with {} = '{}' and {} = \
         the match key",
        rows.len(),
        config.inventory.products_source,
        config.inventory.source_value,
        config.inventory.match_column
    );
    Ok(())
}
