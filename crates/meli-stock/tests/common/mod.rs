//! Test databases for the store tests: a fresh PostgreSQL database per test (dropped again
//! with `DROP DATABASE … WITH (FORCE)`) or a SQLite file in a temporary directory, plus a
//! seller inventory schema with chosen column types and portable SQL probes.
//!
//! [`both_stores!`] turns one `async fn(TestDb)` into a `postgres` and a `sqlite` test.

#![allow(dead_code, clippy::unwrap_used)]

pub mod sync_env;

use std::sync::Once;

use chrono::{DateTime, Utc};
use meli_stock::store::{InventoryNames, Store};
use sqlx::{Connection, PgConnection, Row};
use tempfile::TempDir;

/// Server the PostgreSQL tests run against (trust auth).
pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Runs an `async fn name(db: TestDb)` once per backend, as `name::postgres` and
/// `name::sqlite`.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn postgres() {
                super::$name($crate::common::TestDb::postgres().await).await;
            }

            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::common::TestDb::sqlite().await).await;
            }
        }
    )*};
}

/// Logs only when `TEST_LOG` is set, once per test binary.
pub fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt()
                .with_env_filter("debug")
                .with_test_writer()
                .init();
        }
    });
}

enum Backing {
    Postgres { name: String },
    Sqlite { dir: TempDir },
}

/// A connected, migrated [`Store`] on a database of its own.
pub struct TestDb {
    pub store: Store,
    backing: Backing,
}

/// How the seller's id columns are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Bigint,
    Uuid,
    Text,
}

/// The seller schema to create: the three inventory tables with chosen types.
#[derive(Debug, Clone)]
pub struct SellerSchema {
    pub ids: IdKind,
    /// e.g. `integer`, `bigint`, `numeric(12,2)`.
    pub quantity_type: &'static str,
    /// `timestamptz` or `timestamp` (PostgreSQL); any declared type on SQLite.
    pub last_updated_type: &'static str,
    /// Whether warehouse_stock gets its unique key on (warehouse_id, product_id).
    pub unique_key: bool,
}

impl Default for SellerSchema {
    fn default() -> Self {
        SellerSchema {
            ids: IdKind::Bigint,
            quantity_type: "integer",
            last_updated_type: "timestamptz",
            unique_key: true,
        }
    }
}

impl TestDb {
    /// A fresh, uniquely named PostgreSQL database with migrations applied.
    pub async fn postgres() -> TestDb {
        init_tracing();
        let name = format!("meli_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(ADMIN_URL)
            .await
            .expect("postgres on 127.0.0.1");
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();

        let url = pg_url(&name);
        let store = Store::connect(Some(&url), std::path::Path::new("unused.db"))
            .await
            .unwrap();
        TestDb {
            store,
            backing: Backing::Postgres { name },
        }
    }

    /// A SQLite file in a fresh temporary directory, migrated.
    pub async fn sqlite() -> TestDb {
        init_tracing();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(None, &dir.path().join("meli-stock.db"))
            .await
            .unwrap();
        TestDb {
            store,
            backing: Backing::Sqlite { dir },
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.backing, Backing::Postgres { .. })
    }

    /// The PostgreSQL URL of this database, None for SQLite.
    pub fn url(&self) -> Option<String> {
        match &self.backing {
            Backing::Postgres { name } => Some(pg_url(name)),
            Backing::Sqlite { .. } => None,
        }
    }

    /// The SQLite file of this database.
    pub fn sqlite_path(&self) -> std::path::PathBuf {
        match &self.backing {
            Backing::Sqlite { dir } => dir.path().join("meli-stock.db"),
            Backing::Postgres { .. } => std::path::PathBuf::from("unused.db"),
        }
    }

    /// A second, independent store on the same database (another process, in effect).
    pub async fn reconnect(&self) -> Store {
        Store::connect(self.url().as_deref(), &self.sqlite_path())
            .await
            .unwrap()
    }

    /// Runs statements (no parameters) on the database.
    pub async fn execute(&self, sql: &str) {
        match &self.store {
            Store::Postgres(pg) => {
                sqlx::raw_sql(sql).execute(pg.pool()).await.unwrap();
            }
            Store::Sqlite(lite) => {
                sqlx::raw_sql(sql).execute(lite.pool()).await.unwrap();
            }
        }
    }

    /// First column of the first row, as i64.
    pub async fn scalar(&self, sql: &str) -> i64 {
        match &self.store {
            Store::Postgres(pg) => sqlx::query_scalar(sql).fetch_one(pg.pool()).await.unwrap(),
            Store::Sqlite(lite) => sqlx::query_scalar(sql)
                .fetch_one(lite.pool())
                .await
                .unwrap(),
        }
    }

    /// Rows of (text, i64).
    pub async fn pairs(&self, sql: &str) -> Vec<(String, i64)> {
        match &self.store {
            Store::Postgres(pg) => sqlx::query_as(sql).fetch_all(pg.pool()).await.unwrap(),
            Store::Sqlite(lite) => sqlx::query_as(sql).fetch_all(lite.pool()).await.unwrap(),
        }
    }

    /// Rows of nullable text columns, for comparing whole tables.
    pub async fn texts(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        fn collect<R: Row>(rows: Vec<R>) -> Vec<Vec<Option<String>>>
        where
            usize: sqlx::ColumnIndex<R>,
            for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        {
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| r.try_get::<Option<String>, _>(i).unwrap())
                        .collect()
                })
                .collect()
        }
        match &self.store {
            Store::Postgres(pg) => collect(sqlx::query(sql).fetch_all(pg.pool()).await.unwrap()),
            Store::Sqlite(lite) => collect(sqlx::query(sql).fetch_all(lite.pool()).await.unwrap()),
        }
    }

    /// The README's monitoring query, verbatim: (name, last_updated, updated_by, count).
    pub async fn monitoring_query(&self) -> (String, DateTime<Utc>, String, i64) {
        let sql = "SELECT
    w.name,
    ws.last_updated,
    ws.updated_by,
    COUNT(*) as products_with_stock
FROM warehouse_stock ws
JOIN warehouses w ON w.id = ws.warehouse_id
WHERE w.code = 'mercadolibre'
GROUP BY w.name, ws.last_updated, ws.updated_by
ORDER BY ws.last_updated DESC
LIMIT 1;";
        match &self.store {
            Store::Postgres(pg) => sqlx::query_as(sql).fetch_one(pg.pool()).await.unwrap(),
            Store::Sqlite(lite) => sqlx::query_as(sql).fetch_one(lite.pool()).await.unwrap(),
        }
    }

    /// Column names of a table, in order (the catalog of either backend).
    pub async fn columns(&self, table: &str) -> Vec<String> {
        let sql = if self.is_postgres() {
            format!(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
            )
        } else {
            format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid")
        };
        self.texts(&sql)
            .await
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect()
    }

    /// Creates products, warehouses and warehouse_stock the way a seller might have them.
    pub async fn create_seller_schema(&self, schema: &SellerSchema) {
        let (id, warehouse_id) = self.id_columns(schema.ids);
        let unique = if schema.unique_key {
            ", UNIQUE (warehouse_id, product_id)"
        } else {
            ""
        };
        let now = if self.is_postgres() {
            "now()"
        } else {
            "CURRENT_TIMESTAMP"
        };
        self.execute(&format!(
            "CREATE TABLE products (id {id}, external_id text, source text, sku text, name text);
             CREATE TABLE warehouses (id {warehouse_id}, code text NOT NULL, name text NOT NULL);
             CREATE TABLE warehouse_stock (
                 warehouse_id {fk} NOT NULL REFERENCES warehouses (id),
                 product_id {fk} NOT NULL REFERENCES products (id),
                 quantity {qty} NOT NULL DEFAULT 0,
                 last_updated {ts} DEFAULT {now},
                 updated_by text{unique});",
            fk = self.id_type(schema.ids),
            qty = schema.quantity_type,
            ts = schema.last_updated_type,
        ))
        .await;
    }

    /// Declared type of an id column.
    pub fn id_type(&self, ids: IdKind) -> &'static str {
        match (ids, self.is_postgres()) {
            (IdKind::Bigint, true) => "bigint",
            (IdKind::Bigint, false) => "INTEGER",
            (IdKind::Uuid, _) => "uuid",
            (IdKind::Text, _) => "text",
        }
    }

    fn id_columns(&self, ids: IdKind) -> (String, String) {
        let plain = format!("{} PRIMARY KEY", self.id_type(ids));
        let generated = match (ids, self.is_postgres()) {
            (IdKind::Bigint, true) => "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            (IdKind::Bigint, false) => "INTEGER PRIMARY KEY",
            (IdKind::Uuid, true) => "uuid PRIMARY KEY DEFAULT gen_random_uuid()",
            (IdKind::Text, true) => "text PRIMARY KEY DEFAULT md5(random()::text)",
            (IdKind::Uuid, false) => "uuid PRIMARY KEY DEFAULT (lower(hex(randomblob(16))))",
            (IdKind::Text, false) => "text PRIMARY KEY DEFAULT (lower(hex(randomblob(8))))",
        };
        (plain, generated.to_string())
    }

    /// Inserts `count` ML products (external ids `MLC1000000000 + i`) and returns their
    /// (product id, external id), plus one non-ML product that must never be matched.
    pub async fn insert_products(&self, ids: IdKind, count: usize) -> Vec<(String, String)> {
        let products: Vec<(String, String)> = (0..count)
            .map(|i| {
                let id = match ids {
                    IdKind::Bigint => (i + 1).to_string(),
                    IdKind::Uuid => uuid::Uuid::new_v4().to_string(),
                    IdKind::Text => format!("P-{i:06}"),
                };
                (id, format!("MLC{}", 1_000_000_000 + i))
            })
            .collect();
        let id_list: Vec<&str> = products.iter().map(|p| p.0.as_str()).collect();
        let ext_list: Vec<&str> = products.iter().map(|p| p.1.as_str()).collect();
        let other = match ids {
            IdKind::Bigint => (count + 1).to_string(),
            IdKind::Uuid => uuid::Uuid::new_v4().to_string(),
            IdKind::Text => "OTHER".to_string(),
        };

        match &self.store {
            Store::Postgres(pg) => {
                let sql = format!(
                    "INSERT INTO products (id, external_id, source, sku) \
                     SELECT u.id::{t}, u.ext, 'mercadolibre', 'SKU-' || u.ext \
                     FROM unnest($1::text[], $2::text[]) AS u(id, ext)",
                    t = self.id_type(ids)
                );
                sqlx::query(&sql)
                    .bind(&id_list)
                    .bind(&ext_list)
                    .execute(pg.pool())
                    .await
                    .unwrap();
                sqlx::query(&format!(
                    "INSERT INTO products (id, external_id, source) \
                     VALUES ($1::text::{t}, 'MLC1000000000', 'shopify')",
                    t = self.id_type(ids)
                ))
                .bind(&other)
                .execute(pg.pool())
                .await
                .unwrap();
            }
            Store::Sqlite(lite) => {
                let json = serde_json::to_string(&products).unwrap();
                sqlx::query(
                    "INSERT INTO products (id, external_id, source, sku) \
                     SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), \
                         'mercadolibre', 'SKU-' || json_extract(value, '$[1]') \
                     FROM json_each(?1)",
                )
                .bind(json)
                .execute(lite.pool())
                .await
                .unwrap();
                sqlx::query(
                    "INSERT INTO products (id, external_id, source) \
                     VALUES (?1, 'MLC1000000000', 'shopify')",
                )
                .bind(&other)
                .execute(lite.pool())
                .await
                .unwrap();
            }
        }
        products
    }

    /// Current ML-warehouse quantities by product id, read with plain SQL.
    pub async fn ml_quantities(&self) -> std::collections::BTreeMap<String, i64> {
        self.pairs(
            "SELECT CAST(ws.product_id AS TEXT), CAST(ws.quantity AS BIGINT) \
             FROM warehouse_stock ws JOIN warehouses w ON w.id = ws.warehouse_id \
             WHERE w.code = 'mercadolibre'",
        )
        .await
        .into_iter()
        .collect()
    }

    /// Name of one of our state tables on this backend (`runs` -> `meli_stock.runs` or
    /// `meli_stock_runs`).
    pub fn state_table(&self, table: &str) -> String {
        if self.is_postgres() {
            format!("meli_stock.{table}")
        } else {
            format!("meli_stock_{table}")
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Backing::Postgres { name } = &self.backing else {
            return;
        };
        let name = name.clone();
        // Drop runs outside async; a separate thread with its own runtime can await.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let mut admin = PgConnection::connect(ADMIN_URL).await?;
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                admin.close().await?;
                Ok::<_, sqlx::Error>(())
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !std::thread::panicking() {
            if let Ok(Err(e)) = dropped {
                eprintln!("could not drop the test database: {e}");
            }
        }
    }
}

/// URL of a database on the test server.
pub fn pg_url(database: &str) -> String {
    format!("postgres://postgres@127.0.0.1:5432/{database}")
}

/// Default names (the replaced script's schema).
pub fn names() -> InventoryNames {
    InventoryNames::default()
}

/// A run time with whole microseconds, as the store keeps them.
pub fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + seconds, 123_456_000).unwrap()
}

/// A write set with only desired stock, one item per product.
pub fn stock_writes(
    run_id: meli_stock::store::RunId,
    seller_id: u64,
    run_at: DateTime<Utc>,
    desired: &[(&str, i64)],
) -> meli_stock::store::WriteSet {
    meli_stock::store::WriteSet {
        run_id,
        seller_id,
        run_at,
        updated_by: "meli-stock".into(),
        desired: desired
            .iter()
            .map(|(product_id, quantity)| meli_stock::store::DesiredStock {
                product_id: product_id.to_string(),
                quantity: *quantity,
                item_id: format!("ITEM-{product_id}"),
            })
            .collect(),
        item_map: vec![],
        user_products: vec![],
        item_map_removed: vec![],
        unmatched: vec![],
    }
}
