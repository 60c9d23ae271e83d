//! `meli-stock auth status`: how long each stored seller's tokens have left.
//!
//! ML ends a refresh token 6 months after it was issued, or after 4 months without API use
//! (doc §1.3). Every refresh issues a new refresh token and counts as use, so an account
//! meli-stock refreshes regularly never reaches either limit; the report shows both clocks.
//! The idle clock starts at the last refresh (or the authorization); other API calls made
//! with the same access token are not tracked.

use anyhow::anyhow;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::StatusArgs;
use crate::cli::{open_store, open_vault};
use crate::config::Config;
use crate::error::Failure;
use crate::store::{AccountRow, AccountStatus};
use crate::tokens::Vault;

/// ML's lifetime of a refresh token (doc §1.3: 6 months).
const REFRESH_LIFETIME_DAYS: i64 = 180;

/// ML's limit on a refresh token unused for this long (doc §1.3: 4 months).
const IDLE_LIMIT_DAYS: i64 = 120;

/// One seller's line of the report.
#[derive(Debug, Serialize)]
struct AccountHealth {
    seller_id: u64,
    site_id: Option<String>,
    nickname: Option<String>,
    app_id: String,
    status: AccountStatus,
    /// Whether the stored tokens open with the key in use.
    key_ok: bool,
    access_expires_at: DateTime<Utc>,
    access_seconds_left: i64,
    refresh_issued_at: Option<DateTime<Utc>>,
    refresh_age_days: Option<i64>,
    idle_since: DateTime<Utc>,
    idle_days: i64,
    last_refresh_at: Option<DateTime<Utc>>,
    refresh_count: u64,
    last_error: Option<String>,
}

fn health(vault: &Vault, row: &AccountRow, now: DateTime<Utc>) -> AccountHealth {
    let idle_since = row
        .last_refresh_at
        .or(row.refresh_issued_at)
        .unwrap_or(row.created_at);
    AccountHealth {
        seller_id: row.seller_id,
        site_id: row.site_id.clone(),
        nickname: row.nickname.clone(),
        app_id: row.app_id.clone(),
        status: row.status,
        key_ok: vault.open_pair(row).is_ok(),
        access_expires_at: row.access_expires_at,
        access_seconds_left: (row.access_expires_at - now).num_seconds(),
        refresh_issued_at: row.refresh_issued_at,
        refresh_age_days: row.refresh_issued_at.map(|at| (now - at).num_days()),
        idle_since,
        idle_days: (now - idle_since).num_days(),
        last_refresh_at: row.last_refresh_at,
        refresh_count: row.refresh_count,
        last_error: row.last_error.clone(),
    }
}

/// `2h 05m`, `3d 4h`, `45s`.
fn span(d: Duration) -> String {
    let secs = d.num_seconds().abs();
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else if minutes > 0 {
        format!("{minutes}m {:02}s", secs % 60)
    } else {
        format!("{secs}s")
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn describe(h: &AccountHealth, now: DateTime<Utc>) -> String {
    let mut out = format!(
        "seller {} ({}, site {}, app {}): {}\n",
        h.seller_id,
        h.nickname.as_deref().unwrap_or("no nickname"),
        h.site_id.as_deref().unwrap_or("unknown"),
        h.app_id,
        match (h.status, h.key_ok) {
            (AccountStatus::Ok, true) => "ok",
            (AccountStatus::Ok, false) => "tokens do not open with this key",
            (AccountStatus::ReauthRequired, _) => "REAUTH REQUIRED",
        }
    );

    let left = h.access_expires_at - now;
    let access = if left > Duration::zero() {
        format!("expires in {} ({})", span(left), time(h.access_expires_at))
    } else {
        format!("expired {} ago; the next request refreshes it", span(left))
    };
    out.push_str(&format!("  access token   {access}\n"));

    let refresh = match h.refresh_issued_at {
        Some(issued) => {
            let ends = issued + Duration::days(REFRESH_LIFETIME_DAYS);
            format!(
                "issued {} ago, {} days into its {REFRESH_LIFETIME_DAYS}-day life (ends {})",
                span(now - issued),
                h.refresh_age_days.unwrap_or_default(),
                time(ends)
            )
        }
        None => "issue time unknown (imported from the settings; known after the next \
                 refresh)"
            .to_owned(),
    };
    out.push_str(&format!("  refresh token  {refresh}\n"));
    let idle_ends = h.idle_since + Duration::days(IDLE_LIMIT_DAYS);
    out.push_str(&format!(
        "  idle           {} days since the last refresh or authorization; ML ends an \
         unused grant after {IDLE_LIMIT_DAYS} days ({})\n",
        h.idle_days,
        time(idle_ends)
    ));
    let last = h.last_refresh_at.map_or_else(|| "never".to_owned(), time);
    out.push_str(&format!(
        "  last refresh   {last} ({} refreshes so far)\n",
        h.refresh_count
    ));
    if let Some(error) = &h.last_error {
        out.push_str(&format!("  last error     {error}\n"));
    }
    out
}

pub(super) async fn show(config: &Config, args: &StatusArgs) -> Result<(), Failure> {
    let store = open_store(config).await?;
    let vault = open_vault(&store, config).await?;
    let now = Utc::now();
    let rows = store.accounts().await.map_err(|e| Failure::Run(e.into()))?;
    let report: Vec<AccountHealth> = rows.iter().map(|row| health(&vault, row, now)).collect();

    if args.json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::Run(anyhow!("cannot encode the status: {e}")))?;
        outln!("{json}");
        return Ok(());
    }
    if report.is_empty() {
        outln!(
            "no seller accounts are stored in {}; authorize one with `meli-stock auth url`",
            store.describe()
        );
        return Ok(());
    }
    for h in &report {
        out!("{}", describe(h, now));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_like_durations() {
        assert_eq!(span(Duration::seconds(45)), "45s");
        assert_eq!(span(Duration::seconds(125)), "2m 05s");
        assert_eq!(span(Duration::seconds(2 * 3600 + 5 * 60)), "2h 05m");
        assert_eq!(span(Duration::seconds(3 * 86_400 + 4 * 3600)), "3d 4h");
    }
}
