//! One sync run per seller at a time.
//!
//! PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) taken on a connection of
//! its own, outside the pool; the lock lives exactly as long as that connection, so a
//! crashed process releases it when the server notices the closed socket.
//!
//! SQLite: a lease row in `meli_stock_seller_locks` with a holder id and an expiry that a
//! background task renews while the guard lives. A lease left by a crashed process expires
//! after [`LEASE_TTL`] and can then be taken over.
//!
//! Known limitation: dropping a SQLite guard outside a tokio runtime cannot delete the
//! lease row; it then expires after [`LEASE_TTL`]. Call [`SellerLock::release`] instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use sqlx::{Connection, PgConnection, SqlitePool};
use tokio::task::JoinHandle;
use tracing::{debug, error, warn};

use super::error::{StoreError, to_i64};

/// How long a SQLite lease lasts without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(60);

/// How often the holder renews its SQLite lease.
const LEASE_RENEW_EVERY: Duration = Duration::from_secs(20);

/// Proof that this process may run a sync for one seller; released on
/// [`SellerLock::release`] or when dropped.
pub struct SellerLock {
    seller_id: u64,
    inner: Inner,
}

enum Inner {
    Postgres {
        conn: Option<PgConnection>,
        key: i64,
    },
    Sqlite(Lease),
}

struct Lease {
    pool: SqlitePool,
    holder: String,
    lost: Arc<AtomicBool>,
    renewer: Option<JoinHandle<()>>,
    released: bool,
}

impl std::fmt::Debug for SellerLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match &self.inner {
            Inner::Postgres { .. } => "postgres advisory lock",
            Inner::Sqlite(_) => "sqlite lease",
        };
        f.debug_struct("SellerLock")
            .field("seller_id", &self.seller_id)
            .field("backend", &backend)
            .finish()
    }
}

impl SellerLock {
    /// The seller this lock is for.
    pub fn seller_id(&self) -> u64 {
        self.seller_id
    }

    /// Whether a SQLite lease was taken over after a failed renewal (the run should stop
    /// before writing). Always false on PostgreSQL, where the lock cannot lapse while its
    /// connection is open.
    pub fn is_lost(&self) -> bool {
        match &self.inner {
            Inner::Postgres { .. } => false,
            Inner::Sqlite(lease) => lease.lost.load(Ordering::SeqCst),
        }
    }

    /// Releases the lock now and reports failures, rather than leaving it to `Drop`.
    pub async fn release(mut self) -> Result<(), StoreError> {
        let seller_id = self.seller_id;
        match &mut self.inner {
            Inner::Postgres { conn, key } => {
                if let Some(mut conn) = conn.take() {
                    sqlx::query("SELECT pg_advisory_unlock($1)")
                        .bind(*key)
                        .execute(&mut conn)
                        .await
                        .map_err(StoreError::query(format!(
                            "release lock of seller {seller_id}"
                        )))?;
                    if let Err(e) = conn.close().await {
                        debug!(error = %e, "closing the lock connection failed");
                    }
                }
            }
            Inner::Sqlite(lease) => {
                if let Some(renewer) = lease.renewer.take() {
                    renewer.abort();
                }
                delete_lease(&lease.pool, seller_id, &lease.holder).await?;
                lease.released = true;
            }
        }
        debug!(seller_id, "seller lock released");
        Ok(())
    }
}

impl Drop for SellerLock {
    fn drop(&mut self) {
        let seller_id = self.seller_id;
        match &mut self.inner {
            // Dropping the connection closes its socket, which ends the session and with
            // it the advisory lock.
            Inner::Postgres { conn, .. } => drop(conn.take()),
            Inner::Sqlite(lease) => {
                if let Some(renewer) = lease.renewer.take() {
                    renewer.abort();
                }
                if lease.released {
                    return;
                }
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    warn!(seller_id, "lease left to expire: no runtime to delete it");
                    return;
                };
                let pool = lease.pool.clone();
                let holder = lease.holder.clone();
                runtime.spawn(async move {
                    if let Err(e) = delete_lease(&pool, seller_id, &holder).await {
                        warn!(seller_id, error = %e, "lease left to expire");
                    }
                });
            }
        }
    }
}

/// Advisory-lock key of a seller: FNV-1a over a fixed prefix and the seller id, so the key
/// is stable across versions and unlikely to meet other applications' keys.
pub(crate) fn advisory_key(scope: &str, id: u64) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in scope.bytes().chain(id.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_le_bytes(hash.to_le_bytes())
}

/// Tries `pg_try_advisory_lock` on a fresh connection; the connection is closed when the
/// lock is not granted.
pub(crate) async fn try_lock_postgres(
    mut conn: PgConnection,
    seller_id: u64,
) -> Result<Option<SellerLock>, StoreError> {
    let key = advisory_key("meli-stock seller run", seller_id);
    let granted: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(&mut conn)
        .await
        .map_err(StoreError::query(format!(
            "take lock of seller {seller_id}"
        )))?;

    if !granted {
        if let Err(e) = conn.close().await {
            debug!(error = %e, "closing the lock connection failed");
        }
        debug!(seller_id, "seller lock held elsewhere");
        return Ok(None);
    }

    debug!(seller_id, "seller lock taken");
    Ok(Some(SellerLock {
        seller_id,
        inner: Inner::Postgres {
            conn: Some(conn),
            key,
        },
    }))
}

/// Takes the SQLite lease when it is free or expired, and starts renewing it.
pub(crate) async fn try_lock_sqlite(
    pool: &SqlitePool,
    seller_id: u64,
) -> Result<Option<SellerLock>, StoreError> {
    let seller = to_i64(seller_id, "seller id")?;
    let holder = format!("{}:{}", std::process::id(), uuid::Uuid::new_v4());
    let now = Utc::now().timestamp_millis();
    let expires = now + lease_ttl_millis();

    let taken = sqlx::query(
        "INSERT INTO meli_stock_seller_locks (seller_id, holder, acquired_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (seller_id) DO UPDATE SET holder = excluded.holder, \
             acquired_at = excluded.acquired_at, expires_at = excluded.expires_at \
         WHERE meli_stock_seller_locks.expires_at < ?3",
    )
    .bind(seller)
    .bind(&holder)
    .bind(now)
    .bind(expires)
    .execute(pool)
    .await
    .map_err(StoreError::query(format!(
        "take lease of seller {seller_id}"
    )))?
    .rows_affected()
        == 1;

    if !taken {
        debug!(seller_id, "seller lease held elsewhere");
        return Ok(None);
    }

    let lost = Arc::new(AtomicBool::new(false));
    let renewer = tokio::spawn(renew_lease(
        pool.clone(),
        seller,
        holder.clone(),
        lost.clone(),
    ));
    debug!(seller_id, "seller lease taken");
    let lease = Lease {
        pool: pool.clone(),
        holder,
        lost,
        renewer: Some(renewer),
        released: false,
    };
    Ok(Some(SellerLock {
        seller_id,
        inner: Inner::Sqlite(lease),
    }))
}

fn lease_ttl_millis() -> i64 {
    i64::try_from(LEASE_TTL.as_millis()).unwrap_or(i64::MAX)
}

/// Pushes the expiry forward until aborted; stops and flags the lease as lost when another
/// holder has taken it over.
async fn renew_lease(pool: SqlitePool, seller: i64, holder: String, lost: Arc<AtomicBool>) {
    let mut ticks = tokio::time::interval(LEASE_RENEW_EVERY);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let expires = Utc::now().timestamp_millis() + lease_ttl_millis();
        let renewed = sqlx::query(
            "UPDATE meli_stock_seller_locks SET expires_at = ?1 \
             WHERE seller_id = ?2 AND holder = ?3",
        )
        .bind(expires)
        .bind(seller)
        .bind(&holder)
        .execute(&pool)
        .await;

        match renewed {
            Ok(done) if done.rows_affected() == 1 => {}
            Ok(_) => {
                lost.store(true, Ordering::SeqCst);
                error!(
                    seller_id = seller,
                    "seller lease was taken over; stop writing"
                );
                return;
            }
            Err(e) => warn!(seller_id = seller, error = %e, "seller lease renewal failed"),
        }
    }
}

async fn delete_lease(pool: &SqlitePool, seller_id: u64, holder: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM meli_stock_seller_locks WHERE seller_id = ?1 AND holder = ?2")
        .bind(to_i64(seller_id, "seller id")?)
        .bind(holder)
        .execute(pool)
        .await
        .map_err(StoreError::query(format!(
            "release lease of seller {seller_id}"
        )))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advisory_keys_are_stable_and_distinct() {
        let a = advisory_key("meli-stock seller run", 2_506_482_242);

        assert_eq!(a, advisory_key("meli-stock seller run", 2_506_482_242));
        assert_ne!(a, advisory_key("meli-stock seller run", 2_506_482_243));
        assert_ne!(a, advisory_key("meli-stock migrate", 2_506_482_242));
    }
}
