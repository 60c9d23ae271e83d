//! A simulator with short-lived tokens, the settings of a meli-stock process pointed at it
//! and at a test database, the built binary, and probes of what the database holds.

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use meli_sim::{ListingKind, SimConfig, SimHandle};
use meli_stock::config::{Config, Sources};
use meli_stock::store::{AccountEvent, AccountRow, Store};
use meli_stock::tokens::{KeySource, TokenKey, Vault};
use sqlx::Row;

use crate::common::{TestDb, names};

/// The token key of every test.
pub const KEY: &str = "5f1e0c2d9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f302112030405";

/// ML's limits times this on the simulator: 1000 requests per second.
pub const SCALE: f64 = 200.0;

/// A simulator of `items` listings whose access tokens live `ttl`.
pub async fn spawn_sim(items: usize, ttl: Duration) -> SimHandle {
    let config = SimConfig {
        items,
        access_token_ttl: ttl,
        sibling_propagation_delay: Duration::ZERO,
        ..SimConfig::default()
    }
    .scaled_limits(SCALE);
    meli_sim::spawn(config).await.unwrap()
}

/// The settings of a meli-stock process syncing the simulator's seller into `db`, with
/// the simulator's current refresh token as `ML_REFRESH_TOKEN` when `with_token`.
pub fn settings(sim: &SimHandle, db: &TestDb, with_token: bool) -> Vec<(String, String)> {
    let credentials = sim.credentials();
    let mut vars = vec![
        ("ML_API_URL", sim.base_url().to_string()),
        ("ML_APP_ID", credentials.app_id.clone()),
        ("ML_SECRET", credentials.secret.clone()),
        ("ML_SELLER_ID", credentials.seller_id.to_string()),
        ("ML_REDIRECT_URI", credentials.redirect_uri.clone()),
        ("MELI_STOCK_KEY", KEY.to_owned()),
        ("MELI_STOCK_REQUESTS_PER_SECOND", "100".to_owned()),
        ("MELI_STOCK_STOCK_READS_PER_MINUTE", "6000".to_owned()),
        ("MELI_STOCK_CONCURRENCY", "4".to_owned()),
        ("MELI_STOCK_LOG_FORMAT", "text".to_owned()),
        ("MELI_STOCK_LOG", "debug".to_owned()),
    ];
    if with_token {
        vars.push(("ML_REFRESH_TOKEN", credentials.refresh_token.clone()));
    }
    match db.url() {
        Some(url) => vars.push(("DATABASE_URL", url)),
        None => vars.push((
            "MELI_STOCK_SQLITE_PATH",
            db.sqlite_path().display().to_string(),
        )),
    }
    vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Replaces (or adds) one setting.
pub fn set(vars: &mut Vec<(String, String)>, name: &str, value: &str) {
    vars.retain(|(k, _)| k != name);
    vars.push((name.to_owned(), value.to_owned()));
}

/// The [`Config`] a process with these settings would load.
pub fn config(vars: &[(String, String)]) -> Config {
    let env: HashMap<String, String> = vars.iter().cloned().collect();
    let lookup = move |name: &str| env.get(name).cloned();
    let sources = Sources::collect(None, &[], &lookup, &[]).unwrap();
    Config::from_sources(&sources).unwrap()
}

/// The vault of a store, with the test key.
pub async fn vault(store: &Store) -> Vault {
    let key = TokenKey::from_hex(KEY).unwrap();
    Vault::with_key(store, &key, KeySource::Setting)
        .await
        .unwrap()
}

/// Creates the inventory tables and a product for every listing of the seller.
pub async fn prepare_inventory(db: &TestDb, sim: &SimHandle) {
    db.store.init_inventory(&names()).await.unwrap();
    let layout = db.store.check_inventory(&names()).await.unwrap();
    let keys: Vec<String> = sim
        .catalogue()
        .listings
        .iter()
        .filter(|l| l.kind != ListingKind::Foreign)
        .map(|l| l.id.clone())
        .collect();
    db.store
        .insert_missing_products(&layout, &keys)
        .await
        .unwrap();
}

/// Runs the built binary with exactly these settings (nothing else from the environment)
/// in `dir`.
pub async fn run_cli(args: &[&str], vars: &[(String, String)], dir: &Path) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_meli-stock"))
        .args(args)
        .env_clear()
        .envs(vars.iter().cloned())
        .current_dir(dir)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap()
}

/// Exit code, stdout and stderr of a finished command, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The seller's stored account.
pub async fn account(store: &Store, sim: &SimHandle) -> AccountRow {
    store
        .account(sim.config().seller_id)
        .await
        .unwrap()
        .expect("the account is stored")
}

/// The seller's events of one kind, oldest first.
pub async fn events(store: &Store, kind: &str) -> Vec<AccountEvent> {
    let mut events: Vec<AccountEvent> = store
        .account_events(None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect();
    events.reverse();
    events
}

/// Token calls the simulator answered with `status`.
pub fn token_calls(sim: &SimHandle, status: u16) -> u64 {
    sim.counters().get("oauth_token", status)
}

/// Checks that the `refreshed` events form one chain: each refresh replaced the access
/// token the previous one issued, so no token was ever refreshed twice.
pub fn assert_one_chain(events: &[AccountEvent]) {
    let link = |e: &AccountEvent| {
        let detail = e.detail.clone().unwrap_or_default();
        let rest = detail.strip_prefix("access token ").unwrap().to_owned();
        let (old, rest) = rest.split_once(" replaced by ").unwrap();
        let new = rest.split(',').next().unwrap();
        (old.to_owned(), new.to_owned())
    };
    for pair in events.windows(2) {
        let (_, issued) = link(&pair[0]);
        let (replaced, _) = link(&pair[1]);
        assert_eq!(
            replaced, issued,
            "a refresh replaced a token other than the newest: {events:#?}"
        );
    }
}

/// Every value of every table, as text (blobs read lossily), plus `pg_dump` on PostgreSQL.
pub async fn everything_stored(db: &TestDb) -> String {
    let mut out = String::new();
    match &db.store {
        Store::Postgres(pg) => {
            let tables: Vec<(String, String)> = sqlx::query_as(
                "SELECT table_schema::text, table_name::text FROM information_schema.tables \
                 WHERE table_schema IN ('meli_stock', 'public') AND table_type = 'BASE TABLE'",
            )
            .fetch_all(pg.pool())
            .await
            .unwrap();
            for (schema, table) in tables {
                let sql = format!("SELECT t::text FROM \"{schema}\".\"{table}\" t");
                let rows: Vec<String> =
                    sqlx::query_scalar(&sql).fetch_all(pg.pool()).await.unwrap();
                out.push_str(&rows.join("\n"));
                out.push('\n');
            }
            let dump = std::process::Command::new("pg_dump")
                .args(["-h", "127.0.0.1", "-U", "postgres", "--data-only"])
                .arg(db.url().unwrap().rsplit('/').next().unwrap())
                .output()
                .expect("pg_dump is installed with PostgreSQL");
            assert!(dump.status.success(), "pg_dump failed");
            assert!(
                String::from_utf8_lossy(&dump.stdout).contains("meli_stock.accounts"),
                "the dump holds the accounts"
            );
            out.push_str(&String::from_utf8_lossy(&dump.stdout));
        }
        Store::Sqlite(lite) => {
            let tables: Vec<String> =
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .fetch_all(lite.pool())
                    .await
                    .unwrap();
            for table in tables {
                let rows = sqlx::query(&format!("SELECT * FROM \"{table}\""))
                    .fetch_all(lite.pool())
                    .await
                    .unwrap();
                for row in rows {
                    for i in 0..row.len() {
                        if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                            out.push_str(&text);
                        } else if let Ok(Some(bytes)) = row.try_get::<Option<Vec<u8>>, _>(i) {
                            out.push_str(&String::from_utf8_lossy(&bytes));
                        }
                        out.push('\t');
                    }
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// Fails when `text` holds anything shaped like an ML token or one of `tokens`.
pub fn assert_no_tokens(text: &str, tokens: &[String], what: &str) {
    for prefix in ["APP_USR-", "TG-"] {
        assert!(!text.contains(prefix), "{what} holds a token ({prefix}...)");
    }
    for token in tokens.iter().filter(|t| !t.is_empty()) {
        assert!(!text.contains(token.as_str()), "{what} holds a token");
    }
}
