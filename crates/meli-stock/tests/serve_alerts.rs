//! Alerts end to end: a local webhook receiver and a local SMTP sink get exactly the
//! expected messages (failure, reminder, re-authorization, staleness, recovery, unmatched
//! listings, refresh-token expiry), once each, across restarts, on both stores; then the
//! same through `serve` against the simulator and through the `check` binary.

#![allow(clippy::unwrap_used)]

mod common;
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::TestDb;
use meli_stock::accounts::{AccountSource, StoredAccounts, TokenFacts};
use meli_stock::alerts::Alerter;
use meli_stock::config::{Config, Sources};
use meli_stock::serve::{self, Outcome, Parts};
use meli_stock::store::{RunOutcome, RunRecord};
use support::{SmtpSink, WebhookSink, eventually};
use tokio::process::Command;

const SELLER: u64 = 2_506_482_242;

fn hour(h: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + h * 3600, 0).unwrap()
}

/// Alert settings sending to `hook` (generic JSON) and `smtp`, on `db`.
fn alert_config(db: &TestDb, hook: &str, smtp: Option<&SmtpSink>) -> Config {
    let mut env: HashMap<String, String> = HashMap::from([
        ("MELI_STOCK_WEBHOOK_URL".into(), hook.to_owned()),
        ("MELI_STOCK_WEBHOOK_FORMAT".into(), "json".into()),
        ("MELI_STOCK_STALE_AFTER".into(), "3h".into()),
        ("MELI_STOCK_ALERT_REMINDER".into(), "24h".into()),
        (
            "MELI_STOCK_SQLITE_PATH".into(),
            db.sqlite_path().display().to_string(),
        ),
    ]);
    if let Some(smtp) = smtp {
        env.insert("MELI_STOCK_SMTP_HOST".into(), "127.0.0.1".into());
        env.insert("MELI_STOCK_SMTP_PORT".into(), smtp.port.to_string());
        env.insert("MELI_STOCK_SMTP_TLS".into(), "none".into());
        env.insert(
            "MELI_STOCK_ALERT_FROM".into(),
            "meli-stock <alerts@example.com>".into(),
        );
        env.insert(
            "MELI_STOCK_ALERT_TO".into(),
            "ops@example.com, owner@example.com".into(),
        );
    }
    if let Some(url) = db.url() {
        env.insert("DATABASE_URL".into(), url);
    }
    let lookup = move |name: &str| env.get(name).cloned();
    Config::from_sources(&Sources::collect(None, &[], &lookup, &[]).unwrap()).unwrap()
}

fn success(unmatched: u64, finished: DateTime<Utc>) -> RunRecord {
    let mut run = RunRecord::started(meli_stock::store::RunId(1), SELLER, finished, false);
    run.outcome = RunOutcome::Success;
    run.finished_at = Some(finished);
    run.unmatched = unmatched;
    run
}

fn pairs(events: &[(&str, &str)]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|(a, s)| ((*a).to_owned(), (*s).to_owned()))
        .collect()
}

async fn failures_reauth_and_staleness_alert_once_each_and_recover(db: TestDb) {
    // Arrange
    let hook = WebhookSink::start().await;
    let smtp = SmtpSink::start().await;
    let config = alert_config(&db, &hook.url, Some(&smtp));
    let alerter = Alerter::from_settings(db.store.clone(), &config.alerts).unwrap();
    let failed = Outcome::Failed("ML answered 503 for the listing".into());

    // Act
    alerter
        .observe_run(SELLER, &failed, None, hour(0), hour(0))
        .await;
    alerter
        .observe_run(SELLER, &failed, None, hour(1), hour(1))
        .await;
    // A restart: a new alerter on the same store remembers the alert.
    let alerter = Alerter::from_settings(db.store.clone(), &config.alerts).unwrap();
    alerter
        .observe_run(SELLER, &failed, None, hour(2), hour(2))
        .await;
    alerter.remind_at(SELLER, None, hour(12)).await;
    alerter.remind_at(SELLER, None, hour(25)).await;
    alerter.remind_at(SELLER, None, hour(26)).await;
    let ok = success(0, hour(27));
    alerter
        .observe_run(SELLER, &Outcome::Success, Some(&ok), hour(27), hour(27))
        .await;

    let reauth = Outcome::Reauth("invalid_grant: the refresh token was refused".into());
    alerter
        .observe_run(SELLER, &reauth, None, hour(28), hour(28))
        .await;
    alerter
        .observe_reauth(SELLER, "invalid_grant", hour(29))
        .await;
    let ok = success(0, hour(30));
    alerter
        .observe_run(SELLER, &Outcome::Success, Some(&ok), hour(30), hour(30))
        .await;

    let three_hours = Duration::from_secs(3 * 3600);
    let last = Some(hour(30));
    let fresh = alerter
        .check_staleness(SELLER, last, last, three_hours, hour(32))
        .await
        .unwrap();
    let stale = alerter
        .check_staleness(SELLER, last, last, three_hours, hour(34))
        .await
        .unwrap();
    alerter
        .check_staleness(SELLER, last, last, three_hours, hour(35))
        .await
        .unwrap();
    let back = Some(hour(36));
    alerter
        .check_staleness(SELLER, back, back, three_hours, hour(36))
        .await
        .unwrap();

    // Assert: exactly these messages, in this order, on both channels
    let expected = pairs(&[
        ("run_failed", "firing"),
        ("run_failed", "reminder"),
        ("run_failed", "resolved"),
        ("reauth_required", "firing"),
        ("reauth_required", "resolved"),
        ("stale", "firing"),
        ("stale", "resolved"),
    ]);
    assert!(!fresh && stale);
    assert_eq!(hook.events(), expected);
    let subjects = smtp.subjects();
    assert_eq!(subjects.len(), expected.len(), "{subjects:#?}");
    assert!(subjects.iter().all(|s| s.starts_with("[meli-stock] ")));

    // Each message says what happened, since when and what to do.
    let bodies = hook.bodies();
    let first = &bodies[0];
    assert_eq!(first["seller_id"], SELLER);
    assert_eq!(first["count"], 1);
    assert!(first["what"].as_str().unwrap().contains("ML answered 503"));
    assert!(
        first["since_text"]
            .as_str()
            .unwrap()
            .contains("2026-01-01 00:00 UTC")
    );
    assert!(
        first["action"]
            .as_str()
            .unwrap()
            .contains("meli-stock runs")
    );
    assert_eq!(bodies[1]["count"], 3, "three failed runs by the reminder");
    assert!(
        bodies[3]["action"]
            .as_str()
            .unwrap()
            .contains("meli-stock auth url")
    );
    assert!(bodies[5]["what"].as_str().unwrap().contains("4h"));
    let mails = smtp.mails();
    assert_eq!(mails[0].to.len(), 2);
    assert!(
        mails[0]
            .subject()
            .contains("the sync of seller 2506482242 failed")
    );
    assert!(mails[0].body().contains("What to do:"));

    // The stored state is settled.
    let states = db.store.alert_states(Some(SELLER)).await.unwrap();
    assert!(states.iter().all(|s| !s.active), "{states:#?}");
}

async fn unmatched_listings_and_refresh_token_expiry_alert_on_change(db: TestDb) {
    // Arrange
    let hook = WebhookSink::start().await;
    let config = alert_config(&db, &hook.url, None);
    let alerter = Alerter::from_settings(db.store.clone(), &config.alerts).unwrap();
    let run = |unmatched: u64, h: i64| success(unmatched, hour(h));
    let now = Utc::now();
    let facts = |issued_days_ago: i64, needs_reauth: bool| TokenFacts {
        seller_id: SELLER,
        access_token_expires_at: Some(now + chrono::Duration::hours(5)),
        refresh_token_issued_at: Some(now - chrono::Duration::days(issued_days_ago)),
        needs_reauth,
    };

    // Act
    for (unmatched, h) in [(3, 1), (3, 2), (2, 3), (4, 4)] {
        let record = run(unmatched, h);
        alerter
            .observe_run(SELLER, &Outcome::Success, Some(&record), hour(h), hour(h))
            .await;
    }
    alerter.check_tokens(&facts(100, false), now).await;
    alerter.check_tokens(&facts(170, false), now).await;
    alerter.check_tokens(&facts(171, false), now).await;
    alerter.check_tokens(&facts(0, false), now).await;
    alerter.check_tokens(&facts(0, true), now).await;

    // Assert
    assert_eq!(
        hook.events(),
        pairs(&[
            ("unmatched_increased", "firing"),
            ("unmatched_increased", "firing"),
            ("refresh_token_expiring", "firing"),
            ("refresh_token_expiring", "resolved"),
            ("reauth_required", "firing"),
        ])
    );
    let bodies = hook.bodies();
    assert_eq!(
        (bodies[0]["count"].as_i64(), bodies[0]["previous"].as_i64()),
        (Some(3), Some(0))
    );
    assert_eq!(
        (bodies[1]["count"].as_i64(), bodies[1]["previous"].as_i64()),
        (Some(4), Some(2))
    );
    assert!(
        bodies[0]["action"]
            .as_str()
            .unwrap()
            .contains("meli-stock report unmatched --seller 2506482242")
    );
    let ends = bodies[2]["refresh_token_expires_at"].as_str().unwrap();
    let ends: DateTime<Utc> = ends.parse().unwrap();
    assert_eq!((ends - now).num_days(), 10, "180 days after it was issued");
}

async fn an_undelivered_alert_is_sent_at_the_next_check_and_only_then(db: TestDb) {
    // Arrange: the first alerter's webhook points at a closed port
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let broken = alert_config(&db, &dead, None);
    let hook = WebhookSink::start().await;
    let working = alert_config(&db, &hook.url, None);
    let failed = Outcome::Failed("boom".into());

    // Act
    let alerter = Alerter::from_settings(db.store.clone(), &broken.alerts).unwrap();
    alerter
        .observe_run(SELLER, &failed, None, hour(0), hour(0))
        .await;
    let owed = db.store.alert_state(SELLER, "run_failed").await.unwrap();
    let alerter = Alerter::from_settings(db.store.clone(), &working.alerts).unwrap();
    alerter.remind_at(SELLER, None, hour(1)).await;
    alerter.remind_at(SELLER, None, hour(2)).await;

    // Assert
    assert!(owed.active);
    assert_eq!(owed.notified_at, None, "nothing was delivered");
    assert_eq!(hook.events(), pairs(&[("run_failed", "firing")]));
}

both_stores!(
    failures_reauth_and_staleness_alert_once_each_and_recover,
    unmatched_listings_and_refresh_token_expiry_alert_on_change,
    an_undelivered_alert_is_sent_at_the_next_check_and_only_then,
);

async fn serve_alerts_a_failed_run_its_recovery_and_a_refused_grant(db: TestDb) {
    // Arrange: every second a run; the first listing fails once
    let sim = support::simulator(200).await;
    support::prepare_inventory(&db.store, &sim).await;
    let hook = WebhookSink::start().await;
    let hook_url = hook.url.clone();
    let config = support::config_for(
        &db,
        &sim,
        &[
            ("MELI_STOCK_SCHEDULE", "1s"),
            ("MELI_STOCK_RUN_RETRIES", "0"),
            ("MELI_STOCK_MAX_ATTEMPTS", "1"),
            ("MELI_STOCK_WEBHOOK_URL", &hook_url),
            ("MELI_STOCK_WEBHOOK_FORMAT", "json"),
        ],
    );
    sim.faults().for_endpoint("items_search").fail_next(1, 500);
    let accounts: Arc<dyn AccountSource> =
        Arc::new(StoredAccounts::open(&db.store, &config).await.unwrap());
    let alerter = Alerter::from_settings(db.store.clone(), &config.alerts).unwrap();
    let parts = Parts {
        config: config.clone(),
        store: db.store.clone(),
        accounts,
        alerter: Arc::new(alerter),
        clock: Arc::new(serve::SystemClock),
        jitter: serve::schedule::fixed_jitter(Duration::ZERO),
        watch_every: Duration::from_millis(200),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();

    // Act: a failure, then three successes, then the grant is revoked
    let running = serve::start(parts, listener).await.unwrap();
    let store = db.store.clone();
    eventually("a failure and three successes", || {
        let store = store.clone();
        async move {
            let runs = store.recent_runs(Some(SELLER), 20).await.unwrap();
            let ok = runs
                .iter()
                .filter(|r| r.outcome == RunOutcome::Success)
                .count();
            (ok >= 3).then_some(())
        }
    })
    .await;
    sim.revoke_grant();
    eventually("the re-authorization alert", || {
        let events = hook.events();
        async move {
            events
                .iter()
                .any(|(a, _)| a == "reauth_required")
                .then_some(())
        }
    })
    .await;
    running.shutdown(Duration::from_secs(30)).await;

    // Assert
    assert_eq!(
        hook.events(),
        pairs(&[
            ("run_failed", "firing"),
            ("run_failed", "resolved"),
            ("unmatched_increased", "firing"),
            ("reauth_required", "firing"),
        ])
    );
    let runs = db.store.recent_runs(Some(SELLER), 50).await.unwrap();
    let oldest = runs.last().unwrap();
    assert_eq!(oldest.outcome, RunOutcome::Failed);
    assert!(runs.iter().all(|r| r.outcome != RunOutcome::Running));
    let unmatched = hook.bodies()[2]["count"].as_u64().unwrap();
    assert_eq!(
        unmatched,
        db.store.unmatched(SELLER).await.unwrap().len() as u64
    );
}

both_stores!(serve_alerts_a_failed_run_its_recovery_and_a_refused_grant);

/// A seller whose grant ML refused stays scheduled; once the owner authorizes again from
/// the command line, the running serve picks the new tokens up, syncs, and says the
/// re-authorization alert is resolved. No restart.
async fn serve_recovers_after_the_seller_authorizes_again(db: TestDb) {
    // Arrange: serve runs every second, with a working account
    let sim = support::simulator(100).await;
    support::prepare_inventory(&db.store, &sim).await;
    let hook = WebhookSink::start().await;
    let hook_url = hook.url.clone();
    let extra = [
        ("MELI_STOCK_SCHEDULE", "1s"),
        ("MELI_STOCK_RUN_RETRIES", "0"),
        ("MELI_STOCK_WEBHOOK_URL", hook_url.as_str()),
        ("MELI_STOCK_WEBHOOK_FORMAT", "json"),
    ];
    let config = support::config_for(&db, &sim, &extra);
    let mut env = support::env_for(&db, &sim, &extra);
    env.insert("ML_REDIRECT_URI".into(), sim.credentials().redirect_uri);
    let accounts: Arc<dyn AccountSource> =
        Arc::new(StoredAccounts::open(&db.store, &config).await.unwrap());
    let parts = Parts {
        config: config.clone(),
        store: db.store.clone(),
        accounts,
        alerter: Arc::new(Alerter::from_settings(db.store.clone(), &config.alerts).unwrap()),
        clock: Arc::new(serve::SystemClock),
        jitter: serve::schedule::fixed_jitter(Duration::ZERO),
        watch_every: Duration::from_millis(200),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = serve::start(parts, listener).await.unwrap();
    let reauth_fired = || {
        let events = hook.events();
        async move {
            events
                .iter()
                .any(|e| e == &("reauth_required".to_owned(), "firing".to_owned()))
                .then_some(())
        }
    };

    // Act: ML refuses the grant; the owner then authorizes again with the two commands
    sim.revoke_grant();
    eventually("the re-authorization alert", reauth_fired).await;
    let url = meli_stock(&["auth", "url", "--site", "MLC"], &env).await;
    assert!(
        url.status.success(),
        "{}",
        String::from_utf8_lossy(&url.stderr)
    );
    let printed = String::from_utf8_lossy(&url.stdout).to_string();
    let link = printed
        .lines()
        .find_map(|l| url::Url::parse(l.trim()).ok())
        .expect("the authorization link is printed");
    let challenge = link
        .query_pairs()
        .find(|(k, _)| k == "code_challenge")
        .map(|(_, v)| v.to_string())
        .unwrap();
    let code = sim
        .authorize(&sim.credentials().redirect_uri, Some((&challenge, "S256")))
        .unwrap();
    let exchange = meli_stock(&["auth", "exchange", "--code", &code], &env).await;
    assert!(
        exchange.status.success(),
        "{}",
        String::from_utf8_lossy(&exchange.stderr)
    );
    let resolved = || {
        let events = hook.events();
        async move {
            events
                .iter()
                .any(|e| e == &("reauth_required".to_owned(), "resolved".to_owned()))
                .then_some(())
        }
    };
    eventually("the re-authorization alert to resolve", resolved).await;
    running.shutdown(Duration::from_secs(30)).await;

    // Assert: the newest run succeeded, after the failed one
    let runs = db.store.recent_runs(Some(SELLER), 100).await.unwrap();
    assert_eq!(runs[0].outcome, RunOutcome::Success);
    assert!(runs.iter().any(|r| r.outcome == RunOutcome::Failed));
    let reauth: Vec<_> = hook
        .events()
        .into_iter()
        .filter(|(alert, _)| alert == "reauth_required")
        .collect();
    assert_eq!(
        reauth,
        pairs(&[
            ("reauth_required", "firing"),
            ("reauth_required", "resolved")
        ])
    );
}

both_stores!(serve_recovers_after_the_seller_authorizes_again);

/// Runs the built binary with only `env`, in an empty directory. Awaited rather than
/// blocking, so the webhook receiver on this test's runtime can answer meanwhile.
async fn meli_stock(args: &[&str], env: &HashMap<String, String>) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_meli-stock"))
        .args(args)
        .env_clear()
        .envs(env)
        .current_dir(dir.path())
        .output()
        .await
        .unwrap()
}

async fn check_fails_and_alerts_once_when_the_last_success_is_too_old(db: TestDb) {
    // Arrange: the only successful run ended three hours ago
    let hook = WebhookSink::start().await;
    let three_hours_ago = meli_stock::store::now_micros() - chrono::Duration::hours(3);
    let id = db
        .store
        .start_run(SELLER, three_hours_ago, false)
        .await
        .unwrap();
    let mut run = RunRecord::started(id, SELLER, three_hours_ago, false);
    run.outcome = RunOutcome::Success;
    run.finished_at = Some(three_hours_ago);
    db.store.finish_run(&run).await.unwrap();
    let mut env: HashMap<String, String> = HashMap::from([
        ("MELI_STOCK_WEBHOOK_URL".into(), hook.url.clone()),
        ("MELI_STOCK_WEBHOOK_FORMAT".into(), "json".into()),
        (
            "MELI_STOCK_SQLITE_PATH".into(),
            db.sqlite_path().display().to_string(),
        ),
    ]);
    if let Some(url) = db.url() {
        env.insert("DATABASE_URL".into(), url);
    }

    // Act
    let lenient = meli_stock(&["check", "--max-age", "4h"], &env).await;
    let first = meli_stock(&["check", "--max-age", "2h"], &env).await;
    let second = meli_stock(&["check", "--max-age", "2h"], &env).await;
    let now = meli_stock::store::now_micros();
    let id = db.store.start_run(SELLER, now, false).await.unwrap();
    let mut fresh = RunRecord::started(id, SELLER, now, false);
    fresh.outcome = RunOutcome::Success;
    fresh.finished_at = Some(now);
    db.store.finish_run(&fresh).await.unwrap();
    let third = meli_stock(&["check", "--max-age", "2h", "--json"], &env).await;

    // Assert
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).to_string();
    let stdout = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(lenient.status.code(), Some(0), "{}", stderr(&lenient));
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("no successful run within 2h"),
        "{}",
        stderr(&first)
    );
    assert!(
        stdout(&first).contains("seller 2506482242: STALE"),
        "{}",
        stdout(&first)
    );
    assert_eq!(second.status.code(), Some(1));
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    let json: serde_json::Value = serde_json::from_str(&stdout(&third)).unwrap();
    assert_eq!(json[0]["stale"], false);
    assert_eq!(
        hook.events(),
        pairs(&[("stale", "firing"), ("stale", "resolved")])
    );
}

both_stores!(check_fails_and_alerts_once_when_the_last_success_is_too_old);
