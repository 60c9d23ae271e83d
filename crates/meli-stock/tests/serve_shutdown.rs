//! Stopping `serve`: the built binary gets SIGTERM while a sync runs (against an in-process
//! simulator made slow), and the database is left consistent: the run either finishes
//! within the deadline or is rolled back and recorded as cancelled, and the seller's lock is
//! free either way. Then a stop that lands inside the write transaction, in-process.

#![allow(clippy::unwrap_used)]

mod common;
mod support;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestDb;
use meli_sim::SimHandle;
use meli_stock::accounts::{AccountSource, StoredAccounts};
use meli_stock::progress::Progress;
use meli_stock::store::RunOutcome;
use meli_stock::sync::{self, CANCELLED, SyncOptions};
use sqlx::{Connection, PgConnection};
use support::{PATIENCE, eventually};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SELLER: u64 = 2_506_482_242;

/// `meli-stock serve` as a child process with JSON logs collected from stderr.
struct Served {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

async fn serve(db: &TestDb, sim: &SimHandle, deadline: &str) -> Served {
    let mut env = support::env_for(
        db,
        sim,
        &[
            ("MELI_STOCK_LOG_FORMAT", "json"),
            ("MELI_STOCK_SHUTDOWN_DEADLINE", deadline),
        ],
    );
    env.insert("MELI_STOCK_LOG".into(), "info".into());
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_meli-stock"))
        .arg("serve")
        .env_clear()
        .envs(&env)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let logs: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let sink = logs.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    Served {
        child,
        logs,
        _dir: dir,
    }
}

impl Served {
    async fn wait_for_a_running_sync(&self, db: &TestDb) {
        let store = db.store.clone();
        eventually("a sync in progress", || {
            let store = store.clone();
            async move {
                let runs = store.recent_runs(Some(SELLER), 5).await.unwrap();
                runs.iter()
                    .any(|r| r.outcome == RunOutcome::Running)
                    .then_some(())
            }
        })
        .await;
    }

    async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().unwrap().to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(killed.success());
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("serve exits after SIGTERM")
            .unwrap()
    }

    /// Every log line, each checked to be one JSON object.
    fn logs(&self) -> Vec<serde_json::Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

fn has_message(logs: &[serde_json::Value], text: &str) -> bool {
    logs.iter()
        .any(|l| l["message"].as_str().is_some_and(|m| m.contains(text)))
}

fn assert_no_secrets(served: &Served, sim: &SimHandle) {
    let all = served.logs.lock().unwrap().join("\n");
    let c = sim.credentials();
    for secret in [&c.secret, &c.access_token, &c.refresh_token] {
        assert!(!all.contains(secret.as_str()), "a secret reached the logs");
    }
}

async fn lock_is_free(db: &TestDb) {
    let lock = db.store.try_lock_seller(SELLER).await.unwrap();
    lock.expect("the seller lock was released")
        .release()
        .await
        .unwrap();
}

async fn sigterm_past_the_deadline_rolls_the_run_back_and_records_it(db: TestDb) {
    // Arrange: multigets take 3 s each, the deadline is zero
    let sim = support::simulator(300).await;
    support::prepare_inventory(&db.store, &sim).await;
    sim.faults()
        .for_endpoint("items")
        .set_latency(Duration::from_secs(3), Duration::ZERO);
    let mut served = serve(&db, &sim, "0s").await;
    served.wait_for_a_running_sync(&db).await;

    // Act
    let status = served.terminate().await;

    // Assert: a clean exit, the run recorded as cancelled, nothing written, lock free
    assert!(status.success(), "{status:?}");
    let runs = db.store.recent_runs(Some(SELLER), 5).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, RunOutcome::Failed);
    assert_eq!(runs[0].error.as_deref(), Some(CANCELLED));
    assert!(runs[0].finished_at.is_some());
    assert!(db.ml_quantities().await.is_empty());
    for table in ["item_map", "stock_changes", "user_products"] {
        let sql = format!("SELECT COUNT(*) FROM {}", db.state_table(table));
        assert_eq!(db.scalar(&sql).await, 0, "{table} is empty");
    }
    lock_is_free(&db).await;
    let logs = served.logs();
    assert!(has_message(&logs, "stop requested"));
    assert!(has_message(&logs, "shutdown deadline passed"));
    assert!(has_message(&logs, "serve stopped"));
    assert_no_secrets(&served, &sim);
}

async fn sigterm_within_the_deadline_lets_the_run_finish(db: TestDb) {
    // Arrange: a run of a few seconds, a generous deadline
    let sim = support::simulator(300).await;
    let products = support::prepare_inventory(&db.store, &sim).await;
    sim.faults()
        .for_endpoint("items")
        .set_latency(Duration::from_millis(300), Duration::ZERO);
    let mut served = serve(&db, &sim, "120s").await;
    served.wait_for_a_running_sync(&db).await;

    // Act
    let status = served.terminate().await;

    // Assert: the run finished and wrote every matched product; no second run started
    assert!(status.success(), "{status:?}");
    let runs = db.store.recent_runs(Some(SELLER), 5).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, RunOutcome::Success, "{:?}", runs[0].error);
    assert_eq!(db.ml_quantities().await.len() as u64, products);
    assert_eq!(runs[0].rows_written, products);
    lock_is_free(&db).await;
    let logs = served.logs();
    let finished: Vec<_> = logs
        .iter()
        .filter(|l| l["message"] == "sync run finished")
        .collect();
    assert_eq!(finished.len(), 1, "one INFO line per run");
    assert_eq!(finished[0]["level"], "INFO");
    assert_eq!(finished[0]["rows_written"], products);
    assert!(!has_message(&logs, "shutdown deadline passed"));
    assert_no_secrets(&served, &sim);
}

both_stores!(
    sigterm_past_the_deadline_rolls_the_run_back_and_records_it,
    sigterm_within_the_deadline_lets_the_run_finish,
);

/// Backends of this database that are waiting on a lock.
async fn waiting_on_a_lock(admin: &sqlx::PgPool, database: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity \
         WHERE datname = $1 AND application_name = 'meli-stock' AND wait_event_type = 'Lock'",
    )
    .bind(database)
    .fetch_one(admin)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_stop_inside_the_write_transaction_rolls_all_of_it_back() {
    // Arrange: another session holds the ledger table, so the write blocks halfway
    let db = TestDb::postgres().await;
    let url = db.url().unwrap();
    let database = url.rsplit('/').next().unwrap().to_owned();
    let sim = support::simulator(200).await;
    support::prepare_inventory(&db.store, &sim).await;
    let config = support::config_for(&db, &sim, &[]);
    let accounts = StoredAccounts::open(&db.store, &config).await.unwrap();
    let client = accounts.accounts()[0].client.clone();
    let mut blocker = PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE meli_stock.stock_changes IN ACCESS EXCLUSIVE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let store = db.store.clone();
    let run = tokio::spawn(async move {
        let options = SyncOptions::default();
        let stop = async move {
            let _ = stopped.await;
        };
        sync::run_until(
            &store,
            &client,
            &config,
            &options,
            &Progress::hidden(),
            stop,
        )
        .await
    });
    let admin = sqlx::PgPool::connect(common::ADMIN_URL).await.unwrap();
    eventually("the write to block on the ledger", || {
        let (admin, database) = (admin.clone(), database.clone());
        async move { (waiting_on_a_lock(&admin, &database).await > 0).then_some(()) }
    })
    .await;

    // Act
    stop.send(()).unwrap();
    let result = run.await.unwrap();
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap();

    // Assert: the run is recorded as cancelled and none of its write survives
    let err = result.expect_err("stopped");
    assert!(err.to_string().contains("cancelled"), "{err}");
    let runs = db.store.recent_runs(Some(SELLER), 5).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, RunOutcome::Failed);
    assert!(runs[0].listing_complete, "it got as far as the write");
    assert_eq!(runs[0].error.as_deref(), Some(CANCELLED));
    eventually("the blocked statement to end", || {
        let (admin, database) = (admin.clone(), database.clone());
        async move { (waiting_on_a_lock(&admin, &database).await == 0).then_some(()) }
    })
    .await;
    admin.close().await;
    for table in [
        "item_map",
        "stock_changes",
        "user_products",
        "unmatched_items",
    ] {
        let sql = format!("SELECT COUNT(*) FROM {}", db.state_table(table));
        assert_eq!(db.scalar(&sql).await, 0, "{table} was rolled back");
    }
    assert!(db.ml_quantities().await.is_empty());
    lock_is_free(&db).await;
}
