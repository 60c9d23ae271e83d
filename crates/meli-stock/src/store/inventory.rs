//! Backend-neutral checks of the seller's inventory schema. Each backend reads its catalog
//! into [`TableInfo`]s; the rules about which columns and keys must exist live here once.

use std::collections::HashMap;

use tracing::warn;

use super::error::StoreError;
use super::names::{ColumnInfo, InventoryLayout, InventoryNames, InventoryTypes, quote};

/// One table as its backend's catalog describes it.
#[derive(Debug, Clone)]
pub(crate) struct TableInfo {
    /// Name for messages: `schema.table` on PostgreSQL, `table` on SQLite.
    pub display: String,
    pub columns: Vec<ColumnInfo>,
    /// Key columns of every usable unique index, primary key and unique constraint
    /// (not partial, no expressions, not deferrable).
    pub unique_keys: Vec<Vec<String>>,
}

impl TableInfo {
    pub(crate) fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether a unique key covers exactly these columns, in any order.
    pub(crate) fn has_unique_key(&self, columns: &[&str]) -> bool {
        self.unique_keys.iter().any(|key| {
            key.len() == columns.len() && columns.iter().all(|c| key.iter().any(|k| k == c))
        })
    }

    fn require(&self, column: &str) -> Result<&ColumnInfo, StoreError> {
        self.column(column)
            .ok_or_else(|| StoreError::MissingColumn {
                table: self.display.clone(),
                column: column.to_string(),
                found: self
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// NOT NULL columns without a default, other than the ones meli-stock fills.
    fn unfilled_required(&self, filled: &[&str]) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| c.not_null && !c.has_default && !filled.contains(&c.name.as_str()))
            .map(|c| c.name.clone())
            .collect()
    }
}

/// What the backend found for the three tables and the ML warehouse row.
pub(crate) struct Inspection {
    pub products: Option<TableInfo>,
    pub warehouses: Option<TableInfo>,
    pub stock: Option<TableInfo>,
    pub warehouse_row_exists: bool,
}

/// How to phrase fixes for the backend at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

/// `schema.table` quoted for SQL on PostgreSQL, `table` on SQLite.
pub(crate) fn qualified(dialect: Dialect, schema: &str, table: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("{}.{}", quote(schema), quote(table)),
        Dialect::Sqlite => quote(table),
    }
}

/// `schema.table` unquoted, for messages.
pub(crate) fn display_name(dialect: Dialect, schema: &str, table: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("{schema}.{table}"),
        Dialect::Sqlite => table.to_string(),
    }
}

/// Applies every rule and returns the layout `apply` and the loaders use.
pub(crate) fn verify(
    dialect: Dialect,
    names: &InventoryNames,
    found: Inspection,
) -> Result<InventoryLayout, StoreError> {
    let missing = |table: &str| StoreError::MissingTable {
        table: display_name(dialect, &names.schema, table),
    };
    let products = found
        .products
        .ok_or_else(|| missing(&names.products_table))?;
    let warehouses = found
        .warehouses
        .ok_or_else(|| missing(&names.warehouses_table))?;
    let stock = found.stock.ok_or_else(|| missing(&names.stock_table))?;

    let product_id = products.require(&names.products_id)?;
    let product_match = products.require(&names.match_column)?;
    products.require(&names.products_source)?;

    let warehouse_id = warehouses.require(&names.warehouses_id)?;
    warehouses.require(&names.warehouses_code)?;
    warehouses.require(&names.warehouses_name)?;

    let stock_warehouse_id = stock.require(&names.stock_warehouse_id)?;
    let stock_product_id = stock.require(&names.stock_product_id)?;
    let stock_quantity = stock.require(&names.stock_quantity)?;
    let stock_last_updated = stock.require(&names.stock_last_updated)?;
    let stock_updated_by = stock.require(&names.stock_updated_by)?;

    let key = [
        names.stock_warehouse_id.as_str(),
        names.stock_product_id.as_str(),
    ];
    if !stock.has_unique_key(&key) {
        return Err(StoreError::MissingUniqueKey {
            table: stock.display.clone(),
            columns: key.join(", "),
            fix: unique_key_fix(dialect, names),
        });
    }

    let filled = [
        names.stock_warehouse_id.as_str(),
        names.stock_product_id.as_str(),
        names.stock_quantity.as_str(),
        names.stock_last_updated.as_str(),
        names.stock_updated_by.as_str(),
    ];
    let unfilled = stock.unfilled_required(&filled);
    if !unfilled.is_empty() {
        return Err(StoreError::RequiredColumns {
            table: stock.display.clone(),
            columns: unfilled.join(", "),
        });
    }

    if !found.warehouse_row_exists {
        check_warehouse_insertable(dialect, names, &warehouses)?;
    }

    let types = InventoryTypes {
        product_id: product_id.sql_type.clone(),
        product_match: product_match.sql_type.clone(),
        warehouse_id: warehouse_id.sql_type.clone(),
        stock_warehouse_id: stock_warehouse_id.sql_type.clone(),
        stock_product_id: stock_product_id.sql_type.clone(),
        stock_quantity: stock_quantity.sql_type.clone(),
        stock_last_updated: stock_last_updated.sql_type.clone(),
        stock_updated_by: stock_updated_by.sql_type.clone(),
    };
    Ok(InventoryLayout::new(names.clone(), types))
}

/// Why the ML warehouse row cannot be inserted with only code and name, with the statement
/// to run by hand; None when it can (or the table lacks the columns, reported elsewhere).
pub(crate) fn warehouse_row_blocked(
    dialect: Dialect,
    warehouses: &TableInfo,
    names: &InventoryNames,
) -> Option<String> {
    let has = |c: &str| warehouses.column(c).is_some();
    if !has(&names.warehouses_code) || !has(&names.warehouses_name) {
        return Some(format!(
            "{} lacks column {} or {}; the Mercado Libre warehouse row was not inserted",
            warehouses.display, names.warehouses_code, names.warehouses_name
        ));
    }
    check_warehouse_insertable(dialect, names, warehouses)
        .err()
        .map(|e| e.to_string())
}

/// Keeps one product per key: rows come ordered by id descending, so the lowest id wins.
pub(crate) fn products_by_key(rows: Vec<(String, String)>) -> HashMap<String, String> {
    let total = rows.len();
    let products: HashMap<String, String> = rows.into_iter().collect();
    if products.len() < total {
        warn!(
            duplicates = total - products.len(),
            "several products share a match key; the lowest id is used"
        );
    }
    products
}

/// `apply` inserts the ML warehouse row with only code and name; say so now if that
/// cannot work, rather than failing in the middle of a run.
fn check_warehouse_insertable(
    dialect: Dialect,
    names: &InventoryNames,
    warehouses: &TableInfo,
) -> Result<(), StoreError> {
    let id_has_default = warehouses
        .column(&names.warehouses_id)
        .is_some_and(|c| c.has_default);
    let filled = [
        names.warehouses_code.as_str(),
        names.warehouses_name.as_str(),
    ];
    let unfilled = warehouses.unfilled_required(&filled);

    let reason = if !id_has_default {
        format!("column {} has no default", names.warehouses_id)
    } else if !unfilled.is_empty() {
        format!("required columns without defaults: {}", unfilled.join(", "))
    } else {
        return Ok(());
    };

    let fix = format!(
        "INSERT INTO {} ({}, {}, {}) VALUES (<id>, '{}', '{}');",
        qualified(dialect, &names.schema, &names.warehouses_table),
        quote(&names.warehouses_id),
        quote(&names.warehouses_code),
        quote(&names.warehouses_name),
        names.warehouse_code.replace('\'', "''"),
        names.warehouse_name.replace('\'', "''"),
    );
    Err(StoreError::WarehouseRow {
        table: warehouses.display.clone(),
        code: names.warehouse_code.clone(),
        reason,
        fix,
    })
}

/// The statement that adds the unique key the upsert needs.
fn unique_key_fix(dialect: Dialect, names: &InventoryNames) -> String {
    let table = qualified(dialect, &names.schema, &names.stock_table);
    let constraint = format!(
        "{}_{}_{}_key",
        names.stock_table, names.stock_warehouse_id, names.stock_product_id
    );
    let columns = format!(
        "{}, {}",
        quote(&names.stock_warehouse_id),
        quote(&names.stock_product_id)
    );
    match dialect {
        Dialect::Postgres => {
            format!(
                "ALTER TABLE {table} ADD CONSTRAINT {} UNIQUE ({columns});",
                quote(&constraint)
            )
        }
        Dialect::Sqlite => {
            format!(
                "CREATE UNIQUE INDEX {} ON {table} ({columns});",
                quote(&constraint)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            sql_type: "bigint".into(),
            not_null: false,
            has_default: false,
        }
    }

    fn table(display: &str, columns: &[&str], keys: &[&[&str]]) -> TableInfo {
        TableInfo {
            display: display.into(),
            columns: columns.iter().map(|c| column(c)).collect(),
            unique_keys: keys
                .iter()
                .map(|k| k.iter().map(|c| c.to_string()).collect())
                .collect(),
        }
    }

    fn inspection(stock_keys: &[&[&str]]) -> Inspection {
        let mut warehouses = table("public.warehouses", &["id", "code", "name"], &[&["id"]]);
        warehouses.columns[0].has_default = true;
        Inspection {
            products: Some(table(
                "public.products",
                &["id", "external_id", "source"],
                &[],
            )),
            warehouses: Some(warehouses),
            stock: Some(table(
                "public.warehouse_stock",
                &[
                    "warehouse_id",
                    "product_id",
                    "quantity",
                    "last_updated",
                    "updated_by",
                ],
                stock_keys,
            )),
            warehouse_row_exists: false,
        }
    }

    #[test]
    fn a_key_in_either_column_order_is_accepted() {
        let names = InventoryNames::default();

        let layout = verify(
            Dialect::Postgres,
            &names,
            inspection(&[&["product_id", "warehouse_id"]]),
        );

        assert!(layout.is_ok(), "{layout:?}");
    }

    #[test]
    fn a_key_with_an_extra_column_is_not_enough() {
        let names = InventoryNames::default();
        let keys: &[&[&str]] = &[&["warehouse_id", "product_id", "quantity"], &["product_id"]];

        let err = verify(Dialect::Postgres, &names, inspection(keys)).expect_err("no exact key");

        let text = err.to_string();
        assert!(text.contains("public.warehouse_stock"), "{text}");
        assert!(
            text.contains("ALTER TABLE \"public\".\"warehouse_stock\""),
            "{text}"
        );
    }

    #[test]
    fn a_warehouse_id_without_default_is_reported_when_the_row_is_missing() {
        let names = InventoryNames::default();
        let mut found = inspection(&[&["warehouse_id", "product_id"]]);
        if let Some(w) = found.warehouses.as_mut() {
            w.columns[0].has_default = false;
        }

        let err = verify(Dialect::Sqlite, &names, found).expect_err("row cannot be inserted");

        assert!(
            err.to_string().contains("INSERT INTO \"warehouses\""),
            "{err}"
        );
    }
}
