//! Seller accounts with their sealed tokens, the account event log, pending
//! authorizations and the key fingerprint, on both backends.
//!
//! Reads go through [`Store`]; every write goes through a [`TokenTx`], one transaction that
//! locks what it reads: `SELECT … FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` (the whole
//! file) on SQLite. That lock is what makes a token refresh single-flight across processes:
//! the refresher holds it from reading the old refresh token until the new pair is
//! committed, and everyone else waits, then reads the new pair.
//!
//! The store never sees a token in clear: [`Sealed`] values are encrypted and decrypted by
//! [`crate::tokens`].
//!
//! Known limitation: on SQLite a token transaction blocks every other writer of the file
//! (a sync's write, the seller lease) while ML answers the refresh; they wait up to the
//! 15 s busy timeout, which a refresh normally stays far below.

mod model;
pub(super) mod queries;

use std::fmt;

pub use model::{
    AccountEvent, AccountRow, AccountStatus, EventKind, PendingAuthorization, Sealed, TokenWrite,
};

use super::error::StoreError;
use super::{Store, now_micros};

/// One transaction over the account tables; dropped without [`TokenTx::commit`] it rolls
/// back and releases its locks.
pub struct TokenTx {
    inner: TxInner,
}

enum TxInner {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

impl fmt::Debug for TokenTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match self.inner {
            TxInner::Postgres(_) => "postgres",
            TxInner::Sqlite(_) => "sqlite",
        };
        f.debug_struct("TokenTx")
            .field("backend", &backend)
            .finish()
    }
}

/// Runs one query function of `queries` on the transaction's connection.
macro_rules! on_tx {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match &mut $self.inner {
            TxInner::Postgres(tx) => queries::pg::$f(&mut **tx, $($arg),*).await,
            TxInner::Sqlite(tx) => queries::lite::$f(&mut **tx, $($arg),*).await,
        }
    };
}

/// Runs one query function of `queries` on a pooled connection.
macro_rules! on_pool {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match $self {
            Store::Postgres(pg) => {
                let mut conn = pg
                    .pool()
                    .acquire()
                    .await
                    .map_err(StoreError::query("take a database connection"))?;
                queries::pg::$f(&mut *conn, $($arg),*).await
            }
            Store::Sqlite(lite) => {
                let mut conn = lite
                    .pool()
                    .acquire()
                    .await
                    .map_err(StoreError::query("take a database connection"))?;
                queries::lite::$f(&mut *conn, $($arg),*).await
            }
        }
    };
}

impl Store {
    /// Starts a transaction over the account tables. On SQLite it takes the file's write
    /// lock at once (`BEGIN IMMEDIATE`), so concurrent token transactions queue here.
    pub async fn begin_tokens(&self) -> Result<TokenTx, StoreError> {
        let inner = match self {
            Store::Postgres(pg) => TxInner::Postgres(
                pg.pool()
                    .begin()
                    .await
                    .map_err(StoreError::query("begin a token transaction"))?,
            ),
            Store::Sqlite(lite) => TxInner::Sqlite(
                lite.pool()
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(StoreError::query("begin a token transaction"))?,
            ),
        };
        Ok(TokenTx { inner })
    }

    /// The stored account of one seller, without locking it.
    pub async fn account(&self, seller_id: u64) -> Result<Option<AccountRow>, StoreError> {
        on_pool!(self, account(seller_id, false))
    }

    /// Every stored account, by seller id.
    pub async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        on_pool!(self, accounts(false))
    }

    /// The latest account events, newest first, of one seller or of all.
    pub async fn account_events(
        &self,
        seller_id: Option<u64>,
        limit: u32,
    ) -> Result<Vec<AccountEvent>, StoreError> {
        on_pool!(self, events(seller_id, limit))
    }

    /// The fingerprint of the key the stored tokens are encrypted with, once one was set.
    pub async fn key_fingerprint(&self) -> Result<Option<String>, StoreError> {
        on_pool!(self, fingerprint())
    }
}

impl TokenTx {
    /// The seller's account, locked until the transaction ends.
    pub async fn account(&mut self, seller_id: u64) -> Result<Option<AccountRow>, StoreError> {
        on_tx!(self, account(seller_id, true))
    }

    /// Every account, locked until the transaction ends.
    pub async fn accounts(&mut self) -> Result<Vec<AccountRow>, StoreError> {
        on_tx!(self, accounts(true))
    }

    /// Inserts the account unless the seller has one (returns whether it did); with
    /// `replace`, overwrites the tokens and status of an existing one.
    pub async fn put_account(
        &mut self,
        row: &AccountRow,
        replace: bool,
    ) -> Result<bool, StoreError> {
        on_tx!(self, put_account(row, replace))
    }

    /// Deletes the seller's account; returns whether there was one.
    pub async fn remove_account(&mut self, seller_id: u64) -> Result<bool, StoreError> {
        on_tx!(self, delete_account(seller_id))
    }

    /// Stores a new pair on the account and marks it `ok`.
    pub async fn write_tokens(
        &mut self,
        seller_id: u64,
        write: &TokenWrite,
    ) -> Result<(), StoreError> {
        on_tx!(self, write_tokens(seller_id, write, now_micros()))
    }

    /// Sets the account's status and last error.
    pub async fn set_status(
        &mut self,
        seller_id: u64,
        status: AccountStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        on_tx!(self, set_status(seller_id, status, error, now_micros()))
    }

    /// Fills in the seller's site and nickname (`None` keeps what is stored).
    pub async fn set_profile(
        &mut self,
        seller_id: u64,
        site_id: Option<&str>,
        nickname: Option<&str>,
    ) -> Result<(), StoreError> {
        on_tx!(self, set_profile(seller_id, site_id, nickname))
    }

    /// Replaces the sealed tokens with the same tokens sealed under another key.
    pub async fn reseal_account(
        &mut self,
        seller_id: u64,
        access: &Sealed,
        refresh: Option<&Sealed>,
    ) -> Result<(), StoreError> {
        on_tx!(self, set_sealed(seller_id, access, refresh))
    }

    /// Appends an event to the account log.
    pub async fn add_event(
        &mut self,
        seller_id: u64,
        kind: EventKind,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        on_tx!(
            self,
            add_event(seller_id, kind.as_str(), detail, now_micros())
        )
    }

    /// The stored key fingerprint.
    pub async fn key_fingerprint(&mut self) -> Result<Option<String>, StoreError> {
        on_tx!(self, fingerprint())
    }

    /// Stores the key fingerprint when none is stored (`replace`: overwrites it).
    pub async fn put_key_fingerprint(
        &mut self,
        fingerprint: &str,
        replace: bool,
    ) -> Result<(), StoreError> {
        on_tx!(self, put_fingerprint(fingerprint, replace, now_micros()))
    }

    /// Pending authorizations that have not expired, newest first, locked; expired ones
    /// are deleted.
    pub async fn pending(&mut self) -> Result<Vec<PendingAuthorization>, StoreError> {
        on_tx!(self, delete_expired_pending(now_micros()))?;
        on_tx!(self, pending(true))
    }

    /// Records an authorization started by `meli-stock auth url`.
    pub async fn add_pending(&mut self, pending: &PendingAuthorization) -> Result<(), StoreError> {
        on_tx!(self, insert_pending(pending))
    }

    /// Forgets a pending authorization (its code was exchanged).
    pub async fn remove_pending(&mut self, state: &str) -> Result<(), StoreError> {
        on_tx!(self, delete_pending(state))
    }

    /// Replaces a pending authorization's sealed verifier (key rotation).
    pub async fn reseal_pending(
        &mut self,
        state: &str,
        verifier: &Sealed,
    ) -> Result<(), StoreError> {
        on_tx!(self, set_pending_verifier(state, verifier))
    }

    /// Commits everything written in this transaction.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Postgres(tx) => tx.commit().await,
            TxInner::Sqlite(tx) => tx.commit().await,
        }
        .map_err(StoreError::query("commit the token transaction"))
    }
}
