//! Test doubles at the network boundary for the `serve` tests: a webhook receiver (axum on
//! port 0), an SMTP sink speaking just enough SMTP to record messages, a TCP proxy that can
//! cut a database off and bring it back, a parser of the Prometheus text format, and helpers
//! that point settings at a simulator.

#![allow(dead_code, unused_imports, clippy::unwrap_used)]

mod prom;
mod proxy;
mod sinks;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use meli_sim::{ListingKind, SimConfig, SimHandle};
use meli_stock::config::{Config, Sources};
use meli_stock::store::Store;

pub use prom::{Sample, parse_metrics, sample};
pub use proxy::TcpProxy;
pub use sinks::{Mail, SmtpSink, WebhookSink};

use crate::common::TestDb;

/// Longest wait for something a test expects to happen.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `probe` every 50 ms until it returns `Some`, failing the test after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A simulator with ML's limits scaled up, so a run takes well under a second.
pub async fn simulator(items: usize) -> SimHandle {
    let config = SimConfig {
        items,
        ..SimConfig::default()
    }
    .scaled_limits(200.0);
    meli_sim::spawn(config).await.unwrap()
}

/// Settings pointing at `sim` and `db`, plus `extra` variables (they win).
pub fn config_for(db: &TestDb, sim: &SimHandle, extra: &[(&str, &str)]) -> Config {
    let env = env_for(db, sim, extra);
    let lookup = move |name: &str| env.get(name).cloned();
    let sources = Sources::collect(None, &[], &lookup, &[]).unwrap();
    Config::from_sources(&sources).unwrap()
}

/// The variables `config_for` uses, for a child process.
pub fn env_for(db: &TestDb, sim: &SimHandle, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let c = sim.credentials();
    let s = sim.config();
    let mut env: HashMap<String, String> = HashMap::from([
        ("ML_API_URL".into(), sim.base_url().to_string()),
        ("ML_APP_ID".into(), c.app_id.clone()),
        ("ML_SECRET".into(), c.secret.clone()),
        ("ML_SELLER_ID".into(), c.seller_id.to_string()),
        ("ML_ACCESS_TOKEN".into(), c.access_token.clone()),
        ("ML_REFRESH_TOKEN".into(), c.refresh_token.clone()),
        ("MELI_STOCK_REQUESTS_PER_SECOND".into(), s.rps.to_string()),
        (
            "MELI_STOCK_STOCK_READS_PER_MINUTE".into(),
            s.user_product_stock_rpm.to_string(),
        ),
        ("MELI_STOCK_CONCURRENCY".into(), "16".into()),
        ("MELI_STOCK_STOCK_READ_BUDGET".into(), "all".into()),
        ("MELI_STOCK_JITTER".into(), "0s".into()),
        ("MELI_STOCK_LISTEN".into(), "127.0.0.1:0".into()),
        (
            "MELI_STOCK_KEY".into(),
            crate::common::sync_env::TEST_KEY.into(),
        ),
        (
            "MELI_STOCK_SQLITE_PATH".into(),
            db.sqlite_path().display().to_string(),
        ),
    ]);
    if let Some(url) = db.url() {
        env.insert("DATABASE_URL".into(), url);
    }
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    env
}

/// Creates the inventory tables and one product per listing of the seller, except every
/// tenth, which stays unmatched. Returns the number of products.
pub async fn prepare_inventory(store: &Store, sim: &SimHandle) -> u64 {
    let names = meli_stock::store::InventoryNames::default();
    store.init_inventory(&names).await.unwrap();
    let layout = store.check_inventory(&names).await.unwrap();
    let keys = meli_stock::demo::product_keys(sim, 10);
    store.insert_missing_products(&layout, &keys).await.unwrap()
}

/// `GET http://address/path` with an optional bearer token: (status, body).
pub async fn get(address: SocketAddr, path: &str, bearer: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(format!("http://{address}{path}"));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}
