//! The benchmark end to end at a tiny size: a real simulator, real `meli-stock sync --json`
//! child processes and the old method, against the local PostgreSQL. The report must carry
//! the numbers the simulator counted.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use meli_bench::bound::STOCK_ENDPOINT;
use meli_bench::scenario::{BenchOptions, RunKind, SizePlan};
use meli_bench::targets::thousands;

/// Server the PostgreSQL tests run against (trust auth).
const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The `meli-stock` binary of this build, built first if it is missing or stale (cargo
/// builds only this package's binaries before its tests).
fn meli_stock_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let target_dir = profile_dir.parent().unwrap();
    let release = profile_dir
        .file_name()
        .is_some_and(|name| name == "release");

    // The variables cargo sets for a test would change the build's fingerprints and make
    // it rebuild the workspace; the nested build gets the user's environment instead.
    let mut build = Command::new(env!("CARGO"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        let from_cargo = name.starts_with("CARGO_") && name != "CARGO_HOME";
        if from_cargo || name == "LD_LIBRARY_PATH" || name.starts_with("RUST_TEST") {
            build.env_remove(name);
        }
    }
    build
        .args([
            "build",
            "--quiet",
            "-p",
            "meli-stock",
            "--bin",
            "meli-stock",
        ])
        .arg("--target-dir")
        .arg(target_dir);
    if release {
        build.arg("--release");
    }
    let status = build.status().unwrap();
    assert!(status.success(), "building meli-stock failed: {status}");
    profile_dir.join("meli-stock")
}

fn by_endpoint(requests: &BTreeMap<(String, u16), u64>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for ((endpoint, _), n) in requests {
        *out.entry(endpoint.clone()).or_insert(0) += n;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_benchmark_reports_what_the_simulator_counted() {
    // Arrange
    let options = BenchOptions {
        sizes: vec![SizePlan {
            listings: 200,
            cold_scale: 200.0,
            steady_scale: 50.0,
        }],
        latency: Duration::from_millis(5),
        jitter: Duration::from_millis(2),
        seed: 7,
        change_share: 0.01,
        baseline_sample: 5,
        database_url: ADMIN_URL.to_owned(),
        meli_stock: meli_stock_binary(),
    };

    // Act
    let report = meli_bench::run(&options, "scripts/bench.sh --smoke".to_owned())
        .await
        .unwrap();
    let markdown = meli_bench::report::markdown(&report);

    // Assert
    let size = &report.sizes[0];
    assert_eq!(size.listings, 200);
    assert_eq!(size.products, 200);
    assert_eq!(size.changed, 2, "1% of 200 listings, rounded up");
    assert_eq!(size.runs.len(), 3);

    for run in &size.runs {
        let output = &run.child.output;
        let label = run.kind.label();
        assert_eq!(
            by_endpoint(&run.sim_requests),
            output.api_calls,
            "{label}: the run record's calls are the simulator's"
        );
        assert_eq!(output.items_listed, 200, "{label}");
        assert_eq!(run.rows_in_db, 200, "{label}: one row per product");
        assert_eq!(run.needed.total, output.total_calls() - output.retries);
        assert_eq!(run.needed.stock_reads, output.calls(STOCK_ENDPOINT));
        assert!(run.bound > Duration::ZERO && run.child.wall > run.bound / 2);
        assert!(run.efficiency > 0.0 && run.efficiency < 1.5, "{label}");
        assert!(run.calls.met(), "{label}: {:?}", run.calls);
        assert!(
            output.peak_rss_kib.is_some_and(|kib| kib > 1_000),
            "{label}"
        );
        assert!(output.write_ms.is_some(), "{label}");

        let counted = format!(
            "The simulator counted {} calls, the run record {}",
            thousands(run.sim_requests.values().sum()),
            thousands(output.total_calls())
        );
        assert!(markdown.contains(&counted), "{label}: {counted}");
        assert!(markdown.contains(&format!("{:.3}", run.efficiency)));
    }

    let cold = size.run(RunKind::Cold).unwrap();
    let changed = size.run(RunKind::Changed).unwrap();
    assert_eq!(
        cold.child.output.user_products_read, size.user_products as u64,
        "the cold run reads every user product"
    );
    // Two listings changed: each moves one product, or two when its UP backs a sibling
    // listing too; each calls for at most one read (none for a listing without a UP).
    let second = &changed.child.output;
    assert!(second.user_products_read <= 2, "{second:?}");
    assert!((2..=4).contains(&second.rows_changed), "{second:?}");

    let baseline = &size.baseline;
    assert_eq!(baseline.sample.listings, 5);
    assert_eq!(baseline.rows_written, 5);
    assert_eq!(baseline.calls.get("items"), Some(&5));
    assert_eq!(baseline.active, size.active as u64);
    assert!(baseline.estimate.time > baseline.sample.per_listing_time);
    assert!(markdown.contains(&format!(
        "a sample of 5 of the {} active listings",
        thousands(baseline.active)
    )));
    assert!(markdown.contains("| 1%-changed run reads ≤ 2% of the cold run's UPs | 200 listings"));
}
