//! Names of the seller's inventory tables and columns, and the layout `check_inventory`
//! finds behind them.
//!
//! The names come from configuration, so every one is validated as a plain SQL identifier
//! and always double-quoted when spliced into SQL. The column *types* come only from the
//! database catalog (never from configuration) and are used for casts.
//!
//! On SQLite the `schema` name is ignored: the tables live in the main database file.

use serde::{Deserialize, Serialize};

use super::error::StoreError;

/// Where the seller keeps products, warehouses and per-warehouse stock, and the values that
/// identify ML rows in them. Defaults match the schema of the script meli-stock replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InventoryNames {
    /// PostgreSQL schema of the three tables.
    pub schema: String,
    pub products_table: String,
    pub products_id: String,
    /// Column matched against ML (the item id in `external_id`, or e.g. a `sku` column).
    pub match_column: String,
    pub products_source: String,
    /// Value of the source column on ML products.
    pub source_value: String,
    pub warehouses_table: String,
    pub warehouses_id: String,
    pub warehouses_code: String,
    pub warehouses_name: String,
    /// Code of the ML warehouse row.
    pub warehouse_code: String,
    /// Name given to the ML warehouse row when meli-stock inserts it.
    pub warehouse_name: String,
    pub stock_table: String,
    pub stock_warehouse_id: String,
    pub stock_product_id: String,
    pub stock_quantity: String,
    pub stock_last_updated: String,
    pub stock_updated_by: String,
}

impl Default for InventoryNames {
    fn default() -> Self {
        InventoryNames {
            schema: "public".into(),
            products_table: "products".into(),
            products_id: "id".into(),
            match_column: "external_id".into(),
            products_source: "source".into(),
            source_value: "mercadolibre".into(),
            warehouses_table: "warehouses".into(),
            warehouses_id: "id".into(),
            warehouses_code: "code".into(),
            warehouses_name: "name".into(),
            warehouse_code: "mercadolibre".into(),
            warehouse_name: "Mercado Libre".into(),
            stock_table: "warehouse_stock".into(),
            stock_warehouse_id: "warehouse_id".into(),
            stock_product_id: "product_id".into(),
            stock_quantity: "quantity".into(),
            stock_last_updated: "last_updated".into(),
            stock_updated_by: "updated_by".into(),
        }
    }
}

impl InventoryNames {
    /// Checks every table and column name; values (source, warehouse code and name) are
    /// bound as parameters and need no check beyond being non-empty.
    ///
    /// # Errors
    /// [`StoreError::InvalidName`] naming the first setting that is not an identifier.
    pub fn validate(&self) -> Result<(), StoreError> {
        let identifiers = [
            ("schema", &self.schema),
            ("products_table", &self.products_table),
            ("products_id", &self.products_id),
            ("match_column", &self.match_column),
            ("products_source", &self.products_source),
            ("warehouses_table", &self.warehouses_table),
            ("warehouses_id", &self.warehouses_id),
            ("warehouses_code", &self.warehouses_code),
            ("warehouses_name", &self.warehouses_name),
            ("stock_table", &self.stock_table),
            ("stock_warehouse_id", &self.stock_warehouse_id),
            ("stock_product_id", &self.stock_product_id),
            ("stock_quantity", &self.stock_quantity),
            ("stock_last_updated", &self.stock_last_updated),
            ("stock_updated_by", &self.stock_updated_by),
        ];
        for (field, value) in identifiers {
            if !is_identifier(value) {
                return Err(StoreError::InvalidName {
                    field,
                    value: value.clone(),
                });
            }
        }

        let values = [
            ("source_value", &self.source_value),
            ("warehouse_code", &self.warehouse_code),
            ("warehouse_name", &self.warehouse_name),
        ];
        for (field, value) in values {
            if value.trim().is_empty() {
                return Err(StoreError::InvalidName {
                    field,
                    value: value.clone(),
                });
            }
        }
        Ok(())
    }
}

/// `^[A-Za-z_][A-Za-z0-9_]{0,62}$`: fits PostgreSQL's 63-byte limit and needs no escaping
/// inside double quotes.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && name.len() <= 63
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Double-quotes an identifier already checked by [`is_identifier`].
pub(crate) fn quote(name: &str) -> String {
    format!("\"{name}\"")
}

/// A column of the seller's schema as found in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnInfo {
    pub name: String,
    /// PostgreSQL: `format_type()` output (e.g. `uuid`, `numeric(12,2)`); SQLite: the
    /// declared type, possibly empty.
    pub sql_type: String,
    pub not_null: bool,
    /// A default, identity, serial or (SQLite) rowid alias fills it when omitted.
    pub has_default: bool,
}

/// The introspected types of the columns meli-stock reads and writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryTypes {
    pub product_id: String,
    pub product_match: String,
    pub warehouse_id: String,
    pub stock_warehouse_id: String,
    pub stock_product_id: String,
    pub stock_quantity: String,
    pub stock_last_updated: String,
    pub stock_updated_by: String,
}

/// The seller's inventory schema after `check_inventory` verified it: the names plus the
/// column types used for casts. Only `check_inventory` builds one, so SQL built from it
/// holds catalog types, never configuration text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryLayout {
    names: InventoryNames,
    types: InventoryTypes,
}

impl InventoryLayout {
    pub(crate) fn new(names: InventoryNames, types: InventoryTypes) -> Self {
        InventoryLayout { names, types }
    }

    /// The configured names this layout was checked with.
    pub fn names(&self) -> &InventoryNames {
        &self.names
    }

    /// The column types found in the catalog.
    pub fn types(&self) -> &InventoryTypes {
        &self.types
    }
}

/// SQLite's column affinity, derived from a declared type by the rules of section 3.1 of
/// SQLite's datatype documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

impl Affinity {
    pub(crate) fn of(declared: &str) -> Affinity {
        let upper = declared.to_ascii_uppercase();
        if upper.contains("INT") {
            Affinity::Integer
        } else if upper.contains("CHAR") || upper.contains("CLOB") || upper.contains("TEXT") {
            Affinity::Text
        } else if upper.contains("BLOB") || upper.trim().is_empty() {
            Affinity::Blob
        } else if upper.contains("REAL") || upper.contains("FLOA") || upper.contains("DOUB") {
            Affinity::Real
        } else {
            Affinity::Numeric
        }
    }

    /// A declared type with this affinity, for temporary tables that must convert values
    /// the way the target column does.
    pub(crate) fn declared(self) -> &'static str {
        match self {
            Affinity::Integer => "INTEGER",
            Affinity::Text => "TEXT",
            Affinity::Blob => "BLOB",
            Affinity::Real => "REAL",
            Affinity::Numeric => "NUMERIC",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_accept_plain_names_and_reject_everything_else() {
        for ok in ["products", "_x", "Warehouse_Stock2", &"a".repeat(63)] {
            assert!(is_identifier(ok), "{ok} should be accepted");
        }
        for bad in [
            "",
            "1abc",
            "a-b",
            "a b",
            "a\"b",
            "ñandu",
            &"a".repeat(64),
            "x;drop",
        ] {
            assert!(!is_identifier(bad), "{bad} should be rejected");
        }
    }

    #[test]
    fn validate_names_the_offending_setting() {
        let names = InventoryNames {
            stock_quantity: "qty; --".into(),
            ..Default::default()
        };

        let err = names.validate().expect_err("must reject");

        assert!(err.to_string().contains("stock_quantity"), "{err}");
    }

    #[test]
    fn affinity_follows_sqlite_rules() {
        assert_eq!(Affinity::of("bigint"), Affinity::Integer);
        assert_eq!(Affinity::of("VARCHAR(36)"), Affinity::Text);
        assert_eq!(Affinity::of("uuid"), Affinity::Numeric);
        assert_eq!(Affinity::of(""), Affinity::Blob);
        assert_eq!(Affinity::of("double precision"), Affinity::Real);
        assert_eq!(Affinity::of("POINT"), Affinity::Integer);
    }
}
