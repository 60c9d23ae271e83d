//! Rate limits, fault switches and request counters.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use meli_sim::SimConfig;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_burst_of_50_at_5_rps_gets_documented_429s() {
    // Arrange
    let t = common::spawn_with(SimConfig {
        rps: 5.0,
        burst: 10,
        ..common::config()
    })
    .await;

    // Act
    let requests = (0..50).map(|_| t.get("/users/me"));
    let responses = futures::future::join_all(requests).await;

    // Assert
    let ok = responses
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    let limited: Vec<_> = responses
        .into_iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(
        (10..=13).contains(&ok),
        "{ok} requests passed a bucket of 10 at 5/s"
    );
    assert_eq!(ok + limited.len(), 50);
    assert!(
        limited[0].headers().get("retry-after").is_none(),
        "Retry-After is off by default"
    );
    let body: serde_json::Value = limited.into_iter().next().unwrap().json().await.unwrap();
    assert_eq!(
        body,
        json!({"message": "local_rate_limited", "status": 429})
    );
    assert_eq!(t.sim.counters().get("users_me", 429), 50 - ok as u64);
}

#[tokio::test]
async fn rate_limit_retry_after_header_is_switchable() {
    let t = common::spawn_with(SimConfig {
        rps: 1.0,
        burst: 1,
        ..common::config()
    })
    .await;
    t.sim.faults().set_retry_after(Some(2));

    let first = t.get("/users/me").await;
    let second = t.get("/users/me").await;

    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(second.headers()["retry-after"], "2");
}

#[tokio::test]
async fn user_product_stock_beyond_100_a_minute_gets_429() {
    let t = common::spawn_with(SimConfig {
        user_product_stock_rpm: 100,
        ..common::config()
    })
    .await;
    let up = t
        .sim
        .catalogue()
        .user_product_ids()
        .into_iter()
        .next()
        .unwrap();

    let mut statuses = Vec::new();
    for _ in 0..110 {
        statuses.push(t.get(&format!("/user-products/{up}/stock")).await.status());
    }
    let (me, _) = t.get_json("/users/me").await;

    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!((100..=103).contains(&ok), "{ok} passed");
    assert_eq!(ok + limited, 110);
    assert_eq!(me, StatusCode::OK, "other endpoints keep working");
    assert_eq!(
        t.sim.counters().get("user_product_stock", 429),
        limited as u64
    );
}

#[tokio::test]
async fn scripted_errors_bursts_and_malformed_bodies_hit_the_next_requests() {
    // Arrange
    let t = common::spawn().await;
    let faults = t.sim.faults();
    faults.fail_next(1, 503).fail_next(1, 500);
    faults.rate_limit_next(1, Some(7)).rate_limit_next(1, None);
    faults.malformed_next(1);

    // Act
    let unavailable = t.get_json("/users/me").await;
    let internal = t.get_json("/users/me").await;
    let limited_with = t.get("/users/me").await;
    let limited_without = t.get("/users/me").await;
    let malformed = t.get("/users/me").await;
    let normal = t.get_json("/users/me").await;

    // Assert
    assert_eq!(unavailable.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(unavailable.1["error"], "service_not_available");
    assert_eq!(internal.0, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(internal.1["message"], "internal_server_error");
    assert_eq!(limited_with.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited_with.headers()["retry-after"], "7");
    assert_eq!(limited_without.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited_without.headers().get("retry-after").is_none());
    assert_eq!(malformed.status(), StatusCode::OK);
    let text = malformed.text().await.unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
    assert_eq!(normal.0, StatusCode::OK);
    let counters = t.sim.counters();
    assert_eq!(counters.get("users_me", 503), 1);
    assert_eq!(counters.get("users_me", 500), 1);
    assert_eq!(counters.get("users_me", 429), 2);
    assert_eq!(counters.get("users_me", 200), 2);
    assert_eq!(faults.pending(), 0);
}

#[tokio::test]
async fn scoped_faults_and_dropped_connections_only_touch_their_endpoint() {
    let t = common::spawn().await;
    let item = t.sim.catalogue().listings[0].id.clone();
    t.sim
        .faults()
        .for_endpoint("items")
        .drop_next(1)
        .fail_next(1, 502);

    let me = t.get_json("/users/me").await;
    let dropped = t
        .http
        .get(t.url(&format!("/items/{item}")))
        .bearer_auth(&t.token)
        .send()
        .await;
    let bad_gateway = t.get_json(&format!("/items/{item}")).await;
    let fine = t.get_json(&format!("/items/{item}")).await;

    assert_eq!(me.0, StatusCode::OK);
    assert!(
        dropped.is_err(),
        "the connection must close without a response"
    );
    assert_eq!(bad_gateway.0, StatusCode::BAD_GATEWAY);
    assert_eq!(bad_gateway.1["error"], "bad_gateway");
    assert_eq!(fine.0, StatusCode::OK);
    let counters = t.sim.counters();
    assert_eq!(counters.get("items", 0), 1);
    assert_eq!(counters.get("items", 502), 1);
    assert_eq!(counters.calls("items"), 3);
}

#[tokio::test]
async fn latency_with_jitter_delays_answers() {
    let t = common::spawn().await;
    t.sim
        .faults()
        .for_endpoint("users_me")
        .set_latency(Duration::from_millis(150), Duration::from_millis(20));

    let started = std::time::Instant::now();
    let (status, _) = t.get_json("/users/me").await;
    let slow = started.elapsed();
    let started = std::time::Instant::now();
    let _ = t
        .get_json(&format!("/items/{}", t.sim.catalogue().listings[0].id))
        .await;
    let fast = started.elapsed();

    assert_eq!(status, StatusCode::OK);
    assert!(slow >= Duration::from_millis(130), "{slow:?}");
    assert!(fast < Duration::from_millis(100), "{fast:?}");
}

#[tokio::test]
async fn admin_http_scripts_faults_and_reports_counters() {
    let t = common::spawn().await;

    let response = t
        .http
        .post(t.url("/_sim/faults"))
        .json(&json!({"kind": "fail", "status": 504, "count": 1, "endpoint": "users_me"}))
        .send()
        .await
        .unwrap();
    let (timeout, body) = t.get_json("/users/me").await;
    let counters: serde_json::Value = t
        .http
        .get(t.url("/_sim/counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tokens: serde_json::Value = t
        .http
        .get(t.url("/_sim/tokens"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert!(response.status().is_success());
    assert_eq!(timeout, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["error"], "gateway_timeout");
    assert_eq!(
        counters["requests"][0],
        json!({"endpoint": "users_me", "status": 504, "count": 1})
    );
    assert_eq!(tokens["access_token"], t.token.as_str());
}
