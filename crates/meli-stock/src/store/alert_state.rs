//! The persisted state of alerts (one row per seller and alert kind) and the small reads
//! `serve` and `check` need besides the run ledger: a liveness probe and the sellers seen.
//!
//! Saves are compare-and-set on [`AlertRow::version`], so two processes deciding on the same
//! alert at once cannot both send it: the loser's save is refused and it reads again.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::instrument;

use super::accounts::queries;
use super::{Store, StoreError};

/// One alert of one seller as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlertRow {
    pub seller_id: u64,
    /// The alert's name (`run_failed`, `stale`, ...).
    pub kind: String,
    /// Whether the condition holds now.
    pub active: bool,
    /// When the condition began.
    pub since: Option<DateTime<Utc>>,
    /// When the last notice for the current state went out; `None` while one is owed.
    pub notified_at: Option<DateTime<Utc>>,
    /// A number the alert keeps: consecutive failures, or the unmatched listings last told.
    pub count: i64,
    /// The latest error or description.
    pub detail: Option<String>,
    /// The version read; 0 for a row not stored yet.
    pub version: i64,
}

impl AlertRow {
    /// The state of an alert that never fired.
    pub fn new(seller_id: u64, kind: &str) -> AlertRow {
        AlertRow {
            seller_id,
            kind: kind.to_owned(),
            active: false,
            since: None,
            notified_at: None,
            count: 0,
            detail: None,
            version: 0,
        }
    }
}

impl Store {
    /// Every stored alert of one seller, or of all.
    #[instrument(skip(self), err)]
    pub async fn alert_states(&self, seller_id: Option<u64>) -> Result<Vec<AlertRow>, StoreError> {
        on_pool!(self, alert_states(seller_id))
    }

    /// One seller's alert of one kind; a fresh [`AlertRow::new`] when none is stored.
    pub async fn alert_state(&self, seller_id: u64, kind: &str) -> Result<AlertRow, StoreError> {
        let rows = self.alert_states(Some(seller_id)).await?;
        Ok(rows
            .into_iter()
            .find(|r| r.kind == kind)
            .unwrap_or_else(|| AlertRow::new(seller_id, kind)))
    }

    /// Stores `row` if the stored version is still `row.version`; returns whether it was
    /// stored (the new version is `row.version + 1`).
    #[instrument(skip_all, fields(seller_id = row.seller_id, kind = %row.kind), err)]
    pub async fn save_alert_state(&self, row: &AlertRow) -> Result<bool, StoreError> {
        on_pool!(self, save_alert_state(row))
    }

    /// One trivial query: whether the database answers at all.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let done = match self {
            Store::Postgres(s) => sqlx::query("SELECT 1").execute(s.pool()).await.map(drop),
            Store::Sqlite(s) => sqlx::query("SELECT 1").execute(s.pool()).await.map(drop),
        };
        done.map_err(StoreError::query(format!("reach {}", self.describe())))
    }

    /// Every seller with at least one recorded run, in id order.
    #[instrument(skip(self), err)]
    pub async fn sellers_with_runs(&self) -> Result<Vec<u64>, StoreError> {
        on_pool!(self, sellers_with_runs())
    }
}
