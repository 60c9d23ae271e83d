//! Queries of the `accounts` table, instantiated per backend by `account_fns!`.

/// Functions on `$conn` over the accounts table; `D` (the backend's [`super::Dialect`]) and
/// the imports of the invoking module are in scope.
macro_rules! account_fns {
    ($conn:ty) => {
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
    };
}
