//! Decoding of meli-stock's own rows, written once for both backends: the state tables
//! have the same columns on PostgreSQL and SQLite, and sqlx decodes the same Rust types
//! from either (`api_calls` is selected as JSON text on both).

use std::collections::BTreeMap;

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Postgres, Row, Sqlite, Type};

use super::alert_state::AlertRow;
use super::error::{StoreError, to_u64};
use super::model::{
    Freshness, ItemMapRow, RunId, RunRecord, StockSample, UnmatchedItem, UnmatchedRow,
    UserProductState,
};

/// The `runs` columns in the order [`run_from_row`] reads them; `api_calls` must be
/// selected as text (`api_calls::text` on PostgreSQL).
pub(crate) const RUN_COLUMNS: &str = "id, seller_id, started_at, finished_at, outcome, dry_run, \
     listing_complete, items_listed, items_read, user_products_read, rows_written, \
     rows_changed, rows_zeroed, unmatched, disagreements, retries, rate_limited, error";

/// A column type both backends decode to the same Rust value.
pub(crate) trait Value:
    for<'r> Decode<'r, Postgres> + Type<Postgres> + for<'r> Decode<'r, Sqlite> + Type<Sqlite>
{
}

impl<T> Value for T where
    T: for<'r> Decode<'r, Postgres> + Type<Postgres> + for<'r> Decode<'r, Sqlite> + Type<Sqlite>
{
}

/// A row of either backend, read column by column; the decoders of meli-stock's rows take
/// one of these, so each is written once.
pub(crate) trait StateRow {
    /// The value of `column`, or an error naming it.
    fn value<T: Value>(&self, column: &'static str) -> Result<T, StoreError>;
}

impl StateRow for PgRow {
    fn value<T: Value>(&self, column: &'static str) -> Result<T, StoreError> {
        self.try_get(column)
            .map_err(StoreError::query(format!("decode column {column}")))
    }
}

impl StateRow for SqliteRow {
    fn value<T: Value>(&self, column: &'static str) -> Result<T, StoreError> {
        self.try_get(column)
            .map_err(StoreError::query(format!("decode column {column}")))
    }
}

/// `row.value(column)` with the type left to inference, as the decoders below read.
pub(crate) fn get<T: Value>(row: &impl StateRow, column: &'static str) -> Result<T, StoreError> {
    row.value(column)
}

/// A text column holding one of a fixed set of words (`FromStr` with a `String` error).
pub(crate) fn parsed<T>(row: &impl StateRow, column: &'static str) -> Result<T, StoreError>
where
    T: std::str::FromStr<Err = String>,
{
    let text: String = get(row, column)?;
    text.parse().map_err(|e: String| StoreError::Query {
        operation: format!("decode column {column}"),
        source: sqlx::Error::Decode(e.into()),
    })
}

/// A `runs` row selected with [`RUN_COLUMNS`] plus `api_calls` as text.
pub(crate) fn run_from_row(row: &impl StateRow) -> Result<RunRecord, StoreError> {
    let count = |column: &'static str| get::<i64>(row, column).map(to_u64);

    let outcome = parsed(row, "outcome")?;

    let api_calls: String = get(row, "api_calls")?;
    let api_calls: BTreeMap<String, u64> =
        serde_json::from_str(&api_calls).map_err(|e| StoreError::Query {
            operation: "decode column api_calls".into(),
            source: sqlx::Error::Decode(Box::new(e)),
        })?;

    Ok(RunRecord {
        id: RunId(get(row, "id")?),
        seller_id: count("seller_id")?,
        started_at: get(row, "started_at")?,
        finished_at: get(row, "finished_at")?,
        outcome,
        dry_run: get(row, "dry_run")?,
        listing_complete: get(row, "listing_complete")?,
        items_listed: count("items_listed")?,
        items_read: count("items_read")?,
        user_products_read: count("user_products_read")?,
        rows_written: count("rows_written")?,
        rows_changed: count("rows_changed")?,
        rows_zeroed: count("rows_zeroed")?,
        unmatched: count("unmatched")?,
        disagreements: count("disagreements")?,
        api_calls,
        retries: count("retries")?,
        rate_limited: count("rate_limited")?,
        error: get(row, "error")?,
    })
}

/// An `item_map` row (all columns but seller_id and written_by_run).
pub(crate) fn item_from_row(row: &impl StateRow) -> Result<ItemMapRow, StoreError> {
    let sub_status: String = get(row, "sub_status")?;
    Ok(ItemMapRow {
        item_id: get(row, "item_id")?,
        variation_id: to_u64(get(row, "variation_id")?),
        user_product_id: get(row, "user_product_id")?,
        status: get(row, "status")?,
        sub_status: split_sub_status(&sub_status),
        available_quantity: get(row, "available_quantity")?,
        inventory_id: get(row, "inventory_id")?,
        seller_sku: get(row, "seller_sku")?,
        product_key: get(row, "product_key")?,
        product_id: get(row, "product_id")?,
    })
}

/// A `user_products` row keyed by its user product id.
pub(crate) fn user_product_from_row(
    row: &impl StateRow,
) -> Result<(String, UserProductState), StoreError> {
    let state = UserProductState {
        total: get(row, "total")?,
        item_quantity_at_read: get(row, "item_quantity_at_read")?,
        version: get(row, "version")?,
        read_at: get(row, "read_at")?,
    };
    Ok((get(row, "user_product_id")?, state))
}

/// An `unmatched_items` row.
pub(crate) fn unmatched_from_row(row: &impl StateRow) -> Result<UnmatchedItem, StoreError> {
    Ok(UnmatchedItem {
        row: UnmatchedRow {
            item_id: get(row, "item_id")?,
            variation_id: to_u64(get(row, "variation_id")?),
            match_key: get(row, "match_key")?,
            status: get(row, "status")?,
            available_quantity: get(row, "available_quantity")?,
        },
        first_seen: get(row, "first_seen")?,
        last_seen_run: RunId(get(row, "last_seen_run")?),
    })
}

/// A row of `Store::ml_stock_sample`'s query (every column selected as text but quantity).
pub(crate) fn sample_from_row(row: &impl StateRow) -> Result<StockSample, StoreError> {
    Ok(StockSample {
        product_id: get(row, "product_id")?,
        match_key: get(row, "match_key")?,
        quantity: get(row, "quantity")?,
        last_updated: get(row, "last_updated")?,
        updated_by: get(row, "updated_by")?,
    })
}

/// The row of `Store::freshness`'s query.
pub(crate) fn freshness_from_row(row: &impl StateRow) -> Result<Freshness, StoreError> {
    Ok(Freshness {
        warehouse: get(row, "warehouse")?,
        last_updated: get(row, "last_updated")?,
        updated_by: get(row, "updated_by")?,
        rows: get(row, "rows")?,
    })
}

/// An `alert_state` row.
pub(crate) fn alert_from_row(row: &impl StateRow) -> Result<AlertRow, StoreError> {
    Ok(AlertRow {
        seller_id: to_u64(get(row, "seller_id")?),
        kind: get(row, "kind")?,
        active: get(row, "active")?,
        since: get(row, "since")?,
        notified_at: get(row, "notified_at")?,
        count: get(row, "count")?,
        detail: get(row, "detail")?,
        version: get(row, "version")?,
    })
}

/// The stored form of ML's `sub_status` array.
pub(crate) fn join_sub_status(values: &[String]) -> String {
    values.join(",")
}

fn split_sub_status(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// JSON text of the per-endpoint call counts.
pub(crate) fn api_calls_json(calls: &BTreeMap<String, u64>) -> Result<String, StoreError> {
    serde_json::to_string(calls)
        .map_err(|e| StoreError::InvalidInput(format!("api call counts are not JSON: {e}")))
}
