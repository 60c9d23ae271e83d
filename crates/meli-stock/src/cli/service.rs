//! `meli-stock serve` and `meli-stock check`: the flags, and the freshness check that cron,
//! CI or an external monitor runs.

use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use serde::Serialize;

use super::open_store;
use crate::alerts::Alerter;
use crate::alerts::message::{span, when};
use crate::config::{self, Config};
use crate::error::Failure;

/// `meli-stock serve` flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the HTTP endpoints (overrides MELI_STOCK_LISTEN).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// An interval (`1h`) or a cron expression in UTC (overrides MELI_STOCK_SCHEDULE).
    #[arg(long, value_name = "SCHEDULE")]
    pub schedule: Option<String>,
}

/// `meli-stock check` flags.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Fail when the newest successful run is older than this (default: MELI_STOCK_STALE_AFTER).
    #[arg(long, value_name = "DURATION", value_parser = max_age)]
    pub max_age: Option<Duration>,
    /// Only this seller (default: ML_SELLER_ID, otherwise every seller with recorded runs).
    #[arg(long, value_name = "ID")]
    pub seller: Option<u64>,
    /// Print JSON instead of one line per seller.
    #[arg(long)]
    pub json: bool,
}

fn max_age(v: &str) -> Result<Duration, String> {
    let d = config::parse_duration(v)?;
    if d.is_zero() {
        return Err("must be longer than zero".to_owned());
    }
    Ok(d)
}

/// The stored accounts, and every other seller with a recorded run (one synced before its
/// account was stored, say), in id order.
async fn checked_sellers(store: &crate::store::Store) -> Result<Vec<u64>, Failure> {
    let fail = |e: crate::store::StoreError| Failure::Run(e.into());
    let mut sellers: Vec<u64> = store
        .accounts()
        .await
        .map_err(fail)?
        .iter()
        .map(|a| a.seller_id)
        .collect();
    sellers.extend(store.sellers_with_runs().await.map_err(fail)?);
    sellers.sort_unstable();
    sellers.dedup();
    Ok(sellers)
}

#[derive(Serialize)]
struct Freshness {
    seller_id: u64,
    last_success: Option<chrono::DateTime<chrono::Utc>>,
    age_seconds: Option<i64>,
    stale: bool,
}

/// Exits non-zero (and alerts, once per change) when a seller's newest successful run is
/// older than the threshold; sends the recovery message once it is fresh again.
pub(super) async fn check(config: &Config, args: &CheckArgs) -> Result<(), Failure> {
    let store = open_store(config).await?;
    let threshold = args.max_age.unwrap_or(config.alerts.stale_after);
    let sellers = match args.seller.or(config.ml.seller_id) {
        Some(id) => vec![id],
        None => checked_sellers(&store).await?,
    };
    if sellers.is_empty() {
        return Err(Failure::Run(anyhow!(
            "no run is recorded in {} and no seller is configured, so nothing is fresh; run \
             `meli-stock sync`, or pass --seller (or set ML_SELLER_ID) so the staleness alert \
             knows whom it is about",
            store.describe()
        )));
    }
    let alerter = Alerter::from_settings(store.clone(), &config.alerts).map_err(Failure::Input)?;

    let now = chrono::Utc::now();
    let mut report = Vec::new();
    for seller_id in sellers {
        let last = crate::serve::last_success_at(&store, seller_id).await?;
        let stale = alerter
            .check_staleness(seller_id, last, last, threshold, now)
            .await
            .map_err(|e| Failure::Run(e.into()))?;
        report.push(Freshness {
            seller_id,
            last_success: last,
            age_seconds: last.map(|at| (now - at).num_seconds()),
            stale,
        });
    }
    store.close().await;

    if args.json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::Run(anyhow!("cannot encode the check: {e}")))?;
        outln!("{json}");
    } else {
        for f in &report {
            let last = f.last_success.map_or_else(
                || "no successful run".to_owned(),
                |at| format!("last success {} ({} ago)", when(at), span(at, now)),
            );
            let verdict = if f.stale { "STALE" } else { "ok" };
            outln!("seller {}: {verdict}, {last}", f.seller_id);
        }
    }

    let stale: Vec<String> = report
        .iter()
        .filter(|f| f.stale)
        .map(|f| f.seller_id.to_string())
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    Err(Failure::Run(anyhow!(
        "no successful run within {} for seller(s) {}",
        humantime::format_duration(threshold),
        stale.join(", ")
    )))
}
