//! Queries of the account events, the key fingerprint and the pending authorizations,
//! instantiated per backend by `log_fns!`.

/// Functions on `$conn` over the event, key and pending tables; `D` (the backend's
/// [`super::Dialect`]) and the imports of the invoking module are in scope.
macro_rules! log_fns {
    ($conn:ty) => {
        pub(crate) async fn add_event(
            conn: &mut $conn,
            seller_id: u64,
            kind: &str,
            detail: Option<&str>,
            at: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            let sql =
                D.sql("INSERT INTO {events} (at, seller_id, kind, detail) VALUES ($1, $2, $3, $4)");
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

        pub(crate) async fn fingerprint(conn: &mut $conn) -> Result<Option<String>, StoreError> {
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
    };
}
