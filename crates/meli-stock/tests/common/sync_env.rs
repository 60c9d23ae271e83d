//! A simulator, a test database with the inventory tables, and settings pointing one at the
//! other: everything a sync test needs, plus the oracle it checks against.
//!
//! The expected quantities come from the simulator's own model ([`SimHandle::expected_totals`],
//! [`SimHandle::catalogue`]), never from meli-stock's code.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::Utc;
use meli_sim::{ListingKind, SimConfig, SimHandle};
use meli_stock::config::{Config, Sources};
use meli_stock::error::Failure;
use meli_stock::progress::Progress;
use meli_stock::store::{InventoryLayout, RunRecord};
use meli_stock::sync::{self, SyncOptions, SyncReport};
use secrecy::SecretString;

use super::TestDb;

/// A client holding `sim`'s current tokens in memory.
pub fn client_for(sim: &SimHandle, config: &Config) -> meli_api::MeliClient {
    let credentials = sim.credentials();
    let client_config = config.ml.client_config();
    let oauth = meli_api::OAuthClient::new(
        &client_config,
        credentials.app_id,
        SecretString::from(credentials.secret),
    )
    .unwrap();
    let tokens = meli_api::TokenSet {
        access_token: SecretString::from(credentials.access_token),
        refresh_token: Some(SecretString::from(credentials.refresh_token)),
        expires_at: Utc::now() + chrono::Duration::hours(1),
        user_id: credentials.seller_id,
        scope: None,
    };
    let provider = meli_api::InMemoryTokenProvider::new(oauth, tokens);
    meli_api::MeliClient::new(client_config, Arc::new(provider)).unwrap()
}

/// The token key every test deployment uses (32 bytes as hex); PostgreSQL refuses to store
/// tokens without one.
pub const TEST_KEY: &str = "8f1c2e3d4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// Limits far above ML's, for tests that are about numbers, not pacing.
pub const FAST: f64 = 1000.0;

/// A simulator and a database wired together.
pub struct SyncEnv {
    pub sim: SimHandle,
    pub db: TestDb,
    pub layout: InventoryLayout,
    /// Extra settings (environment names) applied to every config this env builds.
    pub settings: Vec<(String, String)>,
}

impl SyncEnv {
    /// A simulator of `items` listings at ML's limits times `scale`, and the inventory
    /// tables created by `db init` in `db`.
    pub async fn new(db: TestDb, items: usize, scale: f64) -> SyncEnv {
        let config = SimConfig {
            items,
            ..SimConfig::default()
        }
        .scaled_limits(scale);
        Self::with_sim(db, config).await
    }

    /// Like [`SyncEnv::new`] with a simulator configured by the caller.
    pub async fn with_sim(db: TestDb, config: SimConfig) -> SyncEnv {
        db.store.init_inventory(&super::names()).await.unwrap();
        Self::on_existing_tables(db, config).await
    }

    /// Uses already created inventory tables (a seller schema of the test's choosing).
    pub async fn on_existing_tables(db: TestDb, config: SimConfig) -> SyncEnv {
        let sim = meli_sim::spawn(config).await.unwrap();
        let layout = db.store.check_inventory(&super::names()).await.unwrap();
        SyncEnv {
            sim,
            db,
            layout,
            settings: vec![("MELI_STOCK_STOCK_READ_BUDGET".into(), "all".into())],
        }
    }

    /// Adds or replaces one setting for the configs built from now on.
    pub fn set(&mut self, name: &str, value: &str) {
        self.settings.retain(|(n, _)| n != name);
        self.settings.push((name.to_owned(), value.to_owned()));
    }

    /// The environment a real deployment would have: the simulator's URL and credentials,
    /// its limits, the database, plus [`SyncEnv::settings`].
    pub fn env(&self) -> Vec<(String, String)> {
        let credentials = self.sim.credentials();
        let sim = self.sim.config();
        let mut env: Vec<(String, String)> = vec![
            ("ML_API_URL".into(), self.sim.base_url().to_string()),
            ("ML_APP_ID".into(), credentials.app_id),
            ("ML_SECRET".into(), credentials.secret),
            ("ML_SELLER_ID".into(), credentials.seller_id.to_string()),
            ("ML_ACCESS_TOKEN".into(), credentials.access_token),
            ("ML_REFRESH_TOKEN".into(), credentials.refresh_token),
            ("MELI_STOCK_REQUESTS_PER_SECOND".into(), sim.rps.to_string()),
            (
                "MELI_STOCK_STOCK_READS_PER_MINUTE".into(),
                sim.user_product_stock_rpm.to_string(),
            ),
            (
                "MELI_STOCK_SQLITE_PATH".into(),
                self.db.sqlite_path().display().to_string(),
            ),
            ("MELI_STOCK_KEY".into(), TEST_KEY.into()),
        ];
        if let Some(url) = self.db.url() {
            env.push(("DATABASE_URL".into(), url));
        }
        for (name, value) in &self.settings {
            env.retain(|(n, _)| n != name);
            env.push((name.clone(), value.clone()));
        }
        env
    }

    /// The settings meli-stock would load from [`SyncEnv::env`].
    pub fn config(&self) -> Config {
        let env: HashMap<String, String> = self.env().into_iter().collect();
        let lookup = move |name: &str| env.get(name).cloned();
        let sources = Sources::collect(None, &[], &lookup, &[]).unwrap();
        Config::from_sources(&sources).unwrap()
    }

    /// A client holding the simulator's current tokens in memory.
    pub fn client(&self, config: &Config) -> meli_api::MeliClient {
        client_for(&self.sim, config)
    }

    /// The settings of a second seller, on simulator `other`, sharing this env's database.
    pub fn config_for(&self, other: &SimHandle) -> Config {
        let credentials = other.credentials();
        let mut env: HashMap<String, String> = self.env().into_iter().collect();
        env.insert("ML_API_URL".into(), other.base_url().to_string());
        env.insert("ML_APP_ID".into(), credentials.app_id);
        env.insert("ML_SECRET".into(), credentials.secret);
        env.insert("ML_SELLER_ID".into(), credentials.seller_id.to_string());
        let lookup = move |name: &str| env.get(name).cloned();
        let sources = Sources::collect(None, &[], &lookup, &[]).unwrap();
        Config::from_sources(&sources).unwrap()
    }

    /// One sync with the env's settings and a fresh client.
    pub async fn sync(&self, options: SyncOptions) -> Result<SyncReport, Failure> {
        let config = self.config();
        let client = self.client(&config);
        sync::run(
            &self.db.store,
            &client,
            &config,
            &options,
            &Progress::hidden(),
        )
        .await
    }

    /// A successful plain run.
    pub async fn sync_ok(&self) -> SyncReport {
        match self.sync(SyncOptions::default()).await {
            Ok(report) => report,
            Err(failure) => panic!("sync failed: {failure}"),
        }
    }

    /// The seller's listings (the simulator's view), foreign ones left out.
    pub fn listings(&self) -> Vec<meli_sim::CatalogueListing> {
        self.sim
            .catalogue()
            .listings
            .into_iter()
            .filter(|l| l.kind != ListingKind::Foreign)
            .collect()
    }

    /// Adds a product for every item id in `keys`.
    pub async fn add_products(&self, keys: &[String]) {
        self.db
            .store
            .insert_missing_products(&self.layout, keys)
            .await
            .unwrap();
    }

    /// Products for every listing of the seller, keyed by item id; returns the keys.
    pub async fn add_products_for_all_items(&self) -> Vec<String> {
        let keys: Vec<String> = self.listings().into_iter().map(|l| l.id).collect();
        self.add_products(&keys).await;
        keys
    }

    /// What the ML warehouse holds now, by the products' match key.
    pub async fn quantities_by_key(&self) -> BTreeMap<String, i64> {
        self.db
            .pairs(
                "SELECT CAST(p.external_id AS TEXT), CAST(ws.quantity AS BIGINT) \
                 FROM warehouse_stock ws JOIN warehouses w ON w.id = ws.warehouse_id \
                 JOIN products p ON p.id = ws.product_id WHERE w.code = 'mercadolibre'",
            )
            .await
            .into_iter()
            .collect()
    }

    /// What each item's product must hold according to the simulator: the stock ML holds
    /// for the item, 0 for closed listings.
    pub fn expected_by_item(&self) -> BTreeMap<String, i64> {
        let totals = self.sim.expected_totals();
        self.listings()
            .into_iter()
            .map(|l| {
                let quantity = if l.status == "closed" {
                    0
                } else {
                    totals[&l.id]
                };
                (l.id, quantity)
            })
            .collect()
    }

    /// Every row of the tables a failed or dry run must leave alone, as text, for
    /// before/after comparisons.
    pub async fn snapshot(&self) -> Vec<Vec<Vec<Option<String>>>> {
        let mut out = vec![
            self.db
                .texts(
                    "SELECT CAST(warehouse_id AS TEXT), CAST(product_id AS TEXT), \
                     CAST(quantity AS TEXT), CAST(last_updated AS TEXT), updated_by \
                     FROM warehouse_stock ORDER BY 1, 2",
                )
                .await,
        ];
        for (table, order) in [
            ("stock_changes", "id"),
            ("item_map", "item_id, variation_id"),
            ("user_products", "user_product_id"),
            ("user_product_stock", "user_product_id, location_key"),
            ("unmatched_items", "item_id, variation_id"),
        ] {
            let columns = self.text_columns(table).await;
            let sql = format!(
                "SELECT {columns} FROM {} ORDER BY {order}",
                self.db.state_table(table)
            );
            out.push(self.db.texts(&sql).await);
        }
        out
    }

    async fn text_columns(&self, table: &str) -> String {
        let sql = if self.db.is_postgres() {
            format!(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = 'meli_stock' AND table_name = '{table}' \
                 ORDER BY ordinal_position"
            )
        } else {
            format!(
                "SELECT name FROM pragma_table_info('{}') ORDER BY cid",
                self.db.state_table(table)
            )
        };
        self.db
            .texts(&sql)
            .await
            .into_iter()
            .map(|r| format!("CAST({} AS TEXT)", r[0].clone().unwrap()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The runs recorded so far, newest first.
    pub async fn runs(&self) -> Vec<RunRecord> {
        self.db.store.recent_runs(None, 100).await.unwrap()
    }
}
