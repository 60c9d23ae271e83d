//! Errors of the store. Each message says what failed, names the table, column, host or
//! database involved, and where it can, what to do about it.
//!
//! Connection errors are built from a [`PgTarget`], which never holds the password, so no
//! message or `Debug` output can leak it.

use std::fmt;
use std::path::PathBuf;

use super::model::RunId;

/// Where a PostgreSQL URL points, without its password.
#[derive(Clone, PartialEq, Eq)]
pub struct PgTarget {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
}

impl fmt::Display for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}/{} as user {}",
            self.host, self.port, self.database, self.user
        )
    }
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgTarget({self})")
    }
}

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error(
        "DATABASE_URL is not a usable PostgreSQL URL: {reason}; expected \
         postgres://user:password@host:5432/database, or unset DATABASE_URL to use the local \
         SQLite file"
    )]
    InvalidUrl { reason: String },

    #[error(
        "cannot reach PostgreSQL at {target}: {reason}; check that the server is running and \
         that the host and port in DATABASE_URL are right"
    )]
    Unreachable { target: PgTarget, reason: String },

    #[error(
        "PostgreSQL at {target} rejected the login: {reason}; check the user name and password \
         in DATABASE_URL"
    )]
    AuthFailed { target: PgTarget, reason: String },

    #[error(
        "database {database:?} does not exist on {host}:{port}; create it (e.g. `createdb -h \
         {host} -p {port} {database}`) or fix the database name in DATABASE_URL"
    )]
    DatabaseMissing {
        host: String,
        port: u16,
        database: String,
    },

    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    Connect { target: PgTarget, reason: String },

    #[error(
        "cannot open the SQLite file {path}: {reason}; check that its directory exists and \
         is writable, or set DATABASE_URL to use PostgreSQL"
    )]
    SqliteOpen { path: PathBuf, reason: String },

    #[error("failed to apply migration {version} ({description}): {source}")]
    Migration {
        version: i64,
        description: String,
        source: sqlx::Error,
    },

    #[error(
        "migration {version} was changed after it was applied to this database; restore the \
         original migration file (migrations are append-only)"
    )]
    MigrationChanged { version: i64 },

    #[error(
        "the database was migrated by a newer meli-stock (it has migration {version}, which \
         this build does not know); upgrade meli-stock"
    )]
    MigrationUnknown { version: i64 },

    #[error("invalid {field} setting {value:?}: names must match ^[A-Za-z_][A-Za-z0-9_]{{0,62}}$")]
    InvalidName { field: &'static str, value: String },

    #[error(
        "table {table} does not exist; run `meli-stock db init` to create it, or set the right \
         table name in the configuration"
    )]
    MissingTable { table: String },

    #[error(
        "column {column} does not exist in table {table}; set the right column name in the \
         configuration (found columns: {found})"
    )]
    MissingColumn {
        table: String,
        column: String,
        found: String,
    },

    #[error(
        "table {table} has no unique key on exactly ({columns}), which the upsert needs; add \
         one (after removing duplicate rows): {fix}"
    )]
    MissingUniqueKey {
        table: String,
        columns: String,
        fix: String,
    },

    #[error(
        "table {table} has required columns meli-stock does not fill ({columns}); give them \
         a default or make them nullable"
    )]
    RequiredColumns { table: String, columns: String },

    #[error(
        "the Mercado Libre warehouse row (code {code:?}) is missing from {table} and cannot \
         be inserted automatically ({reason}); insert it yourself, e.g. {fix}"
    )]
    WarehouseRow {
        table: String,
        code: String,
        reason: String,
        fix: String,
    },

    #[error(
        "product id {product_id:?} does not fit {table}.{column} ({sql_type}); check the ids \
         in the products table"
    )]
    InvalidProductId {
        product_id: String,
        table: String,
        column: String,
        sql_type: String,
    },

    #[error("invalid write set: {0}")]
    InvalidInput(String),

    #[error("run {0} does not exist")]
    RunNotFound(RunId),

    #[error("failed to {operation}: {source}")]
    Query {
        operation: String,
        source: sqlx::Error,
    },
}

impl StoreError {
    /// Wraps a database error with the operation that failed.
    pub(crate) fn query(operation: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
        let operation = operation.into();
        move |source| StoreError::Query { operation, source }
    }
}

/// Turns the error of a first connection attempt into an actionable message.
pub(crate) fn classify_connect_error(target: &PgTarget, err: sqlx::Error) -> StoreError {
    let target = target.clone();
    match err {
        sqlx::Error::Database(db) => {
            let reason = db.message().to_string();
            match db.code().as_deref() {
                Some("28P01") | Some("28000") => StoreError::AuthFailed { target, reason },
                Some("3D000") => StoreError::DatabaseMissing {
                    host: target.host,
                    port: target.port,
                    database: target.database,
                },
                Some("53300") => StoreError::Connect {
                    target,
                    reason: format!("{reason}; the server has no free connections, retry later"),
                },
                _ => StoreError::Connect { target, reason },
            }
        }
        sqlx::Error::Io(io) => StoreError::Unreachable {
            target,
            reason: io.to_string(),
        },
        sqlx::Error::PoolTimedOut => StoreError::Unreachable {
            target,
            reason: "timed out waiting for the server".into(),
        },
        sqlx::Error::Tls(tls) => StoreError::Connect {
            target,
            reason: format!("TLS negotiation failed ({tls}); check sslmode in DATABASE_URL"),
        },
        other => StoreError::Connect {
            target,
            reason: other.to_string(),
        },
    }
}

/// Converts a count or id to the BIGINT the tables store.
pub(crate) fn to_i64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value)
        .map_err(|_| StoreError::InvalidInput(format!("{what} {value} does not fit in BIGINT")))
}

/// Converts a stored BIGINT back; negative values (never written) read as 0.
pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}
