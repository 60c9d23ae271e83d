//! Twenty meli-stock processes syncing one seller at once, twice, with 5-second tokens:
//! every process gets a working token, ML sees one refresh per expiry and never a reused
//! refresh token, and neither the database nor any process's log holds a token.

use std::time::Duration;

use super::helpers::{
    account, assert_no_tokens, assert_one_chain, describe, events, everything_stored,
    prepare_inventory, run_cli, settings, spawn_sim, token_calls,
};
use crate::both_stores;
use crate::common::TestDb;

/// Processes started at once.
const PROCESSES: usize = 20;

async fn twenty_processes_refresh_once_per_expiry(db: TestDb) {
    // Arrange: nothing stored yet; every process has the settings' refresh token
    let sim = spawn_sim(40, Duration::from_secs(5)).await;
    prepare_inventory(&db, &sim).await;
    let first_refresh_token = sim.credentials().refresh_token;
    let vars = settings(&sim, &db, true);
    let dir = tempfile::tempdir().unwrap();
    let mut logs = String::new();

    for wave in 0..2 {
        if wave > 0 {
            // Past the refresh point of the token the first wave left (2.5 s of 5 s).
            tokio::time::sleep(Duration::from_secs(3)).await;
        }

        // Act
        let runs = (0..PROCESSES).map(|_| run_cli(&["sync"], &vars, dir.path()));
        let outputs = futures::future::join_all(runs).await;

        // Assert: each run synced or found the seller locked; at least one synced
        let mut synced = 0;
        for output in &outputs {
            match output.status.code() {
                Some(0) => synced += 1,
                Some(3) => {}
                _ => panic!("a process failed: {}", describe(output)),
            }
            logs.push_str(&String::from_utf8_lossy(&output.stdout));
            logs.push_str(&String::from_utf8_lossy(&output.stderr));
        }
        assert!(synced >= 1, "wave {wave}: no process synced");
    }

    let refreshed = events(&db.store, "refreshed").await;
    assert_eq!(token_calls(&sim, 400), 0, "a refresh token was used twice");
    assert!(refreshed.len() >= 2, "each wave refreshed its due token");
    assert_eq!(token_calls(&sim, 200), refreshed.len() as u64);
    assert_eq!(
        account(&db.store, &sim).await.refresh_count,
        refreshed.len() as u64
    );
    assert_one_chain(&refreshed);
    assert_eq!(events(&db.store, "imported").await.len(), 1);

    let credentials = sim.credentials();
    let tokens = [
        first_refresh_token,
        credentials.refresh_token,
        credentials.access_token,
    ];
    assert!(
        logs.contains("access token refreshed and stored"),
        "debug logs were captured"
    );
    assert_no_tokens(&logs, &tokens, "the processes' logs");
    assert_no_tokens(&everything_stored(&db).await, &tokens, "the database");
}

both_stores!(twenty_processes_refresh_once_per_expiry);
