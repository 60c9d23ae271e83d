//! The `meli-stock` binary as a user runs it: exit codes, messages on bad input, the summary
//! and `--json`, `db init`, `runs` and `report unmatched`, with the simulator in this process.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Output;

use common::TestDb;
use common::sync_env::{FAST, SyncEnv};
use serde_json::Value;
use tempfile::TempDir;

/// Runs the binary in an empty directory with exactly `env` (no inherited settings).
async fn meli_stock(dir: &TempDir, env: &[(String, String)], args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_meli-stock"));
    command
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    command.output().await.unwrap()
}

/// The variables `meli-sim` prints for `sim`, plus the test database's location.
fn sim_settings(sim: &meli_sim::SimHandle, db: &TestDb) -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = sim
        .env_lines()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    settings.push(("MELI_STOCK_KEY".into(), common::sync_env::TEST_KEY.into()));
    match db.url() {
        Some(url) => settings.push(("DATABASE_URL".into(), url)),
        None => settings.push((
            "MELI_STOCK_SQLITE_PATH".into(),
            db.sqlite_path().display().to_string(),
        )),
    }
    settings
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// A run from the command line prints its summary, or its record with `--json`.
async fn sync_prints_a_summary_or_the_run_record(db: TestDb) {
    // Arrange
    let env = SyncEnv::new(db, 150, FAST).await;
    let keys = env.add_products_for_all_items().await;
    let dir = tempfile::tempdir().unwrap();

    // Act
    let plain = meli_stock(&dir, &env.env(), &["sync"]).await;
    let json = meli_stock(&dir, &env.env(), &["sync", "--json"]).await;

    // Assert
    assert_eq!(code(&plain), 0, "{}", stderr(&plain));
    let summary = stdout(&plain);
    assert!(summary.contains("150 listings"), "{summary}");
    assert!(
        summary.contains(&format!(
            "rows written {}, changed {}",
            keys.len(),
            keys.len()
        )),
        "{summary}"
    );
    assert_eq!(code(&json), 0, "{}", stderr(&json));
    let record: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(record["outcome"], "success");
    assert_eq!(record["items_listed"], 150);
    assert_eq!(
        record["rows_changed"], 0,
        "nothing changed since the first run"
    );
    assert_eq!(record["api_calls"]["items_search"], 3);
    assert!(record["elapsed_ms"].is_u64() && record["peak_rss_kib"].is_u64());
    assert_eq!(env.runs().await.len(), 2);
}

/// A seller whose lock is held elsewhere: exit code 3, a clear message, nothing recorded.
async fn a_run_while_another_holds_the_lock_exits_with_3(db: TestDb) {
    // Arrange
    let env = SyncEnv::new(db, 50, FAST).await;
    env.add_products_for_all_items().await;
    let lock = env
        .db
        .store
        .try_lock_seller(env.sim.config().seller_id)
        .await
        .unwrap()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Act
    let output = meli_stock(&dir, &env.env(), &["sync"]).await;

    // Assert
    assert_eq!(code(&output), 3, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("is in progress"),
        "{}",
        stderr(&output)
    );
    assert!(env.runs().await.is_empty());
    lock.release().await.unwrap();
}

/// ML refuses the grant: exit code 4 and the command that fixes it.
async fn a_revoked_grant_exits_with_4_and_says_how_to_reauthorize(db: TestDb) {
    // Arrange
    let env = SyncEnv::new(db, 50, FAST).await;
    env.add_products_for_all_items().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = env.env();
    env.sim.revoke_grant();

    // Act
    let output = meli_stock(&dir, &settings, &["sync"]).await;

    // Assert
    assert_eq!(code(&output), 4, "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("meli-stock auth url"), "{message}");
    assert!(
        env.quantities_by_key().await.is_empty(),
        "nothing may be written"
    );
}

/// A wrong client secret shows when ML asks for a refresh: exit code 2, naming the two
/// settings to check, and the secret is not echoed.
async fn wrong_app_credentials_exit_with_2(db: TestDb) {
    // Arrange: an access token ML does not know forces a refresh with the wrong secret
    let env = SyncEnv::new(db, 50, FAST).await;
    env.add_products_for_all_items().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = env.env();
    settings.retain(|(k, _)| k != "ML_SECRET" && k != "ML_ACCESS_TOKEN");
    settings.push(("ML_SECRET".into(), "not-the-secret-42".into()));
    settings.push((
        "ML_ACCESS_TOKEN".into(),
        "APP_USR-1-010101-deadbeef-1".into(),
    ));

    // Act
    let output = meli_stock(&dir, &settings, &["sync"]).await;

    // Assert
    let message = stderr(&output);
    assert_eq!(code(&output), 2, "{message}");
    assert!(message.contains("ML_APP_ID and ML_SECRET"), "{message}");
    assert!(!message.contains("not-the-secret-42"), "{message}");
    assert!(env.quantities_by_key().await.is_empty());
}

/// Missing inventory pieces are named with their fix, with exit code 2.
async fn a_missing_table_or_key_is_named_with_its_fix(db: TestDb) {
    // Arrange: no tables at all, then tables without the unique key
    let env_less = db;
    let dir = tempfile::tempdir().unwrap();
    let sim = meli_sim::spawn(meli_sim::SimConfig::default())
        .await
        .unwrap();
    let settings = sim_settings(&sim, &env_less);

    // Act
    let no_tables = meli_stock(&dir, &settings, &["sync"]).await;
    env_less
        .create_seller_schema(&common::SellerSchema {
            unique_key: false,
            ..common::SellerSchema::default()
        })
        .await;
    let no_key = meli_stock(&dir, &settings, &["sync"]).await;

    // Assert
    assert_eq!(code(&no_tables), 2, "{}", stderr(&no_tables));
    assert!(
        stderr(&no_tables).contains("does not exist"),
        "{}",
        stderr(&no_tables)
    );
    assert!(
        stderr(&no_tables).contains("meli-stock db init"),
        "{}",
        stderr(&no_tables)
    );
    assert_eq!(code(&no_key), 2, "{}", stderr(&no_key));
    assert!(
        stderr(&no_key).contains("no unique key"),
        "{}",
        stderr(&no_key)
    );
    assert!(
        stderr(&no_key).contains("warehouse_id"),
        "{}",
        stderr(&no_key)
    );
    let runs = env_less.store.recent_runs(None, 10).await.unwrap();
    assert!(runs.is_empty(), "bad input starts no run");
}

/// `db init`, a sync, then `runs` and `report unmatched` read the ledger back.
async fn db_init_runs_and_the_unmatched_report_work_from_the_command_line(db: TestDb) {
    // Arrange
    let sim = meli_sim::spawn(meli_sim::SimConfig::default().scaled_limits(FAST))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = sim_settings(&sim, &db);
    settings.push(("MELI_STOCK_REQUESTS_PER_SECOND".into(), "5000".into()));
    settings.push(("MELI_STOCK_STOCK_READS_PER_MINUTE".into(), "100000".into()));

    // Act
    let init = meli_stock(&dir, &settings, &["db", "init"]).await;
    let again = meli_stock(&dir, &settings, &["db", "init"]).await;
    let sync = meli_stock(&dir, &settings, &["sync"]).await;
    let runs = meli_stock(&dir, &settings, &["runs"]).await;
    let unmatched = meli_stock(&dir, &settings, &["report", "unmatched", "--json"]).await;

    // Assert: no products exist, so every listing is unmatched and no row is written
    assert_eq!(code(&init), 0, "{}", stderr(&init));
    let created = stdout(&init);
    assert!(
        created
            .lines()
            .any(|l| l.starts_with("created table") && l.ends_with("warehouse_stock")),
        "{created}"
    );
    assert!(
        stdout(&again).contains("kept existing table"),
        "{}",
        stdout(&again)
    );
    assert_eq!(code(&sync), 0, "{}", stderr(&sync));
    let log = stderr(&sync);
    assert!(log.contains("sync run finished"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes off a terminal: {log}"
    );
    assert!(stdout(&runs).contains("success"), "{}", stdout(&runs));
    // The table's columns line up: the seller column ends where its heading ends.
    let table = stdout(&runs);
    let mut lines = table.lines();
    let (heading, row) = (lines.next().unwrap(), lines.next().unwrap());
    let seller = sim.credentials().seller_id.to_string();
    assert_eq!(
        row.find(&seller).map(|at| at + seller.len()),
        heading.find("seller").map(|at| at + "seller".len()),
        "{table}"
    );
    let rows: Value = serde_json::from_slice(&unmatched.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 200);
    assert_eq!(rows[0]["status"], "active");
}

/// `--log-format json` writes one JSON object a line, with the run's figures as fields and
/// no token anywhere.
async fn json_logs_carry_the_run_figures_and_no_token(db: TestDb) {
    // Arrange
    let env = SyncEnv::new(db, 60, FAST).await;
    env.add_products_for_all_items().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = env.env();
    settings.push(("MELI_STOCK_LOG".into(), "debug".into()));

    // Act
    let output = meli_stock(&dir, &settings, &["sync", "--log-format", "json"]).await;

    // Assert
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let logs = stderr(&output);
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let finished = lines
        .iter()
        .find(|l| l["message"] == "sync run finished")
        .unwrap();
    assert_eq!(finished["items"], 60);
    assert_eq!(finished["level"], "INFO");
    let credentials = env.sim.credentials();
    for secret in [
        &credentials.access_token,
        &credentials.refresh_token,
        &credentials.secret,
    ] {
        assert!(!logs.contains(secret.as_str()), "a secret reached the logs");
    }
    assert!(lines.len() > 10, "debug logs include the requests");
}

both_stores!(
    wrong_app_credentials_exit_with_2,
    json_logs_carry_the_run_figures_and_no_token,
    sync_prints_a_summary_or_the_run_record,
    a_run_while_another_holds_the_lock_exits_with_3,
    a_revoked_grant_exits_with_4_and_says_how_to_reauthorize,
    a_missing_table_or_key_is_named_with_its_fix,
    db_init_runs_and_the_unmatched_report_work_from_the_command_line,
);

/// No credentials: exit code 2, naming what is missing, before anything is written.
#[tokio::test]
async fn missing_credentials_exit_with_2_and_name_the_variables() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.db");
    let env = vec![(
        "MELI_STOCK_SQLITE_PATH".to_owned(),
        path.display().to_string(),
    )];
    let init = meli_stock(&dir, &env, &["db", "init"]).await;
    assert_eq!(code(&init), 0, "{}", stderr(&init));

    // Act
    let output = meli_stock(&dir, &env, &["sync"]).await;

    // Assert
    let message = stderr(&output);
    assert_eq!(code(&output), 2, "{message}");
    assert!(
        message.contains("set ML_SELLER_ID and ML_REFRESH_TOKEN"),
        "{message}"
    );
    assert!(message.contains("meli-stock auth url"), "{message}");
}

/// A wrong DATABASE_URL: exit code 2 with what to check, and never the password.
#[tokio::test]
async fn a_wrong_database_url_exits_with_2_without_echoing_the_password() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "postgres://u:hunter2@127.0.0.1:9/db",
            "cannot reach PostgreSQL",
        ),
        (
            "postgres://postgres:hunter2@127.0.0.1:5432/meli_no_such_database",
            "does not exist",
        ),
        (
            "mysql://u:hunter2@127.0.0.1/db",
            "postgres:// or postgresql://",
        ),
    ];

    for (url, expected) in cases {
        // Act
        let env = vec![("DATABASE_URL".to_owned(), url.to_owned())];
        let output = meli_stock(&dir, &env, &["runs"]).await;

        // Assert
        let message = stderr(&output);
        assert_eq!(code(&output), 2, "{url}: {message}");
        assert!(message.contains(expected), "{url}: {message}");
        assert!(!message.contains("hunter2"), "{url}: {message}");
    }
}

/// A bad setting names itself and where it came from, with exit code 2.
#[tokio::test]
async fn a_bad_setting_exits_with_2_and_names_it() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "MELI_STOCK_STOCK_MAX_AGE=soon\n").unwrap();

    // Act
    let output = meli_stock(&dir, &[], &["sync"]).await;

    // Assert
    let message = stderr(&output);
    assert_eq!(code(&output), 2, "{message}");
    assert!(message.contains("MELI_STOCK_STOCK_MAX_AGE"), "{message}");
    assert!(message.contains(".env"), "{message}");
    assert!(
        !dir.path().join("meli-stock.db").exists(),
        "nothing is created"
    );
}

/// A reader that stops early (`meli-stock config --markdown | head -1`) ends the output,
/// not the command: no panic, exit code 0.
#[tokio::test]
async fn a_closed_pipe_on_standard_output_is_not_a_crash() {
    // Arrange: standard output whose reading end is closed before the command prints
    let dir = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_meli-stock"));
    command
        .args(["config", "--markdown"])
        .current_dir(dir.path())
        .env_clear()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());

    // Act
    let mut child = command.spawn().unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().await.unwrap();

    // Assert
    let message = stderr(&output);
    assert_eq!(code(&output), 0, "{message}");
    assert!(!message.contains("panicked"), "{message}");
}

/// A first `sync` or `serve` with nothing to sync (no settings, no database) says what to
/// set and creates nothing: no SQLite file, no key file.
#[tokio::test]
async fn a_sync_without_credentials_says_what_to_set_and_creates_nothing() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let seller = vec![("ML_SELLER_ID".to_owned(), "2506482242".to_owned())];

    // Act
    let bare = meli_stock(&dir, &[], &["sync"]).await;
    let with_seller = meli_stock(&dir, &seller, &["sync"]).await;
    let all = meli_stock(&dir, &[], &["sync", "--all"]).await;
    let serve = meli_stock(&dir, &seller, &["serve", "--listen", "127.0.0.1:0"]).await;

    // Assert
    for (output, expected) in [
        (&bare, "ML_REFRESH_TOKEN"),
        (&with_seller, "2506482242"),
        (&all, "--all"),
        (&serve, "no seller to serve"),
    ] {
        let message = stderr(output);
        assert_eq!(code(output), 2, "{message}");
        assert!(message.contains(expected), "{expected}: {message}");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "nothing is created: {left:?}");
}
