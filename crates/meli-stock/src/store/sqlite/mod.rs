//! The SQLite backend, used when DATABASE_URL is unset: one file in WAL mode holding
//! meli-stock's `meli_stock_*` tables and, for sellers without PostgreSQL, the inventory
//! tables too.
//!
//! SQLite has no schemas, so `InventoryNames::schema` is ignored here, and no advisory
//! locks, so the seller lock is a lease row (see `lock`).

mod apply;
mod inventory;
mod products;
mod state;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, query_builder::Separated};
use tracing::{info, instrument};

use super::error::StoreError;
use super::lock::{SellerLock, try_lock_sqlite};
use super::migrate;

/// Bound parameters per statement, below SQLite's limit of 32766.
const MAX_PARAMS: usize = 32_000;

/// meli-stock's state (and possibly the seller's inventory) in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing, with its directory) the file at `path`, without
    /// applying migrations.
    ///
    /// # Errors
    /// [`StoreError::SqliteOpen`] naming the path.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let failed = |reason: String| StoreError::SqliteOpen {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| failed(e.to_string()))?;
        }

        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(15))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| failed(e.to_string()))?;
        info!(path = %path.display(), "opened SQLite store");
        Ok(SqliteStore {
            pool,
            path: path.to_path_buf(),
        })
    }

    /// The pool, for callers that need plain SQL (tests, reports).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    #[instrument(skip_all, err)]
    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        // BEGIN IMMEDIATE takes the write lock up front, so concurrent starts queue here.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::query("lock migrations"))?;

        sqlx::query(
            "CREATE TABLE IF NOT EXISTS meli_stock_schema_migrations ( \
                 version INTEGER PRIMARY KEY, description TEXT NOT NULL, \
                 checksum BLOB NOT NULL, \
                 applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
        )
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("create meli_stock_schema_migrations"))?;

        let applied: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT version, checksum FROM meli_stock_schema_migrations")
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::query("read meli_stock_schema_migrations"))?;

        for migration in migrate::pending(&migrate::SQLITE, &applied)? {
            let failed = |source| StoreError::Migration {
                version: migration.version,
                description: migration.description.to_string(),
                source,
            };
            sqlx::raw_sql(&migration.sql)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            sqlx::query(
                "INSERT INTO meli_stock_schema_migrations (version, description, checksum) \
                 VALUES (?1, ?2, ?3)",
            )
            .bind(migration.version)
            .bind(migration.description.as_ref())
            .bind(migration.checksum.as_ref())
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
            info!(version = migration.version, "applied migration");
        }

        tx.commit()
            .await
            .map_err(StoreError::query("commit migrations"))
    }

    #[instrument(skip(self), err)]
    pub(crate) async fn try_lock_seller(
        &self,
        seller_id: u64,
    ) -> Result<Option<SellerLock>, StoreError> {
        try_lock_sqlite(&self.pool, seller_id).await
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

/// Inserts `rows` with as few multi-row statements as the parameter limit allows:
/// `head` is `INSERT INTO t (cols) `, `tail` an optional `ON CONFLICT` clause.
pub(crate) async fn insert_chunked<'a, T>(
    conn: &mut SqliteConnection,
    head: &str,
    tail: &str,
    rows: &'a [T],
    columns: usize,
    push: impl Fn(&mut Separated<'_, 'a, Sqlite, &'static str>, &'a T),
) -> Result<u64, sqlx::Error> {
    let per_statement = (MAX_PARAMS / columns.max(1)).max(1);
    let mut affected = 0;
    for chunk in rows.chunks(per_statement) {
        let mut builder = QueryBuilder::<Sqlite>::new(head);
        builder.push_values(chunk, |mut values, row| push(&mut values, row));
        builder.push(tail);
        affected += builder.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(affected)
}
