//! Queries of the alert state and the run ledger's seller list, instantiated per backend by
//! `alert_fns!`.

/// Functions on `$conn` over the alert-state and runs tables; `D` (the backend's
/// [`super::Dialect`]) and the imports of the invoking module are in scope.
macro_rules! alert_fns {
    ($conn:ty) => {
        pub(crate) async fn alert_states(
            conn: &mut $conn,
            seller_id: Option<u64>,
        ) -> Result<Vec<AlertRow>, StoreError> {
            let seller = seller_id.map(|s| to_i64(s, "seller id")).transpose()?;
            let sql = D.sql(
                "SELECT seller_id, kind, active, since, notified_at, count, detail, version \
                 FROM {alert_state} WHERE $1 IS NULL OR seller_id = $1 ORDER BY seller_id, kind",
            );
            let rows = sqlx::query(&sql)
                .bind(seller)
                .fetch_all(&mut *conn)
                .await
                .map_err(StoreError::query("read the alert state"))?;
            rows.iter().map(alert_from_row).collect()
        }

        /// Inserts a row never stored (`version` 0), or updates the stored one while its
        /// version is still `row.version`; returns whether either happened.
        pub(crate) async fn save_alert_state(
            conn: &mut $conn,
            row: &AlertRow,
        ) -> Result<bool, StoreError> {
            let seller = to_i64(row.seller_id, "seller id")?;
            let sql = if row.version == 0 {
                D.sql(
                    "INSERT INTO {alert_state} \
                         (seller_id, kind, active, since, notified_at, count, detail, version) \
                     SELECT $1, $2, $3, $4, $5, $6, $7, 1 WHERE $8 = 0 ON CONFLICT DO NOTHING",
                )
            } else {
                D.sql(
                    "UPDATE {alert_state} SET active = $3, since = $4, notified_at = $5, \
                         count = $6, detail = $7, version = version + 1, updated_at = {now} \
                     WHERE seller_id = $1 AND kind = $2 AND version = $8",
                )
            };
            let done = sqlx::query(&sql)
                .bind(seller)
                .bind(&row.kind)
                .bind(row.active)
                .bind(row.since.map(to_micros))
                .bind(row.notified_at.map(to_micros))
                .bind(row.count)
                .bind(row.detail.as_deref())
                .bind(row.version)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::query(format!(
                    "save alert {} of seller {seller}",
                    row.kind
                )))?;
            Ok(done.rows_affected() == 1)
        }

        pub(crate) async fn sellers_with_runs(conn: &mut $conn) -> Result<Vec<u64>, StoreError> {
            let sql = D.sql("SELECT DISTINCT seller_id FROM {runs} ORDER BY 1");
            let ids: Vec<i64> = sqlx::query_scalar(&sql)
                .fetch_all(&mut *conn)
                .await
                .map_err(StoreError::query("read the sellers of the run ledger"))?;
            Ok(ids.into_iter().map(to_u64).collect())
        }
    };
}
