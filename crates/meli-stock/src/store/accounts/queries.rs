//! The SQL of the account tables, written once for both backends.
//!
//! The tables have the same columns on PostgreSQL (schema `meli_stock`) and SQLite
//! (`meli_stock_*`), so each query is one template: `{accounts}`, `{events}`, `{pending}`
//! and `{key_check}` become the backend's table names, `$n` becomes `?n` on SQLite, and
//! `{lock}` becomes `FOR UPDATE` on PostgreSQL (SQLite locks the whole file with
//! `BEGIN IMMEDIATE` instead). The [`backend!`] macro instantiates the functions for each
//! connection type; sqlx decodes the same Rust types from either database.

use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::model::{AccountEvent, AccountRow, PendingAuthorization, Sealed};
use crate::store::error::{StoreError, to_u64};

/// Table names, placeholders and row locks of one backend.
pub(crate) struct Dialect {
    prefix: &'static str,
    lock: &'static str,
    sqlite: bool,
}

pub(crate) const POSTGRES: Dialect = Dialect {
    prefix: "meli_stock.",
    lock: " FOR UPDATE",
    sqlite: false,
};

pub(crate) const SQLITE: Dialect = Dialect {
    prefix: "meli_stock_",
    lock: "",
    sqlite: true,
};

impl Dialect {
    /// The template with this backend's names, placeholders and lock clause.
    pub(crate) fn sql(&self, template: &str) -> String {
        let text = template
            .replace("{accounts}", &format!("{}accounts", self.prefix))
            .replace("{events}", &format!("{}account_events", self.prefix))
            .replace(
                "{pending}",
                &format!("{}pending_authorizations", self.prefix),
            )
            .replace("{key_check}", &format!("{}key_check", self.prefix))
            .replace("{lock}", self.lock);
        if self.sqlite {
            text.replace('$', "?")
        } else {
            text
        }
    }
}

/// The `accounts` columns in the order [`account_from_row`] reads them.
pub(crate) const ACCOUNT_COLUMNS: &str = "seller_id, app_id, site_id, nickname, access_token, \
     refresh_token, access_expires_at, refresh_issued_at, last_refresh_at, refresh_count, \
     status, last_error, created_at, updated_at";

const PENDING_COLUMNS: &str =
    "state, app_id, site_id, redirect_uri, verifier, created_at, expires_at";

fn get<'r, R, T>(row: &'r R, column: &'static str) -> Result<T, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(column)
        .map_err(StoreError::query(format!("decode column {column}")))
}

pub(crate) fn account_from_row<'r, R>(row: &'r R) -> Result<AccountRow, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
    DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    Option<DateTime<Utc>>: Decode<'r, R::Database> + Type<R::Database>,
{
    let status: String = get(row, "status")?;
    let status = status.parse().map_err(|e: String| StoreError::Query {
        operation: "decode column status".into(),
        source: sqlx::Error::Decode(e.into()),
    })?;
    let refresh: Option<Vec<u8>> = get(row, "refresh_token")?;

    Ok(AccountRow {
        seller_id: to_u64(get(row, "seller_id")?),
        app_id: get(row, "app_id")?,
        site_id: get(row, "site_id")?,
        nickname: get(row, "nickname")?,
        access_token: Sealed(get(row, "access_token")?),
        refresh_token: refresh.map(Sealed),
        access_expires_at: get(row, "access_expires_at")?,
        refresh_issued_at: get(row, "refresh_issued_at")?,
        last_refresh_at: get(row, "last_refresh_at")?,
        refresh_count: to_u64(get(row, "refresh_count")?),
        status,
        last_error: get(row, "last_error")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

pub(crate) fn event_from_row<'r, R>(row: &'r R) -> Result<AccountEvent, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(AccountEvent {
        id: get(row, "id")?,
        at: get(row, "at")?,
        seller_id: to_u64(get(row, "seller_id")?),
        kind: get(row, "kind")?,
        detail: get(row, "detail")?,
    })
}

pub(crate) fn pending_from_row<'r, R>(row: &'r R) -> Result<PendingAuthorization, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(PendingAuthorization {
        state: get(row, "state")?,
        app_id: get(row, "app_id")?,
        site_id: get(row, "site_id")?,
        redirect_uri: get(row, "redirect_uri")?,
        verifier: Sealed(get(row, "verifier")?),
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
    })
}

/// The query functions of one backend, on any connection (pooled or in a transaction).
macro_rules! backend {
    ($name:ident, $conn:ty, $dialect:expr) => {
        pub(crate) mod $name {
            use chrono::{DateTime, Utc};

            use super::*;
            use crate::store::accounts::model::{AccountStatus, TokenWrite};
            use crate::store::error::to_i64;
            use crate::store::to_micros;

            const D: Dialect = $dialect;

            pub(crate) async fn account(
                conn: &mut $conn,
                seller_id: u64,
                lock: bool,
            ) -> Result<Option<AccountRow>, StoreError> {
                let lock = if lock { "{lock}" } else { "" };
                let sql = D.sql(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM {{accounts}} WHERE seller_id = $1{lock}"
                ));
                let row = sqlx::query(&sql)
                    .bind(to_i64(seller_id, "seller id")?)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(StoreError::query(format!(
                        "read account of seller {seller_id}"
                    )))?;
                row.as_ref().map(account_from_row).transpose()
            }

            pub(crate) async fn accounts(
                conn: &mut $conn,
                lock: bool,
            ) -> Result<Vec<AccountRow>, StoreError> {
                let lock = if lock { "{lock}" } else { "" };
                let sql = D.sql(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM {{accounts}} ORDER BY seller_id{lock}"
                ));
                let rows = sqlx::query(&sql)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(StoreError::query("read the accounts"))?;
                rows.iter().map(account_from_row).collect()
            }

            /// Inserts `row` unless the seller has an account; `replace` overwrites the
            /// tokens and status of an existing one instead (its creation time stays).
            pub(crate) async fn put_account(
                conn: &mut $conn,
                row: &AccountRow,
                replace: bool,
            ) -> Result<bool, StoreError> {
                let conflict = if replace {
                    "DO UPDATE SET app_id = excluded.app_id, \
                         site_id = COALESCE(excluded.site_id, {accounts}.site_id), \
                         nickname = COALESCE(excluded.nickname, {accounts}.nickname), \
                         access_token = excluded.access_token, \
                         refresh_token = excluded.refresh_token, \
                         access_expires_at = excluded.access_expires_at, \
                         refresh_issued_at = excluded.refresh_issued_at, \
                         last_refresh_at = excluded.last_refresh_at, \
                         status = excluded.status, last_error = excluded.last_error, \
                         updated_at = excluded.updated_at"
                } else {
                    "DO NOTHING"
                };
                let sql = D.sql(&format!(
                    "INSERT INTO {{accounts}} ({ACCOUNT_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                     ON CONFLICT (seller_id) {conflict}"
                ));
                let seller_id = row.seller_id;
                let done = sqlx::query(&sql)
                    .bind(to_i64(seller_id, "seller id")?)
                    .bind(&row.app_id)
                    .bind(row.site_id.as_deref())
                    .bind(row.nickname.as_deref())
                    .bind(&row.access_token.0)
                    .bind(row.refresh_token.as_ref().map(|s| &s.0))
                    .bind(to_micros(row.access_expires_at))
                    .bind(row.refresh_issued_at.map(to_micros))
                    .bind(row.last_refresh_at.map(to_micros))
                    .bind(to_i64(row.refresh_count, "refresh count")?)
                    .bind(row.status.as_str())
                    .bind(row.last_error.as_deref())
                    .bind(to_micros(row.created_at))
                    .bind(to_micros(row.updated_at))
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::query(format!(
                        "store account of seller {seller_id}"
                    )))?;
                Ok(done.rows_affected() == 1)
            }

            pub(crate) async fn delete_account(
                conn: &mut $conn,
                seller_id: u64,
            ) -> Result<bool, StoreError> {
                let sql = D.sql("DELETE FROM {accounts} WHERE seller_id = $1");
                let done = sqlx::query(&sql)
                    .bind(to_i64(seller_id, "seller id")?)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::query(format!(
                        "remove account of seller {seller_id}"
                    )))?;
                Ok(done.rows_affected() == 1)
            }

            pub(crate) async fn write_tokens(
                conn: &mut $conn,
                seller_id: u64,
                write: &TokenWrite,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let sql = D.sql(
                    "UPDATE {accounts} SET access_token = $2, refresh_token = $3, \
                         access_expires_at = $4, refresh_issued_at = $5, \
                         last_refresh_at = CASE WHEN $6 THEN $5 ELSE last_refresh_at END, \
                         refresh_count = refresh_count + CASE WHEN $6 THEN 1 ELSE 0 END, \
                         status = 'ok', last_error = NULL, updated_at = $7 \
                     WHERE seller_id = $1",
                );
                sqlx::query(&sql)
                    .bind(to_i64(seller_id, "seller id")?)
                    .bind(&write.access_token.0)
                    .bind(write.refresh_token.as_ref().map(|s| &s.0))
                    .bind(to_micros(write.access_expires_at))
                    .bind(to_micros(write.issued_at))
                    .bind(write.refreshed)
                    .bind(to_micros(now))
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::query(format!(
                        "store the new tokens of seller {seller_id}"
                    )))?;
                Ok(())
            }

            pub(crate) async fn set_status(
                conn: &mut $conn,
                seller_id: u64,
                status: AccountStatus,
                error: Option<&str>,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let sql = D.sql(
                    "UPDATE {accounts} SET status = $2, last_error = $3, updated_at = $4 \
                     WHERE seller_id = $1",
                );
                sqlx::query(&sql)
                    .bind(to_i64(seller_id, "seller id")?)
                    .bind(status.as_str())
                    .bind(error)
                    .bind(to_micros(now))
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::query(format!(
                        "store the status of seller {seller_id}"
                    )))?;
                Ok(())
            }

            pub(crate) async fn set_profile(
                conn: &mut $conn,
                seller_id: u64,
                site_id: Option<&str>,
                nickname: Option<&str>,
            ) -> Result<(), StoreError> {
                let sql = D.sql(
                    "UPDATE {accounts} SET site_id = COALESCE($2, site_id), \
                         nickname = COALESCE($3, nickname) WHERE seller_id = $1",
                );
                sqlx::query(&sql)
                    .bind(to_i64(seller_id, "seller id")?)
                    .bind(site_id)
                    .bind(nickname)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::query(format!(
                        "store the site of seller {seller_id}"
                    )))?;
                Ok(())
            }

            pub(crate) async fn set_sealed(
                conn: &mut $conn,
                seller_id: u64,
                access: &Sealed,
                refresh: Option<&Sealed>,
            ) -> Result<(), StoreError> {
                let sql = D.sql(
                    "UPDATE {accounts} SET access_token = $2, refresh_token = $3 \
                     WHERE seller_id = $1",
                );
                sqlx::query(&sql)
                    .bind(to_i64(seller_id, "seller id")?)
                    .bind(&access.0)
                    .bind(refresh.map(|s| &s.0))
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::query(format!(
                        "re-encrypt the tokens of seller {seller_id}"
                    )))?;
                Ok(())
            }

            pub(crate) async fn add_event(
                conn: &mut $conn,
                seller_id: u64,
                kind: &str,
                detail: Option<&str>,
                at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let sql = D.sql(
                    "INSERT INTO {events} (at, seller_id, kind, detail) VALUES ($1, $2, $3, $4)",
                );
                sqlx::query(&sql)
                    .bind(to_micros(at))
                    .bind(to_i64(seller_id, "seller id")?)
                    .bind(kind)
                    .bind(detail)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::query(format!(
                        "record a {kind} event of seller {seller_id}"
                    )))?;
                Ok(())
            }

            pub(crate) async fn events(
                conn: &mut $conn,
                seller_id: Option<u64>,
                limit: u32,
            ) -> Result<Vec<AccountEvent>, StoreError> {
                let columns = "id, at, seller_id, kind, detail";
                let rows = match seller_id {
                    Some(seller) => {
                        let sql = D.sql(&format!(
                            "SELECT {columns} FROM {{events}} WHERE seller_id = $1 \
                             ORDER BY at DESC, id DESC LIMIT $2"
                        ));
                        sqlx::query(&sql)
                            .bind(to_i64(seller, "seller id")?)
                            .bind(i64::from(limit))
                            .fetch_all(&mut *conn)
                            .await
                    }
                    None => {
                        let sql = D.sql(&format!(
                            "SELECT {columns} FROM {{events}} ORDER BY at DESC, id DESC LIMIT $1"
                        ));
                        sqlx::query(&sql)
                            .bind(i64::from(limit))
                            .fetch_all(&mut *conn)
                            .await
                    }
                }
                .map_err(StoreError::query("read the account events"))?;
                rows.iter().map(event_from_row).collect()
            }

            pub(crate) async fn fingerprint(
                conn: &mut $conn,
            ) -> Result<Option<String>, StoreError> {
                let sql = D.sql("SELECT fingerprint FROM {key_check} WHERE id = 1");
                sqlx::query_scalar(&sql)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(StoreError::query("read the key fingerprint"))
            }

            /// Stores `fingerprint` when none is stored yet (`replace` overwrites it).
            pub(crate) async fn put_fingerprint(
                conn: &mut $conn,
                fingerprint: &str,
                replace: bool,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let conflict = if replace {
                    "DO UPDATE SET fingerprint = excluded.fingerprint, rotated_at = $2"
                } else {
                    "DO NOTHING"
                };
                let sql = D.sql(&format!(
                    "INSERT INTO {{key_check}} (id, fingerprint, created_at) VALUES (1, $1, $2) \
                     ON CONFLICT (id) {conflict}"
                ));
                sqlx::query(&sql)
                    .bind(fingerprint)
                    .bind(to_micros(now))
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::query("store the key fingerprint"))?;
                Ok(())
            }

            pub(crate) async fn insert_pending(
                conn: &mut $conn,
                pending: &PendingAuthorization,
            ) -> Result<(), StoreError> {
                let sql = D.sql(&format!(
                    "INSERT INTO {{pending}} ({PENDING_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)"
                ));
                sqlx::query(&sql)
                    .bind(&pending.state)
                    .bind(&pending.app_id)
                    .bind(&pending.site_id)
                    .bind(&pending.redirect_uri)
                    .bind(&pending.verifier.0)
                    .bind(to_micros(pending.created_at))
                    .bind(to_micros(pending.expires_at))
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::query("store the pending authorization"))?;
                Ok(())
            }

            pub(crate) async fn pending(
                conn: &mut $conn,
                lock: bool,
            ) -> Result<Vec<PendingAuthorization>, StoreError> {
                let lock = if lock { "{lock}" } else { "" };
                let sql = D.sql(&format!(
                    "SELECT {PENDING_COLUMNS} FROM {{pending}} ORDER BY created_at DESC{lock}"
                ));
                let rows = sqlx::query(&sql)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(StoreError::query("read the pending authorizations"))?;
                rows.iter().map(pending_from_row).collect()
            }

            pub(crate) async fn delete_pending(
                conn: &mut $conn,
                state: &str,
            ) -> Result<(), StoreError> {
                let sql = D.sql("DELETE FROM {pending} WHERE state = $1");
                sqlx::query(&sql)
                    .bind(state)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::query("remove a pending authorization"))?;
                Ok(())
            }

            pub(crate) async fn delete_expired_pending(
                conn: &mut $conn,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let sql = D.sql("DELETE FROM {pending} WHERE expires_at <= $1");
                sqlx::query(&sql)
                    .bind(to_micros(now))
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::query("remove expired pending authorizations"))?;
                Ok(())
            }

            pub(crate) async fn set_pending_verifier(
                conn: &mut $conn,
                state: &str,
                verifier: &Sealed,
            ) -> Result<(), StoreError> {
                let sql = D.sql("UPDATE {pending} SET verifier = $2 WHERE state = $1");
                sqlx::query(&sql)
                    .bind(state)
                    .bind(&verifier.0)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::query("re-encrypt a pending authorization"))?;
                Ok(())
            }
        }
    };
}

backend!(pg, sqlx::PgConnection, POSTGRES);
backend!(lite, sqlx::SqliteConnection, SQLITE);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_become_each_backends_sql() {
        let template = "SELECT 1 FROM {accounts} WHERE seller_id = $1{lock}";

        assert_eq!(
            POSTGRES.sql(template),
            "SELECT 1 FROM meli_stock.accounts WHERE seller_id = $1 FOR UPDATE"
        );
        assert_eq!(
            SQLITE.sql(template),
            "SELECT 1 FROM meli_stock_accounts WHERE seller_id = ?1"
        );
    }
}
