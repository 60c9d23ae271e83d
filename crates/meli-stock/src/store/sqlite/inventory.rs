//! The seller's inventory tables on SQLite: `PRAGMA` introspection, `db init`, and the
//! reads a sync run starts from.

use std::collections::HashMap;

use sqlx::{Connection, Row, SqliteConnection};
use tracing::{info, instrument};

use super::SqliteStore;
use crate::store::error::StoreError;
use crate::store::inventory::{
    Dialect, Inspection, TableInfo, display_name, products_by_key, qualified, verify,
    warehouse_row_blocked,
};
use crate::store::model::InitReport;
use crate::store::names::{Affinity, ColumnInfo, InventoryLayout, InventoryNames, quote};

impl SqliteStore {
    #[instrument(skip_all, err)]
    pub(crate) async fn check_inventory(
        &self,
        names: &InventoryNames,
    ) -> Result<InventoryLayout, StoreError> {
        names.validate()?;
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(StoreError::query("acquire"))?;
        let found = inspect(&mut conn, names).await?;
        verify(Dialect::Sqlite, names, found)
    }

    #[instrument(skip_all, err)]
    pub(crate) async fn init_inventory(
        &self,
        names: &InventoryNames,
    ) -> Result<InitReport, StoreError> {
        names.validate()?;
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(StoreError::query("acquire"))?;
        let mut tx = conn
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::query("begin"))?;
        let mut report = InitReport::default();

        let products = table_info(&mut tx, &names.products_table, true).await?;
        if products.is_none() {
            let ddl = format!(
                "CREATE TABLE {table} ({id} INTEGER PRIMARY KEY, {matching} TEXT, {source} TEXT); \
                 CREATE INDEX IF NOT EXISTS {index} ON {table} ({source}, {matching})",
                table = quote(&names.products_table),
                id = quote(&names.products_id),
                matching = quote(&names.match_column),
                source = quote(&names.products_source),
                index = quote(&format!(
                    "{}_{}_idx",
                    names.products_table, names.match_column
                )),
            );
            run_ddl(&mut tx, &ddl, &names.products_table).await?;
        }

        let warehouses = table_info(&mut tx, &names.warehouses_table, false).await?;
        if warehouses.is_none() {
            let ddl = format!(
                "CREATE TABLE {table} ({id} INTEGER PRIMARY KEY, {code} TEXT NOT NULL UNIQUE, \
                 {name} TEXT NOT NULL)",
                table = quote(&names.warehouses_table),
                id = quote(&names.warehouses_id),
                code = quote(&names.warehouses_code),
                name = quote(&names.warehouses_name),
            );
            run_ddl(&mut tx, &ddl, &names.warehouses_table).await?;
        }

        let stock = table_info(&mut tx, &names.stock_table, false).await?;
        if stock.is_none() {
            let mut reference = |info: &Option<TableInfo>, table: &str, id: &str| match info {
                Some(t) if !t.has_unique_key(&[id]) => {
                    report.notes.push(format!(
                        "no foreign key to {table}: its column {id} is not unique"
                    ));
                    String::new()
                }
                _ => format!(
                    " REFERENCES {} ({}) ON DELETE CASCADE",
                    quote(table),
                    quote(id)
                ),
            };
            let warehouse_fk =
                reference(&warehouses, &names.warehouses_table, &names.warehouses_id);
            let product_fk = reference(&products, &names.products_table, &names.products_id);
            let ddl = format!(
                "CREATE TABLE {table} ({wid} {wid_type} NOT NULL{warehouse_fk}, \
                 {pid} {pid_type} NOT NULL{product_fk}, {qty} INTEGER NOT NULL DEFAULT 0, \
                 {updated} TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), \
                 {by} TEXT, PRIMARY KEY ({wid}, {pid}))",
                table = quote(&names.stock_table),
                wid = quote(&names.stock_warehouse_id),
                wid_type = id_type(&warehouses, &names.warehouses_id),
                pid = quote(&names.stock_product_id),
                pid_type = id_type(&products, &names.products_id),
                qty = quote(&names.stock_quantity),
                updated = quote(&names.stock_last_updated),
                by = quote(&names.stock_updated_by),
            );
            run_ddl(&mut tx, &ddl, &names.stock_table).await?;
        }

        for (info, table) in [
            (&products, &names.products_table),
            (&warehouses, &names.warehouses_table),
            (&stock, &names.stock_table),
        ] {
            if info.is_some() {
                report.existing_tables.push(table.clone());
            } else {
                report.created_tables.push(table.clone());
            }
        }

        let blocked = warehouses
            .as_ref()
            .and_then(|info| warehouse_row_blocked(Dialect::Sqlite, info, names));
        match blocked {
            None => report.warehouse_created = insert_warehouse_row(&mut tx, names).await?,
            Some(reason) => {
                let queryable = warehouses.as_ref().is_some_and(|w| {
                    w.column(&names.warehouses_code).is_some()
                        && w.column(&names.warehouses_id).is_some()
                });
                if !queryable || warehouse_id(&mut tx, names).await?.is_none() {
                    report.notes.push(reason);
                }
            }
        }

        tx.commit()
            .await
            .map_err(StoreError::query("commit db init"))?;
        info!(
            created = report.created_tables.len(),
            warehouse_created = report.warehouse_created,
            "inventory tables initialized"
        );
        Ok(report)
    }

    #[instrument(skip_all, err)]
    pub(crate) async fn load_products(
        &self,
        layout: &InventoryLayout,
    ) -> Result<HashMap<String, String>, StoreError> {
        let names = layout.names();
        let sql = format!(
            "SELECT CAST({matching} AS TEXT), CAST({id} AS TEXT) FROM {table} \
             WHERE CAST({source} AS TEXT) = ?1 AND {matching} IS NOT NULL ORDER BY {id} DESC",
            matching = quote(&names.match_column),
            id = quote(&names.products_id),
            source = quote(&names.products_source),
            table = quote(&names.products_table),
        );
        let rows: Vec<(String, String)> = sqlx::query_as(&sql)
            .bind(&names.source_value)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(format!("read {}", names.products_table)))?;
        Ok(products_by_key(rows))
    }

    #[instrument(skip_all, err)]
    pub(crate) async fn load_ml_stock(
        &self,
        layout: &InventoryLayout,
    ) -> Result<(Option<String>, HashMap<String, i64>), StoreError> {
        let names = layout.names();
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(StoreError::query("acquire"))?;
        let Some(warehouse_id) = warehouse_id(&mut conn, names).await? else {
            return Ok((None, HashMap::new()));
        };

        let sql = format!(
            "SELECT CAST({pid} AS TEXT), CAST(ROUND(COALESCE({qty}, 0)) AS INTEGER) \
             FROM {table} WHERE {wid} = ?1",
            pid = quote(&names.stock_product_id),
            qty = quote(&names.stock_quantity),
            wid = quote(&names.stock_warehouse_id),
            table = quote(&names.stock_table),
        );
        let rows: Vec<(String, i64)> = sqlx::query_as(&sql)
            .bind(&warehouse_id)
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::query(format!("read {}", names.stock_table)))?;
        Ok((Some(warehouse_id), rows.into_iter().collect()))
    }
}

async fn inspect(
    conn: &mut SqliteConnection,
    names: &InventoryNames,
) -> Result<Inspection, StoreError> {
    let products = table_info(conn, &names.products_table, true).await?;
    let warehouses = table_info(conn, &names.warehouses_table, false).await?;
    let stock = table_info(conn, &names.stock_table, false).await?;
    let warehouse_row_exists = match &warehouses {
        Some(w)
            if w.column(&names.warehouses_code).is_some()
                && w.column(&names.warehouses_id).is_some() =>
        {
            warehouse_id(conn, names).await?.is_some()
        }
        _ => false,
    };
    Ok(Inspection {
        products,
        warehouses,
        stock,
        warehouse_row_exists,
    })
}

/// One table's columns and unique keys, or None when missing (views count only when
/// `views_ok`, for the products we merely read).
async fn table_info(
    conn: &mut SqliteConnection,
    table: &str,
    views_ok: bool,
) -> Result<Option<TableInfo>, StoreError> {
    let display = display_name(Dialect::Sqlite, "", table);
    let kind: Option<String> = sqlx::query_scalar(
        "SELECT type FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?1",
    )
    .bind(table)
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::query(format!("look up table {display}")))?;
    match kind.as_deref() {
        Some("table") => {}
        Some("view") if views_ok => {}
        _ => return Ok(None),
    }

    let rows = sqlx::query(
        "SELECT name, type, \"notnull\" AS not_null, dflt_value IS NOT NULL AS has_default, pk \
         FROM pragma_table_info(?1) ORDER BY cid",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::query(format!("read columns of {display}")))?;

    let mut columns = Vec::with_capacity(rows.len());
    let mut primary_key = Vec::new();
    for row in &rows {
        let decode = StoreError::query(format!("decode columns of {display}"));
        let read = || -> Result<(ColumnInfo, i64), sqlx::Error> {
            let column = ColumnInfo {
                name: row.try_get("name")?,
                sql_type: row.try_get("type")?,
                not_null: row.try_get("not_null")?,
                has_default: row.try_get("has_default")?,
            };
            Ok((column, row.try_get("pk")?))
        };
        let (column, pk) = read().map_err(decode)?;
        if pk > 0 {
            primary_key.push(column.name.clone());
        }
        columns.push(column);
    }

    // An INTEGER PRIMARY KEY is the rowid: filled automatically and unique, but it has no
    // entry in the index list.
    let mut unique_keys = Vec::new();
    if let [only] = primary_key.as_slice() {
        if let Some(c) = columns.iter_mut().find(|c| &c.name == only) {
            if c.sql_type.eq_ignore_ascii_case("INTEGER") {
                c.has_default = true;
                unique_keys.push(vec![only.clone()]);
            }
        }
    }

    let indexes: Vec<(String, bool, bool)> =
        sqlx::query_as("SELECT name, \"unique\", partial FROM pragma_index_list(?1)")
            .bind(table)
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::query(format!("read indexes of {display}")))?;
    for (index, unique, partial) in indexes {
        if !unique || partial {
            continue;
        }
        let key: Vec<Option<String>> =
            sqlx::query_scalar("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                .bind(&index)
                .fetch_all(&mut *conn)
                .await
                .map_err(StoreError::query(format!("read index {index}")))?;
        // An expression column has no name; such an index cannot serve ON CONFLICT.
        if let Some(key) = key.into_iter().collect::<Option<Vec<String>>>() {
            unique_keys.push(key);
        }
    }

    Ok(Some(TableInfo {
        display,
        columns,
        unique_keys,
    }))
}

/// The declared type of an existing id column for a column referencing it, or INTEGER.
/// Declared types are catalog text, but only simple ones are copied into DDL.
fn id_type(table: &Option<TableInfo>, column: &str) -> String {
    let declared = table
        .as_ref()
        .and_then(|t| t.column(column))
        .map(|c| c.sql_type.clone());
    match declared {
        Some(t)
            if !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || " _(),".contains(c)) =>
        {
            t
        }
        Some(t) => Affinity::of(&t).declared().to_string(),
        None => "INTEGER".to_string(),
    }
}

async fn run_ddl(conn: &mut SqliteConnection, ddl: &str, table: &str) -> Result<(), StoreError> {
    sqlx::raw_sql(ddl)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::query(format!("create table {table}")))?;
    info!(table, "created inventory table");
    Ok(())
}

/// The ML warehouse id as text; the lowest one if the code is not unique.
pub(super) async fn warehouse_id(
    conn: &mut SqliteConnection,
    names: &InventoryNames,
) -> Result<Option<String>, StoreError> {
    let sql = format!(
        "SELECT CAST({id} AS TEXT) FROM {table} WHERE CAST({code} AS TEXT) = ?1 \
         ORDER BY {id} LIMIT 1",
        id = quote(&names.warehouses_id),
        table = quote(&names.warehouses_table),
        code = quote(&names.warehouses_code),
    );
    sqlx::query_scalar(&sql)
        .bind(&names.warehouse_code)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::query(format!(
            "read {}",
            names.warehouses_table
        )))
}

/// Inserts the ML warehouse row unless it exists; true when inserted.
pub(super) async fn insert_warehouse_row(
    conn: &mut SqliteConnection,
    names: &InventoryNames,
) -> Result<bool, StoreError> {
    let sql = format!(
        "INSERT INTO {table} ({code}, {name}) SELECT ?1, ?2 \
         WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE CAST({code} AS TEXT) = ?1)",
        table = qualified(Dialect::Sqlite, "", &names.warehouses_table),
        code = quote(&names.warehouses_code),
        name = quote(&names.warehouses_name),
    );
    let inserted = sqlx::query(&sql)
        .bind(&names.warehouse_code)
        .bind(&names.warehouse_name)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::query(format!(
            "insert the Mercado Libre warehouse row into {}",
            names.warehouses_table
        )))?;
    Ok(inserted.rows_affected() == 1)
}
