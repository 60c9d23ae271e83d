//! 429s, 5xx, timeouts, caps on attempts, malformed bodies and pacing.

use std::time::{Duration, Instant};

use meli_api::{ClientConfig, Endpoint, Error};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

const ME: &str = "/users/me";

/// `first` answers `times` times, then `/users/me` succeeds.
async fn mount_then_ok(server: &MockServer, first: ResponseTemplate, times: u64) {
    Mock::given(method("GET"))
        .and(path(ME))
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(ME))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "77"})))
        .mount(server)
        .await;
}

#[tokio::test]
async fn rate_limited_call_with_a_non_json_body_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    mount_then_ok(
        &server,
        ResponseTemplate::new(429).set_body_string("Too Many Requests"),
        2,
    )
    .await;
    let (client, _) = client_with(fast_config(&server));

    let me = client.users_me().await.unwrap();

    assert_eq!(me.id, 77);
    assert_eq!(received_on(&server, ME).await.len(), 3);
    let counters = client.counters();
    assert_eq!((counters.rate_limited, counters.retries), (2, 2));
    assert_eq!(counters.calls_with_status(Endpoint::UsersMe, 429), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_before_the_next_attempt() {
    let server = MockServer::start().await;
    let limited = ResponseTemplate::new(429)
        .insert_header("Retry-After", "1")
        .set_body_json(json!({"message": "local_rate_limited", "status": 429}));
    mount_then_ok(&server, limited, 1).await;
    let (client, _) = client_with(fast_config(&server));
    let started = Instant::now();

    client.users_me().await.unwrap();

    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let requests = received_on(&server, ME).await;
    assert_eq!(requests.len(), 2);
}

#[tokio::test]
async fn retry_after_longer_than_backoff_max_ends_the_request_with_the_hint() {
    let server = MockServer::start().await;
    let limited = ResponseTemplate::new(429).insert_header("Retry-After", "3600");
    mount_then_ok(&server, limited, 1).await;
    let (client, _) = client_with(fast_config(&server));

    let err = client.users_me().await.unwrap_err();

    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d), .. }
            if d == Duration::from_secs(3600)),
        "{err:?}"
    );
    assert_eq!(received_on(&server, ME).await.len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ME))
        .respond_with(ResponseTemplate::new(500).set_body_string("internal_server_error"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_then_ok(&server, ResponseTemplate::new(503), 1).await;
    let (client, _) = client_with(fast_config(&server));

    client.users_me().await.unwrap();

    assert_eq!(received_on(&server, ME).await.len(), 3);
    assert_eq!(client.counters().retries, 2);
}

#[tokio::test]
async fn retries_stop_at_max_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ME))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let config = ClientConfig {
        max_attempts: 3,
        ..fast_config(&server)
    };
    let (client, _) = client_with(config);

    let err = client.users_me().await.unwrap_err();

    assert!(
        matches!(
            err,
            Error::Server {
                endpoint: Endpoint::UsersMe,
                status: 503
            }
        ),
        "{err:?}"
    );
    assert_eq!(received_on(&server, ME).await.len(), 3);
    assert_eq!(client.counters().retries, 2);
}

#[tokio::test]
async fn rate_limits_that_never_end_give_rate_limited_after_max_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ME))
        .respond_with(ResponseTemplate::new(429).set_body_string("<html>slow down</html>"))
        .mount(&server)
        .await;
    let config = ClientConfig {
        max_attempts: 2,
        ..fast_config(&server)
    };
    let (client, _) = client_with(config);

    let err = client.users_me().await.unwrap_err();

    assert!(
        matches!(
            err,
            Error::RateLimited {
                retry_after: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(received_on(&server, ME).await.len(), 2);
}

#[tokio::test]
async fn timed_out_read_is_retried() {
    let server = MockServer::start().await;
    let slow = ResponseTemplate::new(200)
        .set_body_json(json!({"id": 1}))
        .set_delay(Duration::from_millis(600));
    mount_then_ok(&server, slow, 1).await;
    let config = ClientConfig {
        request_timeout: Duration::from_millis(200),
        ..fast_config(&server)
    };
    let (client, _) = client_with(config);

    let me = client.users_me().await.unwrap();

    assert_eq!(me.id, 77);
    assert_eq!(received_on(&server, ME).await.len(), 2);
    assert_eq!(client.counters().calls_with_status(Endpoint::UsersMe, 0), 1);
}

#[tokio::test]
async fn refused_connection_ends_as_transport_error_after_attempts() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let server = MockServer::start().await;
    let mut config = ClientConfig {
        max_attempts: 3,
        ..fast_config(&server)
    };
    config.base_url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let (client, _) = client_with(config);

    let err = client.users_me().await.unwrap_err();

    assert!(
        matches!(
            err,
            Error::Transport {
                endpoint: Endpoint::UsersMe,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(client.counters().calls_with_status(Endpoint::UsersMe, 0), 3);
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_naming_the_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ME))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"id": 77, "nick"#))
        .mount(&server)
        .await;
    let (client, _) = client_with(fast_config(&server));

    let err = client.users_me().await.unwrap_err();

    let Error::Decode { endpoint, message } = &err else {
        panic!("expected decode, got {err:?}")
    };
    assert_eq!(*endpoint, Endpoint::UsersMe);
    assert!(message.contains(r#"{"id": 77"#), "{message}");
    assert!(err.to_string().contains("users_me"));
}

#[tokio::test]
async fn wrong_shape_is_a_decode_error_not_a_panic() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ME))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(["not", "a", "user"])))
        .mount(&server)
        .await;
    let (client, _) = client_with(fast_config(&server));

    let err = client.users_me().await.unwrap_err();

    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn forbidden_and_other_statuses_carry_mls_message() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ME))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"message":"caller.ip_not_allowed","error":"forbidden","status":403,"cause":[]}),
        ))
        .mount(&server)
        .await;
    let (client, _) = client_with(fast_config(&server));

    let err = client.users_me().await.unwrap_err();

    assert!(
        matches!(&err, Error::Forbidden { message, .. } if message == "caller.ip_not_allowed"),
        "{err:?}"
    );
    assert_eq!(received_on(&server, ME).await.len(), 1);
}

#[tokio::test]
async fn the_client_paces_itself_at_requests_per_second() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ME))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 77})))
        .mount(&server)
        .await;
    let config = ClientConfig {
        requests_per_second: 20.0,
        ..fast_config(&server)
    };
    let (client, _) = client_with(config);
    let started = Instant::now();

    let calls = (0..11).map(|_| client.users_me());
    let results = futures::future::join_all(calls).await;

    // Burst 1 at 20/s: eleven calls need at least ten 50 ms intervals.
    assert!(results.iter().all(Result::is_ok));
    assert!(
        started.elapsed() >= Duration::from_millis(480),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(received_on(&server, ME).await.len(), 11);
}

#[tokio::test]
async fn in_flight_requests_are_capped_at_max_concurrency() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ME))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 77}))
                .set_delay(Duration::from_millis(200)),
        )
        .mount(&server)
        .await;
    let config = ClientConfig {
        max_concurrency: 2,
        ..fast_config(&server)
    };
    let (client, _) = client_with(config);
    let started = Instant::now();

    let calls = (0..6).map(|_| client.users_me());
    futures::future::join_all(calls).await;

    // Six 200 ms calls two at a time: three rounds.
    assert!(
        started.elapsed() >= Duration::from_millis(590),
        "{:?}",
        started.elapsed()
    );
}
