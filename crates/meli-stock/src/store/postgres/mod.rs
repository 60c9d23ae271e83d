//! The PostgreSQL backend: connection, migrations and the seller lock. Inventory access,
//! the apply transaction and run/state tables live in the submodules.
//!
//! Our tables live in schema `meli_stock`; the seller's tables wherever `InventoryNames`
//! says. All SQL is built at runtime: quoted, validated identifiers plus catalog types,
//! with every value bound as a parameter.

mod apply;
mod inventory;
mod products;
mod state;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use tracing::{info, instrument, warn};

use super::error::{PgTarget, StoreError, classify_connect_error};
use super::lock::{SellerLock, advisory_key, try_lock_postgres};
use super::migrate;

/// How long a first connection attempt may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Pool size: a sync run needs one connection at a time, the status page a few more.
const MAX_CONNECTIONS: u32 = 5;

/// meli-stock's state and the seller's inventory on one PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Boxed: the options are large and only needed to open lock and migration connections.
    options: Arc<PgConnectOptions>,
    target: PgTarget,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` (postgres:// or postgresql://) without applying migrations.
    ///
    /// # Errors
    /// [`StoreError::InvalidUrl`], [`StoreError::Unreachable`], [`StoreError::AuthFailed`],
    /// [`StoreError::DatabaseMissing`] or [`StoreError::Connect`], naming host and database.
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        let parsed = url::Url::parse(url).map_err(|e| StoreError::InvalidUrl {
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(StoreError::InvalidUrl {
                reason: format!("scheme {:?} is not postgres or postgresql", parsed.scheme()),
            });
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl {
                reason: e.to_string(),
            })?
            .application_name("meli-stock");
        let target = PgTarget {
            host: options.get_host().to_string(),
            port: options.get_port(),
            database: options
                .get_database()
                .unwrap_or(options.get_username())
                .to_string(),
            user: options.get_username().to_string(),
        };
        if target.port == 6543 {
            warn!(
                target = %target,
                "port 6543 is usually a transaction-mode pooler; the seller lock needs a \
                 session-mode connection (port 5432)"
            );
        }

        // One direct attempt first: the pool retries refused connections until its acquire
        // timeout and then reports only that it timed out.
        let first = open(&options, &target).await?;
        if let Err(e) = first.close().await {
            warn!(error = %e, "closing the probe connection failed");
        }

        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await
            .map_err(|e| classify_connect_error(&target, e))?;
        info!(target = %target, "connected to PostgreSQL");
        Ok(PgStore {
            pool,
            options: Arc::new(options),
            target,
        })
    }

    /// The pool, for callers that need plain SQL (tests, reports).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Host, port, database and user, without the password.
    pub fn target(&self) -> &PgTarget {
        &self.target
    }

    /// A connection outside the pool, for session state (locks) that must not leak into
    /// pooled connections.
    async fn dedicated(&self) -> Result<PgConnection, StoreError> {
        open(&self.options, &self.target).await
    }

    #[instrument(skip_all, err)]
    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.dedicated().await?;

        // Serializes concurrent starts; the lock ends with the connection, even on error.
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(advisory_key("meli-stock migrate", 0))
            .execute(&mut conn)
            .await
            .map_err(StoreError::query("lock migrations"))?;

        sqlx::raw_sql(
            "CREATE SCHEMA IF NOT EXISTS meli_stock; \
             CREATE TABLE IF NOT EXISTS meli_stock.schema_migrations ( \
                 version bigint PRIMARY KEY, \
                 description text NOT NULL, \
                 checksum bytea NOT NULL, \
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .execute(&mut conn)
        .await
        .map_err(StoreError::query(
            "create schema meli_stock (the database user needs CREATE on the database)",
        ))?;

        let applied: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT version, checksum FROM meli_stock.schema_migrations")
                .fetch_all(&mut conn)
                .await
                .map_err(StoreError::query("read meli_stock.schema_migrations"))?;

        for migration in migrate::pending(&migrate::POSTGRES, &applied)? {
            let failed = |source| StoreError::Migration {
                version: migration.version,
                description: migration.description.to_string(),
                source,
            };
            let mut tx = conn.begin().await.map_err(failed)?;
            sqlx::raw_sql(&migration.sql)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            sqlx::query(
                "INSERT INTO meli_stock.schema_migrations (version, description, checksum) \
                 VALUES ($1, $2, $3)",
            )
            .bind(migration.version)
            .bind(migration.description.as_ref())
            .bind(migration.checksum.as_ref())
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
            tx.commit().await.map_err(failed)?;
            info!(version = migration.version, "applied migration");
        }

        if let Err(e) = conn.close().await {
            warn!(error = %e, "closing the migration connection failed");
        }
        Ok(())
    }

    #[instrument(skip(self), err)]
    pub(crate) async fn try_lock_seller(
        &self,
        seller_id: u64,
    ) -> Result<Option<SellerLock>, StoreError> {
        try_lock_postgres(self.dedicated().await?, seller_id).await
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

async fn open(options: &PgConnectOptions, target: &PgTarget) -> Result<PgConnection, StoreError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(options)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(classify_connect_error(target, e)),
        Err(_) => Err(StoreError::Unreachable {
            target: target.clone(),
            reason: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        }),
    }
}
