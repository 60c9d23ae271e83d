//! Reads and writes of the seller's tables beyond a run, on SQLite: product rows for the
//! demo and the benchmark, a sample of the ML warehouse, and the freshness figures of the
//! monitoring query.

use tracing::instrument;

use super::SqliteStore;
use crate::store::error::StoreError;
use crate::store::model::{Freshness, StockSample};
use crate::store::names::{InventoryLayout, quote};
use crate::store::rows::{freshness_from_row, sample_from_row};

impl SqliteStore {
    #[instrument(skip_all, fields(keys = keys.len()), err)]
    pub(crate) async fn insert_missing_products(
        &self,
        layout: &InventoryLayout,
        keys: &[String],
    ) -> Result<u64, StoreError> {
        let names = layout.names();
        let json = serde_json::to_string(keys)
            .map_err(|e| StoreError::InvalidInput(format!("product keys are not JSON: {e}")))?;
        let sql = format!(
            "INSERT INTO {table} ({matching}, {source}) \
             SELECT DISTINCT k.value, ?2 FROM json_each(?1) AS k \
             WHERE NOT EXISTS (SELECT 1 FROM {table} p \
                 WHERE CAST(p.{matching} AS TEXT) = k.value AND CAST(p.{source} AS TEXT) = ?2)",
            table = quote(&names.products_table),
            matching = quote(&names.match_column),
            source = quote(&names.products_source),
        );
        let done = sqlx::query(&sql)
            .bind(json)
            .bind(&names.source_value)
            .execute(&self.pool)
            .await
            .map_err(StoreError::query(format!(
                "insert into {}",
                names.products_table
            )))?;
        Ok(done.rows_affected())
    }

    #[instrument(skip_all, err)]
    pub(crate) async fn ml_stock_sample(
        &self,
        layout: &InventoryLayout,
        limit: u32,
    ) -> Result<Vec<StockSample>, StoreError> {
        let n = layout.names();
        let sql = format!(
            "SELECT CAST(ws.{pid} AS TEXT) AS product_id, CAST(p.{matching} AS TEXT) AS match_key, \
                 CAST(ROUND(COALESCE(ws.{qty}, 0)) AS INTEGER) AS quantity, \
                 CAST(ws.{updated} AS TEXT) AS last_updated, \
                 CAST(ws.{by} AS TEXT) AS updated_by \
             FROM {stock} ws JOIN {warehouses} w ON w.{wid} = ws.{swid} \
             LEFT JOIN {products} p ON p.{id} = ws.{pid} \
             WHERE CAST(w.{code} AS TEXT) = ?1 \
             ORDER BY p.{matching} IS NULL, p.{matching}, ws.{pid} LIMIT ?2",
            pid = quote(&n.stock_product_id),
            matching = quote(&n.match_column),
            qty = quote(&n.stock_quantity),
            updated = quote(&n.stock_last_updated),
            by = quote(&n.stock_updated_by),
            stock = quote(&n.stock_table),
            warehouses = quote(&n.warehouses_table),
            products = quote(&n.products_table),
            wid = quote(&n.warehouses_id),
            swid = quote(&n.stock_warehouse_id),
            id = quote(&n.products_id),
            code = quote(&n.warehouses_code),
        );
        let rows = sqlx::query(&sql)
            .bind(&n.warehouse_code)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(format!("read {}", n.stock_table)))?;
        rows.iter().map(sample_from_row).collect()
    }

    #[instrument(skip_all, err)]
    pub(crate) async fn freshness(
        &self,
        layout: &InventoryLayout,
    ) -> Result<Option<Freshness>, StoreError> {
        let n = layout.names();
        let sql = format!(
            "SELECT CAST(w.{name} AS TEXT) AS warehouse, \
                 CAST(ws.{updated} AS TEXT) AS last_updated, \
                 CAST(ws.{by} AS TEXT) AS updated_by, COUNT(*) AS rows \
             FROM {stock} ws JOIN {warehouses} w ON w.{wid} = ws.{swid} \
             WHERE CAST(w.{code} AS TEXT) = ?1 \
             GROUP BY w.{name}, ws.{updated}, ws.{by} \
             ORDER BY ws.{updated} IS NULL, ws.{updated} DESC LIMIT 1",
            name = quote(&n.warehouses_name),
            updated = quote(&n.stock_last_updated),
            by = quote(&n.stock_updated_by),
            stock = quote(&n.stock_table),
            warehouses = quote(&n.warehouses_table),
            wid = quote(&n.warehouses_id),
            swid = quote(&n.stock_warehouse_id),
            code = quote(&n.warehouses_code),
        );
        let row = sqlx::query(&sql)
            .bind(&n.warehouse_code)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(format!("read {}", n.stock_table)))?;
        row.as_ref().map(freshness_from_row).transpose()
    }
}
