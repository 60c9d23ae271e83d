//! Reads and writes of the seller's tables beyond a run: product rows for the demo and the
//! benchmark, a sample of the ML warehouse, and the freshness figures of the monitoring
//! query.

use tracing::instrument;

use super::PgStore;
use crate::store::error::StoreError;
use crate::store::inventory::{Dialect, qualified};
use crate::store::model::{Freshness, StockSample};
use crate::store::names::{InventoryLayout, quote};
use crate::store::rows::{freshness_from_row, sample_from_row};

impl PgStore {
    #[instrument(skip_all, fields(keys = keys.len()), err)]
    pub(crate) async fn insert_missing_products(
        &self,
        layout: &InventoryLayout,
        keys: &[String],
    ) -> Result<u64, StoreError> {
        let names = layout.names();
        let sql = format!(
            "INSERT INTO {table} ({matching}, {source}) \
             SELECT DISTINCT k.key::{match_type}, $2 FROM unnest($1::text[]) AS k(key) \
             WHERE NOT EXISTS (SELECT 1 FROM {table} p \
                 WHERE p.{matching}::text = k.key AND p.{source}::text = $2)",
            table = qualified(Dialect::Postgres, &names.schema, &names.products_table),
            matching = quote(&names.match_column),
            source = quote(&names.products_source),
            match_type = layout.types().product_match,
        );
        let done = sqlx::query(&sql)
            .bind(keys)
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
            "SELECT ws.{pid}::text AS product_id, p.{matching}::text AS match_key, \
                 COALESCE(round(ws.{qty}::numeric), 0)::int8 AS quantity, \
                 ws.{updated}::text AS last_updated, ws.{by}::text AS updated_by \
             FROM {stock} ws JOIN {warehouses} w ON w.{wid} = ws.{swid} \
             LEFT JOIN {products} p ON p.{id} = ws.{pid} \
             WHERE w.{code}::text = $1 ORDER BY p.{matching} NULLS LAST, ws.{pid} LIMIT $2",
            pid = quote(&n.stock_product_id),
            matching = quote(&n.match_column),
            qty = quote(&n.stock_quantity),
            updated = quote(&n.stock_last_updated),
            by = quote(&n.stock_updated_by),
            stock = qualified(Dialect::Postgres, &n.schema, &n.stock_table),
            warehouses = qualified(Dialect::Postgres, &n.schema, &n.warehouses_table),
            products = qualified(Dialect::Postgres, &n.schema, &n.products_table),
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
            "SELECT w.{name}::text AS warehouse, ws.{updated}::text AS last_updated, \
                 ws.{by}::text AS updated_by, COUNT(*) AS rows \
             FROM {stock} ws JOIN {warehouses} w ON w.{wid} = ws.{swid} \
             WHERE w.{code}::text = $1 \
             GROUP BY w.{name}, ws.{updated}, ws.{by} \
             ORDER BY ws.{updated} DESC NULLS LAST LIMIT 1",
            name = quote(&n.warehouses_name),
            updated = quote(&n.stock_last_updated),
            by = quote(&n.stock_updated_by),
            stock = qualified(Dialect::Postgres, &n.schema, &n.stock_table),
            warehouses = qualified(Dialect::Postgres, &n.schema, &n.warehouses_table),
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
