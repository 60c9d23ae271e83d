//! Token rotation, expiry and revocation against the simulator's OAuth rules.

use std::time::Duration;

use meli_api::{Endpoint, Error, ExposeSecret, SecretString};

use crate::helpers::*;

#[tokio::test]
async fn refresh_rotates_the_pair_and_the_old_refresh_token_is_dead() {
    // Arrange
    let t = spawn(20).await;
    let old = SecretString::from(t.sim.credentials().refresh_token);

    // Act
    let fresh = t.oauth.refresh(&old).await.unwrap();
    let reused = t.oauth.refresh(&old).await.unwrap_err();
    let again = t
        .oauth
        .refresh(fresh.refresh_token.as_ref().unwrap())
        .await
        .unwrap();

    // Assert
    assert_ne!(
        fresh.refresh_token.as_ref().unwrap().expose_secret(),
        old.expose_secret()
    );
    assert_eq!(fresh.user_id, t.seller_id());
    assert!(matches!(reused, Error::InvalidGrant { .. }), "{reused:?}");
    assert!(reused.is_reauth_required());
    assert_ne!(
        again.access_token.expose_secret(),
        fresh.access_token.expose_secret()
    );
    let counters = t.sim.counters();
    assert_eq!(counters.get("oauth_token", 200), 2);
    assert_eq!(counters.get("oauth_token", 400), 1);
}

#[tokio::test]
async fn expired_access_token_gets_one_refresh_and_one_retry() {
    // Arrange
    let t = spawn(20).await;
    t.client.users_me().await.unwrap();
    t.sim.expire_access_tokens();

    // Act
    let me = t.client.users_me().await.unwrap();

    // Assert
    assert_eq!(me.id, t.seller_id());
    let ours = t.client.counters();
    assert_eq!(ours.calls_with_status(Endpoint::UsersMe, 401), 1);
    assert_eq!(ours.calls_with_status(Endpoint::UsersMe, 200), 2);
    let theirs = t.sim.counters();
    assert_eq!(theirs.calls("oauth_token"), 1);
    assert_eq!(theirs.get("users_me", 401), 1);
    // The provider holds the rotated pair, which the simulator now treats as current.
    let current = t.provider.current().await;
    let credentials = t.sim.credentials();
    assert_eq!(
        current.access_token.expose_secret(),
        credentials.access_token
    );
    assert_eq!(
        current.refresh_token.unwrap().expose_secret(),
        credentials.refresh_token
    );
}

#[tokio::test]
async fn token_expired_by_the_clock_is_refreshed_after_a_401() {
    let t = spawn(20).await;
    t.sim.clock().advance(Duration::from_secs(7 * 3600));

    t.client.users_me().await.unwrap();

    let theirs = t.sim.counters();
    assert_eq!(theirs.get("users_me", 401), 1);
    assert_eq!(theirs.get("users_me", 200), 1);
    assert_eq!(theirs.get("oauth_token", 200), 1);
}

#[tokio::test]
async fn revoked_grant_ends_calls_as_reauth_required() {
    let t = spawn(20).await;
    t.sim.revoke_grant();

    let err = t.client.users_me().await.unwrap_err();

    assert!(err.is_reauth_required(), "{err:?}");
    assert_eq!(t.sim.counters().calls("oauth_token"), 1);
    assert_eq!(t.sim.counters().calls("users_me"), 1);
}

#[tokio::test]
async fn refresh_token_older_than_six_months_is_refused() {
    let t = spawn(20).await;
    t.sim.clock().advance(Duration::from_secs(200 * 24 * 3600));

    let err = t.client.users_me().await.unwrap_err();

    assert!(matches!(err, Error::InvalidGrant { .. }), "{err:?}");
}
