//! The apply transaction on SQLite. Desired rows go into a temporary table with chunked
//! multi-row inserts, then one `INSERT … SELECT … ON CONFLICT` upserts them all; the state
//! tables take chunked multi-row upserts.
//!
//! The temporary table's columns get the affinity of the target columns, so values convert
//! (text `'42'` to integer 42) exactly as they will in `warehouse_stock`. A product id that
//! is not an integer while the column is, fails the apply like a bad cast on PostgreSQL.

use sqlx::{Executor, SqliteConnection};
use tracing::{info, instrument};

use super::SqliteStore;
use super::insert_chunked;
use super::inventory::{insert_warehouse_row, warehouse_id};
use crate::store::error::{StoreError, to_i64};
use crate::store::model::{WriteReport, WriteSet};
use crate::store::names::{Affinity, InventoryLayout, quote};
use crate::store::rows::join_sub_status;
use crate::store::to_micros;

impl SqliteStore {
    #[instrument(
        skip_all,
        fields(run_id = %writes.run_id, seller_id = writes.seller_id, rows = writes.desired.len()),
        err
    )]
    pub(crate) async fn apply(
        &self,
        layout: &InventoryLayout,
        writes: &WriteSet,
    ) -> Result<WriteReport, StoreError> {
        let names = layout.names();
        let seller = to_i64(writes.seller_id, "seller id")?;
        let variations_fit = |v: u64| to_i64(v, "variation id");
        for row in &writes.item_map {
            variations_fit(row.variation_id)?;
        }
        for row in &writes.unmatched {
            variations_fit(row.variation_id)?;
        }

        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::query("begin apply"))?;

        let warehouse_created = insert_warehouse_row(&mut tx, names).await?;
        let warehouse_id = warehouse_id(&mut tx, names).await?.ok_or_else(|| {
            StoreError::InvalidInput(format!(
                "warehouse {:?} is still missing after inserting it",
                names.warehouse_code
            ))
        })?;

        write_item_map(&mut tx, seller, writes).await?;
        write_unmatched(&mut tx, seller, writes).await?;
        write_user_products(&mut tx, seller, writes).await?;
        let (rows_written, rows_changed, rows_zeroed) =
            write_stock(&mut tx, layout, &warehouse_id, seller, writes).await?;

        tx.commit()
            .await
            .map_err(StoreError::query("commit apply"))?;
        info!(rows_written, rows_changed, rows_zeroed, "stock written");
        Ok(WriteReport {
            warehouse_id,
            warehouse_created,
            rows_written,
            rows_changed,
            rows_zeroed,
        })
    }
}

/// Loads the desired rows into a temporary table, appends the ledger (reading the old
/// quantities first) and upserts `warehouse_stock` from it.
async fn write_stock(
    conn: &mut SqliteConnection,
    layout: &InventoryLayout,
    warehouse_id: &str,
    seller: i64,
    writes: &WriteSet,
) -> Result<(u64, u64, u64), StoreError> {
    let names = layout.names();
    let types = layout.types();
    let table = quote(&names.stock_table);
    let wid = quote(&names.stock_warehouse_id);
    let pid = quote(&names.stock_product_id);
    let qty = quote(&names.stock_quantity);
    let failed = |what: &str| StoreError::query(format!("{what} {}", names.stock_table));

    let pid_affinity = Affinity::of(&types.stock_product_id);
    let prepare = format!(
        "DROP TABLE IF EXISTS temp.meli_stock_apply_input; \
         CREATE TEMP TABLE meli_stock_apply_input (product_id {pid_type} NOT NULL, \
             quantity {qty_type} NOT NULL, raw_quantity INTEGER NOT NULL, \
             product_text TEXT NOT NULL, item_id TEXT NOT NULL)",
        pid_type = pid_affinity.declared(),
        qty_type = Affinity::of(&types.stock_quantity).declared(),
    );
    // `Executor::execute` keeps this function's future provably `Send`; `RawSql::execute`
    // (generic over the executor) does not.
    conn.execute(sqlx::raw_sql(&prepare))
        .await
        .map_err(failed("prepare writing"))?;

    insert_chunked(
        conn,
        "INSERT INTO temp.meli_stock_apply_input \
         (product_id, quantity, raw_quantity, product_text, item_id) ",
        "",
        &writes.desired,
        5,
        |values, row| {
            values.push_bind(row.product_id.as_str());
            values.push_bind(row.quantity);
            values.push_bind(row.quantity);
            values.push_bind(row.product_id.as_str());
            values.push_bind(row.item_id.as_str());
        },
    )
    .await
    .map_err(failed("stage rows for"))?;

    if pid_affinity == Affinity::Integer {
        let bad: Option<String> = sqlx::query_scalar(
            "SELECT product_text FROM temp.meli_stock_apply_input \
             WHERE typeof(product_id) <> 'integer' LIMIT 1",
        )
        .fetch_optional(&mut *conn)
        .await
        .map_err(failed("check product ids for"))?;
        if let Some(product_id) = bad {
            return Err(StoreError::InvalidProductId {
                product_id,
                table: names.stock_table.clone(),
                column: names.stock_product_id.clone(),
                sql_type: types.stock_product_id.clone(),
            });
        }
    }

    let changes: Vec<(Option<i64>, i64)> = sqlx::query_as(&format!(
        "INSERT INTO meli_stock_stock_changes \
             (run_id, seller_id, product_id, item_id, old_quantity, new_quantity, changed_at) \
         SELECT ?1, ?2, i.product_text, i.item_id, CAST(ROUND(ws.{qty}) AS INTEGER), \
             i.raw_quantity, ?3 \
         FROM temp.meli_stock_apply_input i \
         LEFT JOIN {table} ws ON ws.{wid} = ?4 AND ws.{pid} = i.product_id \
         WHERE ws.{qty} IS NOT i.quantity \
         RETURNING old_quantity, new_quantity"
    ))
    .bind(writes.run_id.0)
    .bind(seller)
    .bind(to_micros(writes.run_at))
    .bind(warehouse_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(failed("record changes of"))?;

    let written = sqlx::query(&format!(
        "INSERT INTO {table} ({wid}, {pid}, {qty}, {updated}, {by}) \
         SELECT ?1, product_id, quantity, ?2, ?3 FROM temp.meli_stock_apply_input WHERE true \
         ON CONFLICT ({wid}, {pid}) DO UPDATE SET {qty} = excluded.{qty}, \
             {updated} = excluded.{updated}, {by} = excluded.{by}",
        updated = quote(&names.stock_last_updated),
        by = quote(&names.stock_updated_by),
    ))
    .bind(warehouse_id)
    .bind(to_micros(writes.run_at))
    .bind(&writes.updated_by)
    .execute(&mut *conn)
    .await
    .map_err(failed("write"))?
    .rows_affected();

    sqlx::query("DROP TABLE temp.meli_stock_apply_input")
        .execute(&mut *conn)
        .await
        .map_err(failed("finish writing"))?;

    let changed = changes.len() as u64;
    let zeroed = changes
        .iter()
        .filter(|(old, new)| *new == 0 && old.unwrap_or(0) != 0)
        .count() as u64;
    Ok((written, changed, zeroed))
}

/// Applies the item map's delta: deletes the removed rows, upserts the new and changed ones.
async fn write_item_map(
    conn: &mut SqliteConnection,
    seller: i64,
    writes: &WriteSet,
) -> Result<(), StoreError> {
    let run = writes.run_id.0;
    if !writes.item_map_removed.is_empty() {
        let removed = serde_json::to_string(&writes.item_map_removed).map_err(|e| {
            StoreError::InvalidInput(format!("removed item keys are not JSON: {e}"))
        })?;
        sqlx::query(
            "DELETE FROM meli_stock_item_map WHERE seller_id = ?1 AND (item_id, variation_id) \
             IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') \
                 FROM json_each(?2))",
        )
        .bind(seller)
        .bind(removed)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::query("delete from meli_stock_item_map"))?;
    }

    insert_chunked(
        conn,
        "INSERT INTO meli_stock_item_map (seller_id, item_id, variation_id, user_product_id, \
             status, sub_status, available_quantity, inventory_id, seller_sku, product_key, \
             product_id, written_by_run) ",
        " ON CONFLICT (seller_id, item_id, variation_id) DO UPDATE SET \
             user_product_id = excluded.user_product_id, status = excluded.status, \
             sub_status = excluded.sub_status, \
             available_quantity = excluded.available_quantity, \
             inventory_id = excluded.inventory_id, seller_sku = excluded.seller_sku, \
             product_key = excluded.product_key, product_id = excluded.product_id, \
             written_by_run = excluded.written_by_run",
        &writes.item_map,
        12,
        |values, row| {
            values.push_bind(seller);
            values.push_bind(row.item_id.as_str());
            values.push_bind(i64::try_from(row.variation_id).unwrap_or(i64::MAX));
            values.push_bind(row.user_product_id.as_deref());
            values.push_bind(row.status.as_str());
            values.push_bind(join_sub_status(&row.sub_status));
            values.push_bind(row.available_quantity);
            values.push_bind(row.inventory_id.as_deref());
            values.push_bind(row.seller_sku.as_deref());
            values.push_bind(row.product_key.as_deref());
            values.push_bind(row.product_id.as_deref());
            values.push_bind(run);
        },
    )
    .await
    .map_err(StoreError::query("write meli_stock_item_map"))?;

    Ok(())
}

/// Upserts the unmatched items (keeping `first_seen`), then deletes the ones now matched
/// or gone.
async fn write_unmatched(
    conn: &mut SqliteConnection,
    seller: i64,
    writes: &WriteSet,
) -> Result<(), StoreError> {
    let run = writes.run_id.0;
    let run_at = to_micros(writes.run_at);
    insert_chunked(
        conn,
        "INSERT INTO meli_stock_unmatched_items (seller_id, item_id, variation_id, match_key, \
             status, available_quantity, first_seen, last_seen_run) ",
        " ON CONFLICT (seller_id, item_id, variation_id) DO UPDATE SET \
             match_key = excluded.match_key, status = excluded.status, \
             available_quantity = excluded.available_quantity, \
             last_seen_run = excluded.last_seen_run",
        &writes.unmatched,
        8,
        |values, row| {
            values.push_bind(seller);
            values.push_bind(row.item_id.as_str());
            values.push_bind(i64::try_from(row.variation_id).unwrap_or(i64::MAX));
            values.push_bind(row.match_key.as_deref());
            values.push_bind(row.status.as_str());
            values.push_bind(row.available_quantity);
            values.push_bind(run_at);
            values.push_bind(run);
        },
    )
    .await
    .map_err(StoreError::query("write meli_stock_unmatched_items"))?;

    sqlx::query(
        "DELETE FROM meli_stock_unmatched_items WHERE seller_id = ?1 AND last_seen_run <> ?2",
    )
    .bind(seller)
    .bind(run)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::query("prune meli_stock_unmatched_items"))?;
    Ok(())
}

/// Replaces the location rows of every user product read in this run and upserts their
/// totals.
async fn write_user_products(
    conn: &mut SqliteConnection,
    seller: i64,
    writes: &WriteSet,
) -> Result<(), StoreError> {
    let ups = &writes.user_products;
    if ups.is_empty() {
        return Ok(());
    }
    let run = writes.run_id.0;

    // The ids travel as one JSON array, so the delete is one statement at any count.
    let ids: Vec<&str> = ups.iter().map(|u| u.user_product_id.as_str()).collect();
    let ids = serde_json::to_string(&ids)
        .map_err(|e| StoreError::InvalidInput(format!("user product ids: {e}")))?;
    sqlx::query(
        "DELETE FROM meli_stock_user_product_stock WHERE seller_id = ?1 \
         AND user_product_id IN (SELECT value FROM json_each(?2))",
    )
    .bind(seller)
    .bind(ids)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::query("clear meli_stock_user_product_stock"))?;

    let locations: Vec<_> = ups
        .iter()
        .flat_map(|up| up.locations.iter().map(move |l| (up, l)))
        .collect();
    insert_chunked(
        conn,
        "INSERT INTO meli_stock_user_product_stock (seller_id, user_product_id, location_key, \
             location_type, store_id, network_node_id, quantity, version, read_at, run_id) ",
        "",
        &locations,
        10,
        |values, (up, location)| {
            values.push_bind(seller);
            values.push_bind(up.user_product_id.as_str());
            values.push_bind(location.location_key());
            values.push_bind(location.kind.as_str());
            values.push_bind(location.store_id.as_deref());
            values.push_bind(location.network_node_id.as_deref());
            values.push_bind(location.quantity);
            values.push_bind(up.version);
            values.push_bind(to_micros(up.read_at));
            values.push_bind(run);
        },
    )
    .await
    .map_err(StoreError::query("write meli_stock_user_product_stock"))?;

    insert_chunked(
        conn,
        "INSERT INTO meli_stock_user_products (seller_id, user_product_id, total, \
             item_quantity_at_read, version, read_at) ",
        " ON CONFLICT (seller_id, user_product_id) DO UPDATE SET total = excluded.total, \
             item_quantity_at_read = excluded.item_quantity_at_read, \
             version = excluded.version, read_at = excluded.read_at",
        ups,
        6,
        |values, up| {
            values.push_bind(seller);
            values.push_bind(up.user_product_id.as_str());
            values.push_bind(up.total());
            values.push_bind(up.item_quantity_at_read);
            values.push_bind(up.version);
            values.push_bind(to_micros(up.read_at));
        },
    )
    .await
    .map_err(StoreError::query("write meli_stock_user_products"))?;
    Ok(())
}
