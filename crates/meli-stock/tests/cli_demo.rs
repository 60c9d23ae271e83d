//! `meli-stock demo` from an empty directory, as the README's first command runs it.

#![allow(clippy::unwrap_used)]

use std::process::Output;

fn run(dir: &std::path::Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_meli-stock"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap()
}

#[test]
fn the_demo_syncs_twice_into_the_embedded_file_and_leaves_its_runs_behind() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();

    // Act
    let demo = run(dir.path(), &["demo", "--items", "400"]);
    let runs = run(dir.path(), &["runs", "--json"]);
    let status = run(dir.path(), &["auth", "status", "--json"]);

    // Assert: the narrative, the changed rows and the sample are printed
    let out = String::from_utf8_lossy(&demo.stdout);
    let err = String::from_utf8_lossy(&demo.stderr);
    assert!(demo.status.success(), "stdout:\n{out}\nstderr:\n{err}");
    for expected in [
        "== first sync",
        "400 listings",
        "== second sync",
        "rows changed by the second sync:",
        "monitoring query: warehouse \"Mercado Libre\"",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(dir.path().join("meli-stock.db").exists());

    // Assert: the runs are in the default embedded file, both successful
    assert!(runs.status.success());
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r["outcome"] == "success"));
    assert!(runs[0]["rows_changed"].as_u64().unwrap() > 0);
    assert!(runs[0]["unmatched"].as_u64().unwrap() > 0);

    // Assert: the demo's account is stored and healthy, its key file beside the database
    assert!(status.status.success());
    let accounts: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let account = &accounts.as_array().unwrap()[0];
    assert_eq!(account["status"], "ok");
    assert_eq!(account["seller_id"], runs[0]["seller_id"]);
    assert!(account["access_seconds_left"].as_i64().unwrap() > 3600);
    assert!(dir.path().join("meli-stock.key").exists());
    assert!(
        status.stderr.is_empty(),
        "an interactive command logs nothing at its default level: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}
