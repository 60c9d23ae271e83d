//! Alert state, the liveness probe and the seller list on PostgreSQL.

use tracing::instrument;

use super::PgStore;
use crate::store::alert_state::AlertRow;
use crate::store::error::{StoreError, to_i64, to_u64};
use crate::store::rows::alert_from_row;
use crate::store::to_micros;

impl PgStore {
    #[instrument(skip(self), err)]
    pub(crate) async fn alert_states(
        &self,
        seller_id: Option<u64>,
    ) -> Result<Vec<AlertRow>, StoreError> {
        let seller = seller_id.map(|s| to_i64(s, "seller id")).transpose()?;
        let rows = sqlx::query(
            "SELECT seller_id, kind, active, since, notified_at, count, detail, version \
             FROM meli_stock.alert_state WHERE $1::int8 IS NULL OR seller_id = $1 \
             ORDER BY seller_id, kind",
        )
        .bind(seller)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("read meli_stock.alert_state"))?;

        rows.iter().map(alert_from_row).collect()
    }

    #[instrument(skip_all, fields(seller_id = row.seller_id, kind = %row.kind), err)]
    pub(crate) async fn save_alert_state(&self, row: &AlertRow) -> Result<bool, StoreError> {
        let seller = to_i64(row.seller_id, "seller id")?;
        let failed = || StoreError::query(format!("save alert {} of seller {seller}", row.kind));
        let done = if row.version == 0 {
            sqlx::query(
                "INSERT INTO meli_stock.alert_state \
                     (seller_id, kind, active, since, notified_at, count, detail, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 1) ON CONFLICT DO NOTHING",
            )
            .bind(seller)
            .bind(&row.kind)
            .bind(row.active)
            .bind(row.since.map(to_micros))
            .bind(row.notified_at.map(to_micros))
            .bind(row.count)
            .bind(row.detail.as_deref())
            .execute(&self.pool)
            .await
            .map_err(failed())?
        } else {
            sqlx::query(
                "UPDATE meli_stock.alert_state SET active = $3, since = $4, notified_at = $5, \
                     count = $6, detail = $7, version = version + 1, updated_at = now() \
                 WHERE seller_id = $1 AND kind = $2 AND version = $8",
            )
            .bind(seller)
            .bind(&row.kind)
            .bind(row.active)
            .bind(row.since.map(to_micros))
            .bind(row.notified_at.map(to_micros))
            .bind(row.count)
            .bind(row.detail.as_deref())
            .bind(row.version)
            .execute(&self.pool)
            .await
            .map_err(failed())?
        };
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("reach PostgreSQL"))?;
        Ok(())
    }

    #[instrument(skip(self), err)]
    pub(crate) async fn sellers_with_runs(&self) -> Result<Vec<u64>, StoreError> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT DISTINCT seller_id FROM meli_stock.runs ORDER BY 1")
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::query("read meli_stock.runs"))?;
        Ok(ids.into_iter().map(to_u64).collect())
    }
}
