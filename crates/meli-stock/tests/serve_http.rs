//! The HTTP side of `serve` against the simulator: `/metrics` parses as Prometheus text and
//! its request counters equal the simulator's, the bearer token guards it, the JSON
//! endpoints show the ledger, and `/readyz` follows the database and the freshness of the
//! last success.

#![allow(clippy::unwrap_used)]

mod common;
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::TestDb;
use meli_api::Endpoint;
use meli_sim::SimHandle;
use meli_stock::accounts::{AccountSource, StoredAccounts};
use meli_stock::alerts::Alerter;
use meli_stock::config::Config;
use meli_stock::serve::{self, Parts, Running};
use meli_stock::store::{RunOutcome, Store};
use serde_json::Value;
use support::{eventually, get, parse_metrics, sample};

const SELLER: u64 = 2_506_482_242;
const TOKEN: &str = "metrics-bearer-token-for-tests";

async fn start(store: &Store, config: &Config) -> Running {
    let accounts: Arc<dyn AccountSource> =
        Arc::new(StoredAccounts::open(store, config).await.unwrap());
    let parts = Parts {
        config: config.clone(),
        store: store.clone(),
        accounts,
        alerter: Arc::new(Alerter::from_settings(store.clone(), &config.alerts).unwrap()),
        clock: Arc::new(serve::SystemClock),
        jitter: serve::schedule::fixed_jitter(Duration::ZERO),
        watch_every: Duration::from_millis(200),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve::start(parts, listener).await.unwrap()
}

async fn first_success(store: &Store) {
    eventually("a successful run", || {
        let store = store.clone();
        async move { store.last_success(SELLER).await.ok().flatten().map(|_| ()) }
    })
    .await;
}

/// The simulator's counts of the endpoints the client counts, token calls included.
fn sim_requests(sim: &SimHandle) -> BTreeMap<(String, String), f64> {
    let labels: Vec<&str> = Endpoint::ALL.iter().map(|e| e.label()).collect();
    sim.counters()
        .requests
        .into_iter()
        .filter(|((endpoint, _), _)| labels.contains(&endpoint.as_str()))
        .map(|((endpoint, status), n)| ((endpoint, status.to_string()), n as f64))
        .collect()
}

async fn metrics_parse_and_their_request_counters_equal_the_simulators(db: TestDb) {
    // Arrange: one run at start; a few 429s and 500s on the way
    let sim = support::simulator(300).await;
    support::prepare_inventory(&db.store, &sim).await;
    sim.faults()
        .for_endpoint("items")
        .rate_limit_next(2, Some(0));
    sim.faults()
        .for_endpoint("user_product_stock")
        .fail_next(1, 500);
    let config = support::config_for(&db, &sim, &[("MELI_STOCK_BEARER_TOKEN", TOKEN)]);

    // Act
    let running = start(&db.store, &config).await;
    first_success(&db.store).await;
    let address = running.address();
    let (denied, _) = get(address, "/metrics", None).await;
    let (wrong, _) = get(address, "/metrics", Some("nope")).await;
    let (status, text) = get(address, "/metrics", Some(TOKEN)).await;
    let (health, _) = get(address, "/healthz", None).await;
    let (ready, _) = get(address, "/readyz", None).await;
    let (_, runs) = get(address, "/api/runs?limit=5", Some(TOKEN)).await;
    let (_, accounts) = get(address, "/api/accounts", Some(TOKEN)).await;
    running.shutdown(Duration::from_secs(30)).await;

    // Assert: access
    assert_eq!(
        (denied, wrong, status, health, ready),
        (401, 401, 200, 200, 200)
    );

    // The request counters are the simulator's, key by key.
    let samples = parse_metrics(&text);
    let seller = SELLER.to_string();
    let ours: BTreeMap<(String, String), f64> = samples
        .iter()
        .filter(|s| s.name == "meli_stock_api_requests_total")
        .inspect(|s| assert_eq!(s.labels["seller_id"], seller))
        .map(|s| {
            let key = (s.labels["endpoint"].clone(), s.labels["status"].clone());
            (key, s.value)
        })
        .collect();
    assert_eq!(ours, sim_requests(&sim));
    assert_eq!(ours[&("items".to_owned(), "429".to_owned())], 2.0);
    let one = [("seller_id", seller.as_str())];
    let answered_429: f64 = ours
        .iter()
        .filter(|((_, status), _)| status == "429")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        sample(&samples, "meli_stock_api_rate_limited_total", &one),
        Some(answered_429)
    );
    let retries = sample(&samples, "meli_stock_api_retries_total", &one).unwrap();
    assert!(retries >= 3.0, "two 429s and a 500 were retried: {retries}");

    // The run figures are the ledger's.
    let run = db.store.last_success(SELLER).await.unwrap().unwrap();
    let outcome = |o: &str| {
        let labels = [("seller_id", seller.as_str()), ("outcome", o)];
        sample(&samples, "meli_stock_sync_runs_total", &labels)
    };
    assert_eq!(
        (outcome("success"), outcome("failed")),
        (Some(1.0), Some(0.0))
    );
    let duration = "meli_stock_sync_run_duration_seconds";
    assert_eq!(
        sample(&samples, &format!("{duration}_count"), &one),
        Some(1.0)
    );
    let inf = [("seller_id", seller.as_str()), ("le", "+Inf")];
    assert_eq!(
        sample(&samples, &format!("{duration}_bucket"), &inf),
        Some(1.0)
    );
    let unmatched = db.store.unmatched(SELLER).await.unwrap().len() as f64;
    assert!(unmatched > 0.0);
    assert_eq!(
        sample(&samples, "meli_stock_unmatched_listings", &one),
        Some(unmatched)
    );
    assert_eq!(
        sample(&samples, "meli_stock_rows_changed_total", &one),
        Some(run.rows_changed as f64)
    );
    let finished = run.finished_at.unwrap().timestamp_millis() as f64 / 1000.0;
    assert_eq!(
        sample(&samples, "meli_stock_last_success_timestamp_seconds", &one),
        Some(finished)
    );
    let expires_in = sample(&samples, "meli_stock_access_token_expires_in_seconds", &one);
    assert!(
        expires_in.is_some_and(|s| s > 0.0 && s <= 21_600.0),
        "{expires_in:?}"
    );
    assert!(
        samples
            .iter()
            .all(|s| !s.labels.values().any(|v| v.starts_with("MLC")))
    );

    // The JSON endpoints.
    let runs: Value = serde_json::from_str(&runs).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["id"], run.id.0);
    assert_eq!(runs[0]["outcome"], "success");
    let accounts: Value = serde_json::from_str(&accounts).unwrap();
    assert_eq!(accounts[0]["seller_id"], SELLER);
    assert_eq!(accounts[0]["last_success"]["id"], run.id.0);
    assert!(accounts[0]["tokens"]["access_token_expires_at"].is_string());
    assert!(
        !accounts
            .to_string()
            .contains(&sim.credentials().access_token)
    );
}

async fn readyz_turns_unready_when_the_last_success_goes_stale(db: TestDb) {
    // Arrange: stale after 2 seconds, next run in an hour
    let sim = support::simulator(100).await;
    support::prepare_inventory(&db.store, &sim).await;
    let config = support::config_for(&db, &sim, &[("MELI_STOCK_STALE_AFTER", "2s")]);

    // Act
    let running = start(&db.store, &config).await;
    let address = running.address();
    let fresh: Value = eventually("ready", || async move {
        let (status, body) = get(address, "/readyz", None).await;
        (status == 200).then(|| serde_json::from_str(&body).unwrap())
    })
    .await;
    let stale: Value = eventually("unready", || async move {
        let (status, body) = get(address, "/readyz", None).await;
        (status == 503).then(|| serde_json::from_str(&body).unwrap())
    })
    .await;
    running.shutdown(Duration::from_secs(30)).await;

    // Assert
    assert_eq!(fresh["sellers"][0]["fresh"], true);
    assert_eq!(stale["database"], "ok");
    assert_eq!(stale["sellers"][0]["fresh"], false);
    let runs = db.store.recent_runs(Some(SELLER), 5).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, RunOutcome::Success);
}

both_stores!(
    metrics_parse_and_their_request_counters_equal_the_simulators,
    readyz_turns_unready_when_the_last_success_goes_stale,
);

#[tokio::test]
async fn readyz_follows_postgres_going_away_and_coming_back() {
    // Arrange: the store reaches PostgreSQL through a proxy the test can cut
    let db = TestDb::postgres().await;
    let url = db.url().unwrap();
    let name = url.rsplit('/').next().unwrap().to_owned();
    let mut proxy = support::TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let proxied = format!("postgres://postgres@127.0.0.1:{}/{name}", proxy.port);
    let store = Store::connect(Some(&proxied), std::path::Path::new("unused.db"))
        .await
        .unwrap();
    let sim = support::simulator(100).await;
    support::prepare_inventory(&store, &sim).await;
    let config = support::config_for(&db, &sim, &[]);
    let running = start(&store, &config).await;
    let address = running.address();
    let status = |want: u16| async move {
        eventually(&format!("/readyz answering {want}"), || async move {
            let (status, body) = get(address, "/readyz", None).await;
            (status == want).then(|| serde_json::from_str::<Value>(&body).unwrap())
        })
        .await
    };

    // Act
    let before = status(200).await;
    proxy.stop().await;
    let away = status(503).await;
    proxy.restart().await;
    let back = status(200).await;
    running.shutdown(Duration::from_secs(30)).await;

    // Assert
    assert_eq!(before["database"], "ok");
    assert_eq!(away["database"], "unreachable");
    assert_eq!(away["ready"], false);
    assert_eq!(back["database"], "ok");
    assert_eq!(back["sellers"][0]["fresh"], true);
}
