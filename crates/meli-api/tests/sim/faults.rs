//! Scripted 429 bursts, server errors, dropped connections and malformed bodies.

use std::time::{Duration, Instant};

use meli_api::{ClientConfig, Endpoint, Error, MeliClient};

use crate::helpers::*;

#[tokio::test]
async fn rate_limit_bursts_with_and_without_retry_after_are_survived() {
    // Arrange
    let t = spawn(60).await;
    let ids: Vec<String> = t
        .sim
        .catalogue()
        .listings
        .iter()
        .map(|l| l.id.clone())
        .collect();
    let faults = t.sim.faults().for_endpoint("items");
    faults.rate_limit_next(3, None);
    faults.rate_limit_next(1, Some(1));
    let started = Instant::now();

    // Act: one chunk at a time so the scripted answers hit one request in order.
    let results = t.client.items(&ids[..20], &[], false).await.unwrap();

    // Assert
    assert_eq!(results.len(), 20);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let ours = t.client.counters();
    assert_eq!(ours.rate_limited, 4);
    assert_eq!(ours.calls(Endpoint::Items), 5);
    let theirs = t.sim.counters();
    assert_eq!(theirs.get("items", 429), 4);
    assert_eq!(theirs.get("items", 200), 1);
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried() {
    let t = spawn(20).await;
    let faults = t.sim.faults().for_endpoint("users_me");
    faults
        .fail_next(1, 500)
        .fail_next(1, 502)
        .drop_next(1)
        .fail_next(1, 503);

    let me = t.client.users_me().await.unwrap();

    assert_eq!(me.id, t.seller_id());
    let ours = t.client.counters();
    assert_eq!(ours.retries, 4);
    assert_eq!(ours.calls_with_status(Endpoint::UsersMe, 0), 1);
    let theirs = t.sim.counters();
    assert_eq!(theirs.calls("users_me"), 5);
    assert_eq!(theirs.get("users_me", 200), 1);
}

#[tokio::test]
async fn server_errors_beyond_max_attempts_end_the_request() {
    let t = spawn(20).await;
    t.sim.faults().for_endpoint("users_me").fail_next(10, 504);
    let config = ClientConfig {
        max_attempts: 3,
        ..client_config(&t.sim)
    };
    let client = MeliClient::new(config, t.provider.clone()).unwrap();

    let err = client.users_me().await.unwrap_err();

    assert!(matches!(err, Error::Server { status: 504, .. }), "{err:?}");
    assert_eq!(t.sim.counters().calls("users_me"), 3);
}

#[tokio::test]
async fn malformed_bodies_are_decode_errors() {
    let t = spawn(20).await;
    let ids: Vec<String> = t
        .sim
        .catalogue()
        .listings
        .iter()
        .map(|l| l.id.clone())
        .collect();
    t.sim.faults().for_endpoint("items").malformed_next(1);
    t.sim
        .faults()
        .for_endpoint("items_search")
        .malformed_next(1);

    let items = t.client.items(&ids[..5], &[], false).await.unwrap_err();
    let scan: Vec<_> =
        futures::StreamExt::collect::<Vec<_>>(t.client.scan_item_ids(t.seller_id(), &[])).await;

    assert!(
        matches!(
            items,
            Error::Decode {
                endpoint: Endpoint::Items,
                ..
            }
        ),
        "{items:?}"
    );
    assert_eq!(scan.len(), 1);
    assert!(matches!(
        scan[0],
        Err(Error::Decode {
            endpoint: Endpoint::ItemsSearch,
            ..
        })
    ));
}
