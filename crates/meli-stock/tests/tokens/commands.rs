//! The commands as the built binary runs them: the settings' stale token, a revoked grant
//! (exit 4, nothing else written) and its repair, authorization with `auth url` and `auth
//! exchange`, key rotation, the key rules per backend, and `sync --all` with one broken
//! seller.

use std::time::Duration;

use meli_api::{ClientConfig, ExposeSecret, OAuthClient, SecretString, token_fingerprint};

use super::helpers::{
    KEY, account, assert_no_tokens, describe, events, everything_stored, prepare_inventory,
    run_cli, set, settings, spawn_sim, token_calls,
};
use crate::both_stores;
use crate::common::TestDb;

/// The second key of the rotation tests.
const NEW_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn a_stale_refresh_token_in_the_settings_is_ignored(db: TestDb) {
    // Arrange: a first run imports the settings' token and rotates it
    let sim = spawn_sim(20, Duration::from_secs(21_600)).await;
    prepare_inventory(&db, &sim).await;
    let old = sim.credentials().refresh_token;
    let vars = settings(&sim, &db, true);
    let dir = tempfile::tempdir().unwrap();
    let first = run_cli(&["sync"], &vars, dir.path()).await;
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    assert_ne!(
        sim.credentials().refresh_token,
        old,
        "the first run rotated the token"
    );

    // Act: the settings still hold the dead token
    let refresh = run_cli(&["auth", "refresh"], &vars, dir.path()).await;
    let sync = run_cli(&["sync"], &vars, dir.path()).await;

    // Assert
    assert_eq!(refresh.status.code(), Some(0), "{}", describe(&refresh));
    assert_eq!(sync.status.code(), Some(0), "{}", describe(&sync));
    assert_eq!(token_calls(&sim, 400), 0, "the stale token was never sent");
    assert_eq!(token_calls(&sim, 200), 2);
    let log = text(&refresh);
    assert!(log.contains("ML_REFRESH_TOKEN differs"), "{log}");
    assert!(log.contains(&token_fingerprint(&SecretString::from(old.clone()))));
    assert_no_tokens(&log, &[old], "the log");
}

async fn a_revoked_grant_requires_reauth_and_writes_nothing_else(db: TestDb) {
    // Arrange: a synced seller whose 5-second token is due when the grant is revoked
    let sim = spawn_sim(20, Duration::from_secs(5)).await;
    prepare_inventory(&db, &sim).await;
    let vars = settings(&sim, &db, true);
    let dir = tempfile::tempdir().unwrap();
    let first = run_cli(&["sync"], &vars, dir.path()).await;
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    let stock = db.ml_quantities().await;
    let runs = db
        .scalar(&format!("SELECT COUNT(*) FROM {}", db.state_table("runs")))
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    sim.revoke_grant();

    // Act
    let revoked = run_cli(&["sync"], &vars, dir.path()).await;
    let revoked_calls = token_calls(&sim, 400);
    let again = run_cli(&["sync"], &vars, dir.path()).await;
    let third = run_cli(&["sync"], &vars, dir.path()).await;

    // Assert: exit 4 with the commands to run; the account says why; nothing else moved
    assert_eq!(revoked.status.code(), Some(4), "{}", describe(&revoked));
    let message = String::from_utf8_lossy(&revoked.stderr).to_string();
    let redirect = &sim.credentials().redirect_uri;
    assert!(
        message.contains(&format!(
            "meli-stock auth url --site MLC --redirect-uri {redirect}"
        )),
        "{message}"
    );
    assert!(
        message.contains("meli-stock auth exchange --code"),
        "{message}"
    );
    let stored = account(&db.store, &sim).await;
    assert_eq!(stored.status.as_str(), "reauth_required");
    let last_error = stored.last_error.unwrap();
    assert!(last_error.contains("grant rejected"), "{last_error}");
    assert_eq!(revoked_calls, 1, "the stored token was refused");
    assert_eq!(db.ml_quantities().await, stock);
    let runs_after = db
        .scalar(&format!("SELECT COUNT(*) FROM {}", db.state_table("runs")))
        .await;
    assert_eq!(runs_after, runs, "no run was recorded");
    // The settings' (older) token differs from the refused one, so the next run tries it
    // once; the run after that remembers it was refused.
    assert_eq!(again.status.code(), Some(4), "{}", describe(&again));
    assert_eq!(third.status.code(), Some(4), "{}", describe(&third));
    let remembered = String::from_utf8_lossy(&third.stderr).to_string();
    assert_eq!(
        remembered.matches("re-authorization needed").count(),
        1,
        "the refusal is told once: {remembered}"
    );
    assert_eq!(token_calls(&sim, 400), 2, "each dead token was sent once");
    assert_eq!(events(&db.store, "reauth_required").await.len(), 2);

    // Act: the seller authorized again elsewhere; the settings now hold the new token
    let code = sim.authorize(redirect, None).unwrap();
    let credentials = sim.credentials();
    let oauth = OAuthClient::new(
        &ClientConfig {
            base_url: sim.base_url(),
            ..ClientConfig::default()
        },
        credentials.app_id.clone(),
        SecretString::from(credentials.secret.clone()),
    )
    .unwrap();
    let fresh = oauth.exchange_code(&code, redirect, None).await.unwrap();
    let mut repaired = vars.clone();
    let new_refresh = fresh.refresh_token.unwrap();
    set(
        &mut repaired,
        "ML_REFRESH_TOKEN",
        new_refresh.expose_secret(),
    );
    let fixed = run_cli(&["sync"], &repaired, dir.path()).await;

    // Assert: tried because the account needed it, and healthy again
    assert_eq!(fixed.status.code(), Some(0), "{}", describe(&fixed));
    assert_eq!(account(&db.store, &sim).await.status.as_str(), "ok");
    assert_eq!(events(&db.store, "imported").await.len(), 2);
}

async fn auth_url_then_exchange_stores_a_working_account(db: TestDb) {
    // Arrange: no token in the settings at all
    let sim = spawn_sim(20, Duration::from_secs(21_600)).await;
    prepare_inventory(&db, &sim).await;
    let vars = settings(&sim, &db, false);
    let dir = tempfile::tempdir().unwrap();
    let redirect = sim.credentials().redirect_uri;

    // Act: the link, the browser step (the simulator's), the exchange
    let url = run_cli(&["auth", "url", "--site", "MLC"], &vars, dir.path()).await;
    assert_eq!(url.status.code(), Some(0), "{}", describe(&url));
    let printed = String::from_utf8_lossy(&url.stdout).to_string();
    let link = printed
        .lines()
        .find(|l| l.starts_with("https://auth.mercadolibre.cl/authorization?"))
        .expect("the link is printed on a line of its own");
    let link = url::Url::parse(link).unwrap();
    let param = |name: &str| {
        link.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string())
            .unwrap()
    };
    assert_eq!(param("code_challenge_method"), "S256");
    assert_eq!(param("redirect_uri"), redirect);
    let code = sim
        .authorize(&redirect, Some((&param("code_challenge"), "S256")))
        .unwrap();
    let exchange = run_cli(&["auth", "exchange", "--code", &code], &vars, dir.path()).await;
    let status = run_cli(&["auth", "status"], &vars, dir.path()).await;
    let sync = run_cli(&["sync"], &vars, dir.path()).await;
    let reused = run_cli(&["auth", "exchange", "--code", &code], &vars, dir.path()).await;

    // Assert
    assert_eq!(exchange.status.code(), Some(0), "{}", describe(&exchange));
    let stored = account(&db.store, &sim).await;
    assert_eq!(stored.site_id.as_deref(), Some("MLC"));
    assert_eq!(stored.status.as_str(), "ok");
    assert_eq!(events(&db.store, "authorized").await.len(), 1);
    let shown = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(
        shown.contains(&format!("seller {}", sim.config().seller_id)),
        "{shown}"
    );
    assert!(shown.contains("): ok"), "{shown}");
    assert!(shown.contains("expires in 5h"), "{shown}");
    assert_eq!(sync.status.code(), Some(0), "{}", describe(&sync));
    assert_eq!(
        reused.status.code(),
        Some(2),
        "the pending link was used up"
    );
    let credentials = sim.credentials();
    let tokens = [credentials.access_token, credentials.refresh_token, code];
    assert_no_tokens(&everything_stored(&db).await, &tokens, "the database");
    assert_no_tokens(&text(&sync), &tokens, "the sync's log");
}

async fn rotating_the_key_reencrypts_and_retires_the_old_key(db: TestDb) {
    // Arrange
    let sim = spawn_sim(20, Duration::from_secs(21_600)).await;
    prepare_inventory(&db, &sim).await;
    let mut vars = settings(&sim, &db, true);
    let dir = tempfile::tempdir().unwrap();
    let first = run_cli(&["sync"], &vars, dir.path()).await;
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    let before = account(&db.store, &sim).await;

    // Act
    set(&mut vars, "MELI_STOCK_NEW_KEY", NEW_KEY);
    let rotate = run_cli(&["auth", "rotate-key"], &vars, dir.path()).await;
    let old_key = run_cli(&["auth", "status"], &vars, dir.path()).await;
    set(&mut vars, "MELI_STOCK_KEY", NEW_KEY);
    let new_key = run_cli(&["auth", "refresh"], &vars, dir.path()).await;

    // Assert
    assert_eq!(rotate.status.code(), Some(0), "{}", describe(&rotate));
    assert_eq!(old_key.status.code(), Some(2), "{}", describe(&old_key));
    assert!(text(&old_key).contains("is not the key the stored tokens"));
    assert_eq!(new_key.status.code(), Some(0), "{}", describe(&new_key));
    let after = account(&db.store, &sim).await;
    assert_ne!(after.access_token, before.access_token);
    assert_eq!(events(&db.store, "key_rotated").await.len(), 1);
    assert_eq!(token_calls(&sim, 400), 0);
}

async fn sync_all_keeps_going_past_a_broken_seller(db: TestDb) {
    // Arrange: the simulator's seller, and a seller whose token ML refuses
    let sim = spawn_sim(20, Duration::from_secs(21_600)).await;
    prepare_inventory(&db, &sim).await;
    let good = settings(&sim, &db, true);
    let dir = tempfile::tempdir().unwrap();
    let first = run_cli(&["sync"], &good, dir.path()).await;
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    let mut broken = good.clone();
    set(&mut broken, "ML_REFRESH_TOKEN", "TG-0000000000-999");
    let add = run_cli(&["accounts", "add", "--seller", "999"], &broken, dir.path()).await;
    assert_eq!(add.status.code(), Some(4), "{}", describe(&add));
    let mut all = good.clone();
    all.retain(|(k, _)| k != "ML_SELLER_ID" && k != "ML_REFRESH_TOKEN");

    // Act
    let sync = run_cli(&["sync", "--all"], &all, dir.path()).await;

    // Assert: the healthy seller synced; the exit code reports the broken one
    assert_eq!(sync.status.code(), Some(4), "{}", describe(&sync));
    let log = text(&sync);
    assert!(log.contains("1 of 2 sellers failed"), "{log}");
    assert!(log.contains("seller 999"), "{log}");
    let successes = db
        .scalar(&format!(
            "SELECT COUNT(*) FROM {} WHERE outcome = 'success' AND seller_id = {}",
            db.state_table("runs"),
            sim.config().seller_id
        ))
        .await;
    assert_eq!(successes, 2);
    let list = run_cli(&["accounts", "list"], &all, dir.path()).await;
    assert!(
        text(&list).contains("reauth_required"),
        "{}",
        describe(&list)
    );
}

both_stores!(
    a_stale_refresh_token_in_the_settings_is_ignored,
    a_revoked_grant_requires_reauth_and_writes_nothing_else,
    auth_url_then_exchange_stores_a_working_account,
    rotating_the_key_reencrypts_and_retires_the_old_key,
    sync_all_keeps_going_past_a_broken_seller,
);

#[tokio::test]
async fn postgres_without_a_key_is_refused_with_how_to_make_one() {
    // Arrange
    let db = TestDb::postgres().await;
    let sim = spawn_sim(20, Duration::from_secs(21_600)).await;
    let mut vars = settings(&sim, &db, true);
    vars.retain(|(k, _)| k != "MELI_STOCK_KEY");
    let dir = tempfile::tempdir().unwrap();

    // Act
    let sync = run_cli(&["sync"], &vars, dir.path()).await;

    // Assert
    assert_eq!(sync.status.code(), Some(2), "{}", describe(&sync));
    assert!(
        text(&sync).contains("openssl rand -hex 32"),
        "{}",
        describe(&sync)
    );
    assert!(db.store.accounts().await.unwrap().is_empty());
    assert_eq!(token_calls(&sim, 200), 0);
}

#[tokio::test]
async fn sqlite_without_a_key_makes_a_private_key_file_beside_the_database() {
    // Arrange
    let db = TestDb::sqlite().await;
    let sim = spawn_sim(20, Duration::from_secs(21_600)).await;
    prepare_inventory(&db, &sim).await;
    let mut vars = settings(&sim, &db, true);
    vars.retain(|(k, _)| k != "MELI_STOCK_KEY");
    let dir = tempfile::tempdir().unwrap();

    // Act
    let sync = run_cli(&["sync"], &vars, dir.path()).await;
    let status = run_cli(&["auth", "status"], &vars, dir.path()).await;

    // Assert
    assert_eq!(sync.status.code(), Some(0), "{}", describe(&sync));
    assert_eq!(status.status.code(), Some(0), "{}", describe(&status));
    let key_file = db.sqlite_path().with_extension("key");
    let text = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(text.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let with_test_key = meli_stock::tokens::Vault::with_key(
        &db.store,
        &meli_stock::tokens::TokenKey::from_hex(KEY).unwrap(),
        meli_stock::tokens::KeySource::Setting,
    )
    .await;
    assert!(
        with_test_key.is_err(),
        "the file's key, not the test key, sealed the tokens"
    );
}
