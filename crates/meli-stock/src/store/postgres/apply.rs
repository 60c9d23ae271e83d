//! The apply transaction on PostgreSQL: every row of a run goes in as arrays expanded with
//! `unnest`, so each table takes one statement whatever the row count.
//!
//! The seller's ids arrive as text and are cast in SQL to the column types the catalog
//! reported, so uuid, integer and text ids all work; an id that does not cast fails the
//! statement and rolls the whole transaction back.

use sqlx::{PgConnection, Row};
use tracing::{info, instrument};

use super::PgStore;
use super::inventory::{insert_warehouse_row, warehouse_id};
use crate::store::error::{StoreError, to_i64};
use crate::store::inventory::{Dialect, qualified};
use crate::store::lock::advisory_key;
use crate::store::model::{
    DesiredStock, ItemKey, ItemMapRow, UserProductRead, WriteReport, WriteSet,
};
use crate::store::names::{InventoryLayout, quote};
use crate::store::rows::join_sub_status;
use crate::store::to_micros;

/// Rows per statement of a large set; a statement of 10,000 rows already costs far more in
/// the database than the round trip.
const STATEMENT_ROWS: usize = 10_000;

impl PgStore {
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
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(StoreError::query("begin apply"))?;

        // Two sellers sharing a database must not both insert the warehouse row.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(advisory_key("meli-stock warehouse row", 0))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("lock the warehouse row"))?;
        let warehouse_created = insert_warehouse_row(&mut tx, names).await?;
        let warehouse_id = warehouse_id(&mut tx, names).await?.ok_or_else(|| {
            StoreError::InvalidInput(format!(
                "warehouse {:?} is still missing after inserting it",
                names.warehouse_code
            ))
        })?;

        // Large sets go in statements of `STATEMENT_ROWS` rows, all in this transaction:
        // still set-based, with a bounded encoded statement instead of one of 100,000 rows.
        for removed in writes.item_map_removed.chunks(STATEMENT_ROWS) {
            remove_items(&mut tx, seller, removed).await?;
        }
        for rows in writes.item_map.chunks(STATEMENT_ROWS) {
            write_item_map(&mut tx, seller, writes.run_id.0, rows).await?;
        }
        write_unmatched(&mut tx, seller, writes).await?;
        for ups in writes.user_products.chunks(STATEMENT_ROWS) {
            write_user_products(&mut tx, seller, writes.run_id.0, ups).await?;
        }
        let (mut rows_written, mut rows_changed, mut rows_zeroed) = (0, 0, 0);
        for desired in writes.desired.chunks(STATEMENT_ROWS) {
            let (written, changed, zeroed) =
                write_stock(&mut tx, layout, &warehouse_id, seller, writes, desired).await?;
            rows_written += written;
            rows_changed += changed;
            rows_zeroed += zeroed;
        }

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

/// Upserts every desired row and records the changed ones in the ledger, in one statement:
/// all its parts see the table as it was before, so `old` holds the previous quantities.
async fn write_stock(
    conn: &mut PgConnection,
    layout: &InventoryLayout,
    warehouse_id: &str,
    seller: i64,
    writes: &WriteSet,
    desired: &[DesiredStock],
) -> Result<(u64, u64, u64), StoreError> {
    let names = layout.names();
    let types = layout.types();
    let sql = format!(
        "WITH input AS ( \
             SELECT u.pid::{pid_type} AS pid, u.qty::{qty_type} AS qty, u.qty AS raw_qty, \
                    u.pid AS pid_text, u.item_id \
             FROM unnest($1::text[], $2::int8[], $3::text[]) AS u(pid, qty, item_id)), \
         old AS ( \
             SELECT ws.{pid} AS pid, ws.{qty} AS qty \
             FROM {table} ws JOIN input ON ws.{pid} = input.pid \
             WHERE ws.{wid} = $4::text::{wid_type}), \
         written AS ( \
             INSERT INTO {table} ({wid}, {pid}, {qty}, {updated}, {by}) \
             SELECT $4::text::{wid_type}, input.pid, input.qty, {run_at}, \
                    CAST($6::text AS {by_type}) \
             FROM input \
             ON CONFLICT ({wid}, {pid}) DO UPDATE SET {qty} = EXCLUDED.{qty}, \
                 {updated} = EXCLUDED.{updated}, {by} = EXCLUDED.{by} \
             RETURNING 1), \
         changed AS ( \
             INSERT INTO meli_stock.stock_changes \
                 (run_id, seller_id, product_id, item_id, old_quantity, new_quantity, \
                  changed_at) \
             SELECT $7, $8, input.pid_text, input.item_id, old.qty::int8, input.raw_qty, $5 \
             FROM input LEFT JOIN old ON old.pid = input.pid \
             WHERE old.qty IS DISTINCT FROM input.qty \
             RETURNING old_quantity, new_quantity) \
         SELECT (SELECT count(*) FROM written) AS written, \
                (SELECT count(*) FROM changed) AS changed, \
                (SELECT count(*) FROM changed \
                 WHERE new_quantity = 0 AND COALESCE(old_quantity, 0) <> 0) AS zeroed",
        table = qualified(Dialect::Postgres, &names.schema, &names.stock_table),
        wid = quote(&names.stock_warehouse_id),
        pid = quote(&names.stock_product_id),
        qty = quote(&names.stock_quantity),
        updated = quote(&names.stock_last_updated),
        by = quote(&names.stock_updated_by),
        pid_type = types.stock_product_id,
        qty_type = types.stock_quantity,
        wid_type = types.stock_warehouse_id,
        by_type = types.stock_updated_by,
        run_at = timestamp_expr("$5", &types.stock_last_updated),
    );

    let product_ids: Vec<&str> = desired.iter().map(|d| d.product_id.as_str()).collect();
    let quantities: Vec<i64> = desired.iter().map(|d| d.quantity).collect();
    let item_ids: Vec<&str> = desired.iter().map(|d| d.item_id.as_str()).collect();

    let row = sqlx::query(&sql)
        .bind(&product_ids)
        .bind(&quantities)
        .bind(&item_ids)
        .bind(warehouse_id)
        .bind(to_micros(writes.run_at))
        .bind(&writes.updated_by)
        .bind(writes.run_id.0)
        .bind(seller)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::query(format!("write {}", names.stock_table)))?;

    let count = |column: &str| -> Result<u64, StoreError> {
        let n: i64 = row
            .try_get(column)
            .map_err(StoreError::query("read apply counts"))?;
        Ok(crate::store::error::to_u64(n))
    };
    Ok((count("written")?, count("changed")?, count("zeroed")?))
}

/// The run time as a value of the `last_updated` column's type. A column without time
/// zone gets the UTC wall time, so readers see the same instant whatever their session
/// time zone.
fn timestamp_expr(param: &str, sql_type: &str) -> String {
    if sql_type.contains("without time zone") {
        format!("CAST(({param}::timestamptz AT TIME ZONE 'UTC') AS {sql_type})")
    } else {
        format!("CAST({param}::timestamptz AS {sql_type})")
    }
}

/// Deletes the item-map rows of listings that are gone.
async fn remove_items(
    conn: &mut PgConnection,
    seller: i64,
    removed: &[ItemKey],
) -> Result<(), StoreError> {
    let removed_variations = removed
        .iter()
        .map(|(_, v)| to_i64(*v, "variation id"))
        .collect::<Result<Vec<_>, _>>()?;
    sqlx::query(
        "DELETE FROM meli_stock.item_map m USING unnest($2::text[], $3::int8[]) AS g(i, v) \
         WHERE m.seller_id = $1 AND m.item_id = g.i AND m.variation_id = g.v",
    )
    .bind(seller)
    .bind(removed.iter().map(|(i, _)| i.as_str()).collect::<Vec<_>>())
    .bind(removed_variations)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::query("delete from meli_stock.item_map"))?;
    Ok(())
}

/// Upserts new and changed item-map rows.
async fn write_item_map(
    conn: &mut PgConnection,
    seller: i64,
    run: i64,
    rows: &[ItemMapRow],
) -> Result<(), StoreError> {
    let variation_ids = rows
        .iter()
        .map(|r| to_i64(r.variation_id, "variation id"))
        .collect::<Result<Vec<_>, _>>()?;
    let text =
        |f: fn(&ItemMapRow) -> Option<&str>| rows.iter().map(f).collect::<Vec<Option<&str>>>();
    sqlx::query(
        "INSERT INTO meli_stock.item_map (seller_id, item_id, variation_id, user_product_id, \
             status, sub_status, available_quantity, inventory_id, seller_sku, product_key, \
             product_id, written_by_run) \
         SELECT $1, u.*, $12 FROM unnest($2::text[], $3::int8[], $4::text[], $5::text[], \
             $6::text[], $7::int8[], $8::text[], $9::text[], $10::text[], $11::text[]) AS u \
         ON CONFLICT (seller_id, item_id, variation_id) DO UPDATE SET \
             user_product_id = EXCLUDED.user_product_id, status = EXCLUDED.status, \
             sub_status = EXCLUDED.sub_status, \
             available_quantity = EXCLUDED.available_quantity, \
             inventory_id = EXCLUDED.inventory_id, seller_sku = EXCLUDED.seller_sku, \
             product_key = EXCLUDED.product_key, product_id = EXCLUDED.product_id, \
             written_by_run = EXCLUDED.written_by_run",
    )
    .bind(seller)
    .bind(rows.iter().map(|r| r.item_id.as_str()).collect::<Vec<_>>())
    .bind(variation_ids)
    .bind(text(|r| r.user_product_id.as_deref()))
    .bind(rows.iter().map(|r| r.status.as_str()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| join_sub_status(&r.sub_status))
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.available_quantity)
            .collect::<Vec<_>>(),
    )
    .bind(text(|r| r.inventory_id.as_deref()))
    .bind(text(|r| r.seller_sku.as_deref()))
    .bind(text(|r| r.product_key.as_deref()))
    .bind(text(|r| r.product_id.as_deref()))
    .bind(run)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::query("write meli_stock.item_map"))?;

    Ok(())
}

/// Upserts the unmatched items (keeping `first_seen`), then deletes the ones now matched
/// or gone.
async fn write_unmatched(
    conn: &mut PgConnection,
    seller: i64,
    writes: &WriteSet,
) -> Result<(), StoreError> {
    let rows = &writes.unmatched;
    let variation_ids = rows
        .iter()
        .map(|r| to_i64(r.variation_id, "variation id"))
        .collect::<Result<Vec<_>, _>>()?;

    sqlx::query(
        "INSERT INTO meli_stock.unmatched_items (seller_id, item_id, variation_id, match_key, \
             status, available_quantity, first_seen, last_seen_run) \
         SELECT $1, u.*, $7, $8 \
         FROM unnest($2::text[], $3::int8[], $4::text[], $5::text[], $6::int8[]) AS u \
         ON CONFLICT (seller_id, item_id, variation_id) DO UPDATE SET \
             match_key = EXCLUDED.match_key, status = EXCLUDED.status, \
             available_quantity = EXCLUDED.available_quantity, \
             last_seen_run = EXCLUDED.last_seen_run",
    )
    .bind(seller)
    .bind(rows.iter().map(|r| r.item_id.as_str()).collect::<Vec<_>>())
    .bind(variation_ids)
    .bind(
        rows.iter()
            .map(|r| r.match_key.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.status.as_str()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.available_quantity)
            .collect::<Vec<_>>(),
    )
    .bind(to_micros(writes.run_at))
    .bind(writes.run_id.0)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::query("write meli_stock.unmatched_items"))?;

    sqlx::query(
        "DELETE FROM meli_stock.unmatched_items WHERE seller_id = $1 AND last_seen_run <> $2",
    )
    .bind(seller)
    .bind(writes.run_id.0)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::query("prune meli_stock.unmatched_items"))?;
    Ok(())
}

/// Replaces the location rows of every user product read in this run and upserts their
/// totals.
async fn write_user_products(
    conn: &mut PgConnection,
    seller: i64,
    run: i64,
    ups: &[UserProductRead],
) -> Result<(), StoreError> {
    let up_ids: Vec<&str> = ups.iter().map(|u| u.user_product_id.as_str()).collect();

    sqlx::query(
        "DELETE FROM meli_stock.user_product_stock \
         WHERE seller_id = $1 AND user_product_id = ANY($2::text[])",
    )
    .bind(seller)
    .bind(&up_ids)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::query("clear meli_stock.user_product_stock"))?;

    let locations: Vec<_> = ups
        .iter()
        .flat_map(|up| up.locations.iter().map(move |l| (up, l)))
        .collect();
    sqlx::query(
        "INSERT INTO meli_stock.user_product_stock (seller_id, user_product_id, location_key, \
             location_type, store_id, network_node_id, quantity, version, read_at, run_id) \
         SELECT $1, u.*, $10 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::int8[], $8::int8[], $9::timestamptz[]) AS u",
    )
    .bind(seller)
    .bind(
        locations
            .iter()
            .map(|(up, _)| up.user_product_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        locations
            .iter()
            .map(|(_, l)| l.location_key())
            .collect::<Vec<_>>(),
    )
    .bind(
        locations
            .iter()
            .map(|(_, l)| l.kind.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        locations
            .iter()
            .map(|(_, l)| l.store_id.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        locations
            .iter()
            .map(|(_, l)| l.network_node_id.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        locations
            .iter()
            .map(|(_, l)| l.quantity)
            .collect::<Vec<_>>(),
    )
    .bind(
        locations
            .iter()
            .map(|(up, _)| up.version)
            .collect::<Vec<_>>(),
    )
    .bind(
        locations
            .iter()
            .map(|(up, _)| to_micros(up.read_at))
            .collect::<Vec<_>>(),
    )
    .bind(run)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::query("write meli_stock.user_product_stock"))?;

    sqlx::query(
        "INSERT INTO meli_stock.user_products (seller_id, user_product_id, total, \
             item_quantity_at_read, version, read_at) \
         SELECT $1, u.* FROM unnest($2::text[], $3::int8[], $4::int8[], $5::int8[], \
             $6::timestamptz[]) AS u \
         ON CONFLICT (seller_id, user_product_id) DO UPDATE SET total = EXCLUDED.total, \
             item_quantity_at_read = EXCLUDED.item_quantity_at_read, \
             version = EXCLUDED.version, read_at = EXCLUDED.read_at",
    )
    .bind(seller)
    .bind(&up_ids)
    .bind(ups.iter().map(|u| u.total()).collect::<Vec<_>>())
    .bind(
        ups.iter()
            .map(|u| u.item_quantity_at_read)
            .collect::<Vec<_>>(),
    )
    .bind(ups.iter().map(|u| u.version).collect::<Vec<_>>())
    .bind(ups.iter().map(|u| to_micros(u.read_at)).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::query("write meli_stock.user_products"))?;
    Ok(())
}
