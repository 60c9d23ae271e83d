//! 401 handling, single-flight refresh, early refresh, and secrets kept out of output.

use std::sync::Arc;
use std::time::Duration;

use meli_api::{
    Endpoint, Error, ExposeSecret, InMemoryTokenProvider, MeliClient, Pkce, SecretString,
    TokenProvider,
};
use serde_json::json;
use wiremock::matchers::{bearer_token, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

const INVALID_TOKEN: &str =
    r#"{"message":"invalid_token","error":"not_found","status":401,"cause":[]}"#;

async fn mount_refresh(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
            NEW_ACCESS,
            NEW_REFRESH,
            json!(77),
            "Bearer",
        )))
        .mount(server)
        .await;
}

async fn mount_me(server: &MockServer, token: &str, status: u16) {
    let template = if status == 200 {
        ResponseTemplate::new(200).set_body_json(json!({"id": 77, "nickname": "SELLER"}))
    } else {
        ResponseTemplate::new(status).set_body_string(INVALID_TOKEN)
    };
    Mock::given(method("GET"))
        .and(path("/users/me"))
        .and(bearer_token(token))
        .respond_with(template)
        .mount(server)
        .await;
}

#[tokio::test]
async fn unauthorized_call_refreshes_once_and_retries_once() {
    // Arrange
    let server = MockServer::start().await;
    mount_refresh(&server).await;
    mount_me(&server, OLD_ACCESS, 401).await;
    mount_me(&server, NEW_ACCESS, 200).await;
    let (client, provider) = client_with(fast_config(&server));

    // Act
    let me = client.users_me().await.unwrap();

    // Assert
    assert_eq!(me.id, 77);
    assert_eq!(received_on(&server, "/oauth/token").await.len(), 1);
    assert_eq!(received_on(&server, "/users/me").await.len(), 2);
    let current = provider.current().await;
    assert_eq!(current.access_token.expose_secret(), NEW_ACCESS);
    assert_eq!(current.refresh_token.unwrap().expose_secret(), NEW_REFRESH);
    let counters = client.counters();
    assert_eq!(counters.calls_with_status(Endpoint::UsersMe, 401), 1);
    assert_eq!(counters.calls_with_status(Endpoint::UsersMe, 200), 1);
}

#[tokio::test]
async fn second_unauthorized_answer_is_an_error() {
    let server = MockServer::start().await;
    mount_refresh(&server).await;
    mount_me(&server, OLD_ACCESS, 401).await;
    mount_me(&server, NEW_ACCESS, 401).await;
    let (client, _) = client_with(fast_config(&server));

    let err = client.users_me().await.unwrap_err();

    assert!(
        matches!(
            err,
            Error::Unauthorized {
                endpoint: Endpoint::UsersMe
            }
        ),
        "{err:?}"
    );
    assert_eq!(received_on(&server, "/oauth/token").await.len(), 1);
    assert_eq!(received_on(&server, "/users/me").await.len(), 2);
}

#[tokio::test]
async fn dead_grant_on_refresh_ends_the_request_as_reauth_required() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error":"invalid_grant","error_description":"grant revoked","status":400}),
        ))
        .mount(&server)
        .await;
    mount_me(&server, OLD_ACCESS, 401).await;
    let (client, _) = client_with(fast_config(&server));

    let err = client.users_me().await.unwrap_err();

    assert!(err.is_reauth_required(), "{err:?}");
    assert_eq!(received_on(&server, "/users/me").await.len(), 1);
}

#[tokio::test]
async fn concurrent_unauthorized_calls_share_one_refresh() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body(NEW_ACCESS, NEW_REFRESH, json!(77), "Bearer"))
                .set_delay(Duration::from_millis(100)),
        )
        .mount(&server)
        .await;
    mount_me(&server, OLD_ACCESS, 401).await;
    mount_me(&server, NEW_ACCESS, 200).await;
    let (client, _) = client_with(fast_config(&server));

    let calls = (0..6).map(|_| client.users_me());
    let results = futures::future::join_all(calls).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(received_on(&server, "/oauth/token").await.len(), 1);
}

#[tokio::test]
async fn token_near_expiry_is_refreshed_before_the_call() {
    let server = MockServer::start().await;
    mount_refresh(&server).await;
    mount_me(&server, NEW_ACCESS, 200).await;
    let config = fast_config(&server);
    let mut expiring = tokens(OLD_ACCESS, OLD_REFRESH);
    expiring.expires_at = chrono::Utc::now() + chrono::Duration::minutes(10);
    let provider = InMemoryTokenProvider::new(oauth_client(&config), expiring)
        .with_margin(Duration::from_secs(30 * 60));
    let client = MeliClient::new(config, Arc::new(provider)).unwrap();

    client.users_me().await.unwrap();

    assert_eq!(received_on(&server, "/oauth/token").await.len(), 1);
    let me_calls = received_on(&server, "/users/me").await;
    assert_eq!(me_calls.len(), 1);
}

#[tokio::test]
async fn failed_early_refresh_keeps_using_the_still_valid_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    mount_me(&server, OLD_ACCESS, 200).await;
    let config = meli_api::ClientConfig {
        max_attempts: 2,
        ..fast_config(&server)
    };
    let mut expiring = tokens(OLD_ACCESS, OLD_REFRESH);
    expiring.expires_at = chrono::Utc::now() + chrono::Duration::minutes(10);
    let provider = InMemoryTokenProvider::new(oauth_client(&config), expiring);
    let client = MeliClient::new(config, Arc::new(provider)).unwrap();

    client.users_me().await.unwrap();

    assert_eq!(received_on(&server, "/oauth/token").await.len(), 2);
}

#[tokio::test]
async fn refresh_after_unauthorized_skips_a_token_already_replaced() {
    let server = MockServer::start().await;
    mount_refresh(&server).await;
    let config = fast_config(&server);
    let provider =
        InMemoryTokenProvider::new(oauth_client(&config), tokens(OLD_ACCESS, OLD_REFRESH));

    let first = provider
        .refresh_after_unauthorized(&SecretString::from(OLD_ACCESS))
        .await
        .unwrap();
    let second = provider
        .refresh_after_unauthorized(&SecretString::from(OLD_ACCESS))
        .await
        .unwrap();

    assert_eq!(first.expose_secret(), NEW_ACCESS);
    assert_eq!(second.expose_secret(), NEW_ACCESS);
    assert_eq!(received_on(&server, "/oauth/token").await.len(), 1);
}

#[tokio::test]
async fn debug_output_and_logs_never_show_a_token() {
    // Arrange
    let (logs, _guard) = capture_logs();
    let server = MockServer::start().await;
    mount_refresh(&server).await;
    mount_me(&server, OLD_ACCESS, 401).await;
    mount_me(&server, NEW_ACCESS, 200).await;
    let config = fast_config(&server);
    let oauth = oauth_client(&config);
    let (client, provider) = client_with(config);
    let pkce = Pkce::generate();

    // Act
    client.users_me().await.unwrap();
    let shown = format!(
        "{:?} {:?} {:?} {:?} {:?}",
        provider.current().await,
        provider,
        client,
        oauth,
        pkce
    );
    let log_text = logs.text();

    // Assert
    for secret in [
        OLD_ACCESS,
        NEW_ACCESS,
        OLD_REFRESH,
        NEW_REFRESH,
        SECRET,
        pkce.verifier.as_str(),
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
        assert!(!log_text.contains(secret), "{secret} in {log_text}");
    }
    assert!(log_text.contains("request finished"), "{log_text}");
    assert!(log_text.contains("endpoint=\"users_me\"") || log_text.contains("endpoint=users_me"));
    assert!(
        log_text.contains("status=401") && log_text.contains("status=200"),
        "{log_text}"
    );
}
