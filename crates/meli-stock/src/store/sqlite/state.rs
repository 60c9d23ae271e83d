//! meli-stock's own tables on SQLite: the run ledger, the state a run starts from and
//! the unmatched-items report.

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::SqliteStore;
use crate::store::error::{StoreError, to_i64};
use crate::store::model::{RunId, RunRecord, SyncState, UnmatchedItem};
use crate::store::rows::{
    RUN_COLUMNS, api_calls_json, item_from_row, run_from_row, unmatched_from_row,
    user_product_from_row,
};
use crate::store::to_micros;

impl SqliteStore {
    #[instrument(skip(self), err)]
    pub(crate) async fn start_run(
        &self,
        seller_id: u64,
        started_at: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<RunId, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO meli_stock_runs (seller_id, started_at, dry_run, outcome) \
             VALUES (?1, ?2, ?3, 'running') RETURNING id",
        )
        .bind(to_i64(seller_id, "seller id")?)
        .bind(to_micros(started_at))
        .bind(dry_run)
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::query(format!(
            "record the start of a run of seller {seller_id}"
        )))?;
        Ok(RunId(id))
    }

    #[instrument(skip_all, fields(run_id = %record.id, outcome = %record.outcome), err)]
    pub(crate) async fn finish_run(&self, record: &RunRecord) -> Result<(), StoreError> {
        let n = |v: u64, what: &str| to_i64(v, what);
        let done = sqlx::query(
            "UPDATE meli_stock_runs SET finished_at = ?2, outcome = ?3, listing_complete = ?4, \
                 items_listed = ?5, items_read = ?6, user_products_read = ?7, \
                 rows_written = ?8, rows_changed = ?9, rows_zeroed = ?10, unmatched = ?11, \
                 disagreements = ?12, api_calls = ?13, retries = ?14, \
                 rate_limited = ?15, error = ?16 \
             WHERE id = ?1",
        )
        .bind(record.id.0)
        .bind(to_micros(record.finished_at.unwrap_or_else(Utc::now)))
        .bind(record.outcome.as_str())
        .bind(record.listing_complete)
        .bind(n(record.items_listed, "items_listed")?)
        .bind(n(record.items_read, "items_read")?)
        .bind(n(record.user_products_read, "user_products_read")?)
        .bind(n(record.rows_written, "rows_written")?)
        .bind(n(record.rows_changed, "rows_changed")?)
        .bind(n(record.rows_zeroed, "rows_zeroed")?)
        .bind(n(record.unmatched, "unmatched")?)
        .bind(n(record.disagreements, "disagreements")?)
        .bind(api_calls_json(&record.api_calls)?)
        .bind(n(record.retries, "retries")?)
        .bind(n(record.rate_limited, "rate_limited")?)
        .bind(record.error.as_deref())
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(format!(
            "record the end of run {}",
            record.id
        )))?;

        if done.rows_affected() == 0 {
            return Err(StoreError::RunNotFound(record.id));
        }
        Ok(())
    }

    #[instrument(skip(self), err)]
    pub(crate) async fn recent_runs(
        &self,
        seller_id: Option<u64>,
        limit: u32,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let seller = seller_id.map(|s| to_i64(s, "seller id")).transpose()?;
        let sql = format!(
            "SELECT {RUN_COLUMNS}, api_calls FROM meli_stock_runs \
             WHERE ?1 IS NULL OR seller_id = ?1 \
             ORDER BY started_at DESC, id DESC LIMIT ?2"
        );
        let rows = sqlx::query(&sql)
            .bind(seller)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query("read meli_stock_runs"))?;
        rows.iter().map(run_from_row).collect()
    }

    #[instrument(skip(self), err)]
    pub(crate) async fn last_success(
        &self,
        seller_id: u64,
    ) -> Result<Option<RunRecord>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS}, api_calls FROM meli_stock_runs \
             WHERE seller_id = ?1 AND outcome = 'success' AND dry_run = 0 \
             ORDER BY finished_at DESC, id DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(to_i64(seller_id, "seller id")?)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query("read meli_stock_runs"))?;
        row.as_ref().map(run_from_row).transpose()
    }

    #[instrument(skip(self), err)]
    pub(crate) async fn load_state(&self, seller_id: u64) -> Result<SyncState, StoreError> {
        let seller = to_i64(seller_id, "seller id")?;
        let items = sqlx::query(
            "SELECT item_id, variation_id, user_product_id, status, sub_status, \
                 available_quantity, inventory_id, seller_sku, product_key, product_id \
             FROM meli_stock_item_map WHERE seller_id = ?1",
        )
        .bind(seller)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("read meli_stock_item_map"))?;

        let ups = sqlx::query(
            "SELECT user_product_id, total, item_quantity_at_read, version, read_at \
             FROM meli_stock_user_products WHERE seller_id = ?1",
        )
        .bind(seller)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("read meli_stock_user_products"))?;

        let claimed: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT product_id FROM meli_stock_item_map \
             WHERE seller_id <> ?1 AND product_id IS NOT NULL",
        )
        .bind(seller)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("read the products other sellers sync"))?;

        let mut state = SyncState {
            claimed_by_others: claimed.into_iter().collect(),
            ..SyncState::default()
        };
        for row in &items {
            let item = item_from_row(row)?;
            state
                .items
                .insert((item.item_id.clone(), item.variation_id), item);
        }
        for row in &ups {
            let (id, up) = user_product_from_row(row)?;
            state.user_products.insert(id, up);
        }
        Ok(state)
    }

    #[instrument(skip(self), err)]
    pub(crate) async fn unmatched(&self, seller_id: u64) -> Result<Vec<UnmatchedItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT item_id, variation_id, match_key, status, available_quantity, first_seen, \
                 last_seen_run \
             FROM meli_stock_unmatched_items WHERE seller_id = ?1 \
             ORDER BY item_id, variation_id",
        )
        .bind(to_i64(seller_id, "seller id")?)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("read meli_stock_unmatched_items"))?;
        rows.iter().map(unmatched_from_row).collect()
    }
}
