//! Fresh PostgreSQL databases for the runs: created on the server of `--database-url`,
//! filled with the inventory tables and one product per listing, dropped afterwards.

use anyhow::{Context, Result};
use meli_stock::store::{InventoryLayout, InventoryNames, Store};
use sqlx::{Connection, PgConnection};
use tracing::{info, warn};

/// One database of the benchmark, with meli-stock's migrations applied.
pub struct BenchDb {
    /// Server URL of the maintenance database, used to drop this one.
    admin_url: String,
    /// `meli_bench_<purpose>_<random>`.
    pub name: String,
    /// URL of this database (the child's `DATABASE_URL`).
    pub url: String,
    pub store: Store,
    pub layout: InventoryLayout,
}

impl BenchDb {
    /// Creates `meli_bench_<purpose>_<random>` on the server of `admin_url`, migrates it and
    /// creates the inventory tables with their default names.
    ///
    /// # Errors
    /// The server cannot be reached, refuses `CREATE DATABASE`, or the setup fails.
    pub async fn create(admin_url: &str, purpose: &str) -> Result<BenchDb> {
        let name = format!(
            "meli_bench_{purpose}_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let mut admin = PgConnection::connect(admin_url).await.with_context(|| {
            format!(
                "failed to connect to PostgreSQL at {} (start it with \
                 scripts/ensure-postgres.sh, or pass --database-url)",
                redacted(admin_url)
            )
        })?;
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .with_context(|| format!("failed to create database {name}"))?;
        admin.close().await.ok();

        let url = database_url(admin_url, &name)?;
        let store = Store::connect(Some(&url), std::path::Path::new("unused.db"))
            .await
            .with_context(|| format!("failed to open database {name}"))?;
        let names = InventoryNames::default();
        store
            .init_inventory(&names)
            .await
            .with_context(|| format!("failed to create the inventory tables in {name}"))?;
        let layout = store
            .check_inventory(&names)
            .await
            .with_context(|| format!("the inventory tables of {name} do not check out"))?;

        info!(database = %name, "benchmark database created");
        Ok(BenchDb {
            admin_url: admin_url.to_owned(),
            name,
            url,
            store,
            layout,
        })
    }

    /// Inserts one ML product per item id; returns how many were added.
    ///
    /// # Errors
    /// The insert fails.
    pub async fn add_products(&self, item_ids: &[String]) -> Result<u64> {
        self.store
            .insert_missing_products(&self.layout, item_ids)
            .await
            .with_context(|| format!("failed to insert products into {}", self.name))
    }

    /// Removes every stored seller account, as `meli-stock accounts remove` does: a new
    /// simulator issues tokens of its own, which the next run then imports on first use.
    ///
    /// # Errors
    /// The delete fails.
    pub async fn forget_accounts(&self) -> Result<()> {
        let mut conn = PgConnection::connect(&self.url).await?;
        sqlx::query("DELETE FROM meli_stock.accounts")
            .execute(&mut conn)
            .await
            .context("failed to remove the stored accounts")?;
        conn.close().await.ok();
        Ok(())
    }

    /// Rows of the ML warehouse in `warehouse_stock`.
    ///
    /// # Errors
    /// The query fails.
    pub async fn stock_rows(&self) -> Result<u64> {
        let mut conn = PgConnection::connect(&self.url).await?;
        let rows: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM warehouse_stock ws JOIN warehouses w ON w.id = ws.warehouse_id \
             WHERE w.code = 'mercadolibre'",
        )
        .fetch_one(&mut conn)
        .await
        .context("failed to count warehouse_stock rows")?;
        conn.close().await.ok();
        Ok(rows.max(0) as u64)
    }

    /// Closes the pool and drops the database; failures are logged, not returned.
    pub async fn drop_database(self) {
        self.store.close().await;
        let dropped = async {
            let mut admin = PgConnection::connect(&self.admin_url).await?;
            sqlx::raw_sql(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin)
            .await?;
            admin.close().await
        };
        if let Err(e) = dropped.await {
            warn!(database = %self.name, error = %e, "failed to drop a benchmark database");
        }
    }
}

/// The server's version string, for the machine section of the report.
///
/// # Errors
/// The server cannot be reached.
pub async fn server_version(admin_url: &str) -> Result<String> {
    let mut admin = PgConnection::connect(admin_url)
        .await
        .with_context(|| format!("failed to connect to {}", redacted(admin_url)))?;
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut admin)
        .await
        .context("failed to read the server version")?;
    admin.close().await.ok();
    Ok(version)
}

/// `admin_url` with its database replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> Result<String> {
    let mut url = url_of(admin_url)?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

fn url_of(raw: &str) -> Result<url::Url> {
    url::Url::parse(raw).with_context(|| format!("--database-url {} is not a URL", redacted(raw)))
}

/// A URL safe to print: its password masked.
pub fn redacted(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("****"));
            }
            url.to_string()
        }
        Err(_) => "(unparseable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn database_url_swaps_only_the_database() {
        let url = database_url("postgres://postgres:pw@127.0.0.1:5432/postgres", "b1").unwrap();

        assert_eq!(url, "postgres://postgres:pw@127.0.0.1:5432/b1");
    }

    #[test]
    fn redacted_masks_the_password() {
        assert_eq!(
            redacted("postgres://u:secret@h/db"),
            "postgres://u:****@h/db"
        );
    }
}
