//! Storage: meli-stock's own state (runs, item map, user-product stock, ledger) and the
//! writes into the seller's inventory tables, on PostgreSQL or an embedded SQLite file.
//!
//! # Layout
//! - `accounts`: seller accounts, sealed tokens, account events, [`TokenTx`].
//! - `model`: plain data passed in and out ([`WriteSet`], [`RunRecord`], ...).
//! - `names`: configurable inventory table/column names and the checked [`InventoryLayout`].
//! - `inventory`: backend-neutral checks of an introspected inventory schema.
//! - `migrate`: embedded migrations and the version table they are recorded in.
//! - `lock`: [`SellerLock`], one sync run per seller at a time.
//! - `alert_state`: [`AlertRow`], the persisted state of alerts, and a liveness probe.
//! - `rows`: decoding of state rows shared by both backends.
//! - `postgres`, `sqlite`: the two backends behind [`Store`].
//!
//! Our tables live in schema `meli_stock` on PostgreSQL (the seller's `public` schema gets
//! nothing of ours, not even the migration table) and as `meli_stock_*` tables on SQLite.
//! Every state row carries a `seller_id`, so several seller accounts can share one database.
//!
//! Known limitation: the PostgreSQL seller lock is a session advisory lock, so DATABASE_URL
//! must point at a session-mode connection (Supabase's direct connection or session pooler
//! on port 5432), not a transaction-mode pooler such as Supabase's port 6543.

#[macro_use]
mod accounts;
mod alert_state;
mod error;
mod inventory;
mod lock;
mod migrate;
mod model;
mod names;
mod postgres;
mod rows;
mod sqlite;

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};

pub use accounts::{
    AccountEvent, AccountRow, AccountStatus, EventKind, PendingAuthorization, Sealed, TokenTx,
    TokenWrite,
};
pub use alert_state::AlertRow;
pub use error::{PgTarget, StoreError};
pub use lock::SellerLock;
pub use model::{
    DesiredStock, Freshness, InitReport, ItemKey, ItemMapRow, LocationStock, RunId, RunOutcome,
    RunRecord, StockSample, SyncState, UnmatchedItem, UnmatchedRow, UserProductRead,
    UserProductState, WriteReport, WriteSet,
};
pub use names::{ColumnInfo, InventoryLayout, InventoryNames, InventoryTypes, is_identifier};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// The database meli-stock keeps its state in and writes the seller's stock to.
#[derive(Debug, Clone)]
pub enum Store {
    Postgres(PgStore),
    Sqlite(SqliteStore),
}

/// Calls the same method on whichever backend is behind the store.
macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Postgres($store) => $call,
            Store::Sqlite($store) => $call,
        }
    };
}

impl Store {
    /// Opens the store: PostgreSQL when `url` is a `postgres://` or `postgresql://` URL,
    /// otherwise (None or blank) the SQLite file at `sqlite_path`, created if missing.
    /// Applies any missing migrations before returning.
    ///
    /// # Errors
    /// An actionable [`StoreError`] naming the host and database (never the password) or
    /// the SQLite path, and what to check.
    pub async fn connect(url: Option<&str>, sqlite_path: &Path) -> Result<Store, StoreError> {
        let store = match url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => Store::Postgres(PgStore::connect(url).await?),
            None => Store::Sqlite(SqliteStore::open(sqlite_path).await?),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// A one-line description safe to print (no password): backend and target.
    pub fn describe(&self) -> String {
        match self {
            Store::Postgres(pg) => format!("PostgreSQL {}", pg.target()),
            Store::Sqlite(lite) => format!("SQLite {}", lite.path().display()),
        }
    }

    /// Applies the embedded migrations that this database lacks; safe to call repeatedly
    /// and from several processes at once.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.migrate().await)
    }

    /// `meli-stock db init`: creates the missing inventory tables and the ML warehouse row.
    /// Existing tables are never altered.
    pub async fn init_inventory(&self, names: &InventoryNames) -> Result<InitReport, StoreError> {
        dispatch!(self, s => s.init_inventory(names).await)
    }

    /// Verifies the seller's inventory tables, columns and unique key, and returns their
    /// column types for the casts in [`Store::apply`].
    pub async fn check_inventory(
        &self,
        names: &InventoryNames,
    ) -> Result<InventoryLayout, StoreError> {
        dispatch!(self, s => s.check_inventory(names).await)
    }

    /// Takes the per-seller run lock; `None` means another process holds it.
    pub async fn try_lock_seller(&self, seller_id: u64) -> Result<Option<SellerLock>, StoreError> {
        dispatch!(self, s => s.try_lock_seller(seller_id).await)
    }

    /// Records the start of a run (outcome `running`).
    pub async fn start_run(
        &self,
        seller_id: u64,
        started_at: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<RunId, StoreError> {
        dispatch!(self, s => s.start_run(seller_id, started_at, dry_run).await)
    }

    /// Stores the final state of a run; usable after a failed `apply` since it runs on its
    /// own connection and transaction. A `None` `finished_at` is stored as now.
    pub async fn finish_run(&self, record: &RunRecord) -> Result<(), StoreError> {
        dispatch!(self, s => s.finish_run(record).await)
    }

    /// The latest runs, newest first, of one seller or of all.
    pub async fn recent_runs(
        &self,
        seller_id: Option<u64>,
        limit: u32,
    ) -> Result<Vec<RunRecord>, StoreError> {
        dispatch!(self, s => s.recent_runs(seller_id, limit).await)
    }

    /// The latest successful run that wrote stock (dry runs excluded), for freshness checks.
    pub async fn last_success(&self, seller_id: u64) -> Result<Option<RunRecord>, StoreError> {
        dispatch!(self, s => s.last_success(seller_id).await)
    }

    /// The item map and user-product reads the previous runs left for this seller.
    pub async fn load_state(&self, seller_id: u64) -> Result<SyncState, StoreError> {
        dispatch!(self, s => s.load_state(seller_id).await)
    }

    /// ML products of the seller's catalogue: match key (e.g. the ML item id) -> product id
    /// as text. When two products share a key, the one with the lowest id wins.
    pub async fn load_products(
        &self,
        layout: &InventoryLayout,
    ) -> Result<HashMap<String, String>, StoreError> {
        dispatch!(self, s => s.load_products(layout).await)
    }

    /// The ML warehouse id (None when its row does not exist yet) and its current stock:
    /// product id as text -> quantity (NULL reads as 0).
    pub async fn load_ml_stock(
        &self,
        layout: &InventoryLayout,
    ) -> Result<(Option<String>, HashMap<String, i64>), StoreError> {
        dispatch!(self, s => s.load_ml_stock(layout).await)
    }

    /// Writes one run's results in a single transaction: the ML warehouse row if missing,
    /// every desired `warehouse_stock` row, the ledger of changed rows, the item map, the
    /// unmatched items and the user-product stock. Any error rolls all of it back.
    pub async fn apply(
        &self,
        layout: &InventoryLayout,
        writes: &WriteSet,
    ) -> Result<WriteReport, StoreError> {
        writes.validate()?;
        dispatch!(self, s => s.apply(layout, writes).await)
    }

    /// Inserts a product row (match key and source value) for each key that has none yet;
    /// returns how many were inserted. The demo and the benchmark use it to fill a fresh
    /// products table; a sync never writes products.
    pub async fn insert_missing_products(
        &self,
        layout: &InventoryLayout,
        keys: &[String],
    ) -> Result<u64, StoreError> {
        dispatch!(self, s => s.insert_missing_products(layout, keys).await)
    }

    /// Up to `limit` rows of the ML warehouse with their products' match keys, ordered by
    /// match key.
    pub async fn ml_stock_sample(
        &self,
        layout: &InventoryLayout,
        limit: u32,
    ) -> Result<Vec<StockSample>, StoreError> {
        dispatch!(self, s => s.ml_stock_sample(layout, limit).await)
    }

    /// The monitoring query of the README on the configured names: the newest
    /// `last_updated` of the ML warehouse with its writer and row count.
    pub async fn freshness(
        &self,
        layout: &InventoryLayout,
    ) -> Result<Option<Freshness>, StoreError> {
        dispatch!(self, s => s.freshness(layout).await)
    }

    /// Items no product matched in the latest run, for `meli-stock report unmatched`.
    pub async fn unmatched(&self, seller_id: u64) -> Result<Vec<UnmatchedItem>, StoreError> {
        dispatch!(self, s => s.unmatched(seller_id).await)
    }

    /// Closes every pooled connection; held seller locks keep their own connection.
    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }
}

/// The current time at the precision the store keeps, so a record built in memory equals
/// the one read back.
pub fn now_micros() -> DateTime<Utc> {
    to_micros(Utc::now())
}

/// Timestamps are stored with microsecond precision on both backends, so a value read back
/// equals the value written.
pub(crate) fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    at.trunc_subsecs(6)
}
