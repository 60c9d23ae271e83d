//! The SQL of the account and alert tables, written once for both backends.
//!
//! The tables have the same columns on PostgreSQL (schema `meli_stock`) and SQLite
//! (`meli_stock_*`), so each query is one template: `{accounts}`, `{events}`, `{pending}`,
//! `{key_check}`, `{alert_state}` and `{runs}` become the backend's table names, `$n`
//! becomes `?n` on SQLite, `{now}` the backend's current time, and `{lock}` becomes
//! `FOR UPDATE` on PostgreSQL (SQLite locks the whole file with `BEGIN IMMEDIATE`
//! instead). The macros of `accounts`, `log` and `alerts` write the functions once; `pg`
//! and `lite` instantiate them for each connection type, and sqlx decodes the same Rust
//! types from either database.

#[macro_use]
mod accounts;
#[macro_use]
mod alerts;
#[macro_use]
mod log;

use super::model::{AccountEvent, AccountRow, PendingAuthorization, Sealed};
use crate::store::error::{StoreError, to_u64};
use crate::store::rows::{StateRow, get, parsed};

/// Table names, placeholders and row locks of one backend.
pub(crate) struct Dialect {
    prefix: &'static str,
    lock: &'static str,
    now: &'static str,
    sqlite: bool,
}

pub(crate) const POSTGRES: Dialect = Dialect {
    prefix: "meli_stock.",
    lock: " FOR UPDATE",
    now: "now()",
    sqlite: false,
};

pub(crate) const SQLITE: Dialect = Dialect {
    prefix: "meli_stock_",
    lock: "",
    now: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
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
            .replace("{alert_state}", &format!("{}alert_state", self.prefix))
            .replace("{runs}", &format!("{}runs", self.prefix))
            .replace("{now}", self.now)
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

pub(crate) fn account_from_row(row: &impl StateRow) -> Result<AccountRow, StoreError> {
    let status = parsed(row, "status")?;
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

pub(crate) fn event_from_row(row: &impl StateRow) -> Result<AccountEvent, StoreError> {
    Ok(AccountEvent {
        id: get(row, "id")?,
        at: get(row, "at")?,
        seller_id: to_u64(get(row, "seller_id")?),
        kind: get(row, "kind")?,
        detail: get(row, "detail")?,
    })
}

pub(crate) fn pending_from_row(row: &impl StateRow) -> Result<PendingAuthorization, StoreError> {
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

/// The query functions on a PostgreSQL connection (pooled or in a transaction).
pub(crate) mod pg {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::store::accounts::model::{AccountStatus, TokenWrite};
    use crate::store::alert_state::AlertRow;
    use crate::store::error::to_i64;
    use crate::store::rows::alert_from_row;
    use crate::store::to_micros;

    const D: Dialect = POSTGRES;

    account_fns!(sqlx::PgConnection);
    log_fns!(sqlx::PgConnection);
    alert_fns!(sqlx::PgConnection);
}

/// The query functions on a SQLite connection (pooled or in a transaction).
pub(crate) mod lite {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::store::accounts::model::{AccountStatus, TokenWrite};
    use crate::store::alert_state::AlertRow;
    use crate::store::error::to_i64;
    use crate::store::rows::alert_from_row;
    use crate::store::to_micros;

    const D: Dialect = SQLITE;

    account_fns!(sqlx::SqliteConnection);
    log_fns!(sqlx::SqliteConnection);
    alert_fns!(sqlx::SqliteConnection);
}

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
