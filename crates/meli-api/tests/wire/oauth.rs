//! The token endpoint and the authorization URL.

use std::time::Duration;

use meli_api::{Error, ExposeSecret, Pkce, SecretString, auth_host, authorization_url};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

/// The documented answer to a reused refresh token (doc §1.3).
const INVALID_GRANT: &str = concat!(
    r#"{"error":"invalid_grant","error_description":"Error validating grant. "#,
    r#"Your authorization code or refresh token may be expired or it was already used","#,
    r#""status":400,"cause":[]}"#
);

#[tokio::test]
async fn exchange_code_posts_the_form_and_reads_a_numeric_user_id() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("accept", "application/json"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("client_id=1234567890"))
        .and(body_string_contains("client_secret=app-secret-value"))
        .and(body_string_contains("code=TG-code-1"))
        .and(body_string_contains(
            "redirect_uri=https%3A%2F%2Fexample.com%2Fcb",
        ))
        .and(body_string_contains("code_verifier=the-verifier"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
            NEW_ACCESS,
            NEW_REFRESH,
            json!(123456789),
            "Bearer",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let oauth = oauth_client(&fast_config(&server));
    let before = chrono::Utc::now();

    // Act
    let tokens = oauth
        .exchange_code("TG-code-1", "https://example.com/cb", Some("the-verifier"))
        .await
        .unwrap();

    // Assert
    assert_eq!(tokens.access_token.expose_secret(), NEW_ACCESS);
    assert_eq!(tokens.refresh_token.unwrap().expose_secret(), NEW_REFRESH);
    assert_eq!(tokens.user_id, 123_456_789);
    assert_eq!(tokens.scope.as_deref(), Some("offline_access read write"));
    let lifetime = tokens.expires_at - before;
    assert!(
        (21_595..=21_605).contains(&lifetime.num_seconds()),
        "{lifetime}"
    );
}

#[tokio::test]
async fn refresh_accepts_a_string_user_id_and_lowercase_bearer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=TG-oldrefresh-77"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
            NEW_ACCESS,
            NEW_REFRESH,
            json!("77"),
            "bearer",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let oauth = oauth_client(&fast_config(&server));

    let tokens = oauth
        .refresh(&SecretString::from(OLD_REFRESH))
        .await
        .unwrap();

    assert_eq!(tokens.user_id, 77);
    assert_eq!(tokens.access_token.expose_secret(), NEW_ACCESS);
}

#[tokio::test]
async fn reused_refresh_token_is_invalid_grant_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_string(INVALID_GRANT))
        .expect(1)
        .mount(&server)
        .await;
    let oauth = oauth_client(&fast_config(&server));

    let err = oauth
        .refresh(&SecretString::from(OLD_REFRESH))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::InvalidGrant { description } if description.contains("already used"))
    );
    assert!(err.is_reauth_required());
}

#[tokio::test]
async fn invalid_client_is_its_own_error() {
    let server = MockServer::start().await;
    let body = json!({
        "error": "invalid_client",
        "error_description": "invalid client_id or client_secret",
        "status": 401
    });
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let oauth = oauth_client(&fast_config(&server));

    let err = oauth
        .refresh(&SecretString::from(OLD_REFRESH))
        .await
        .unwrap_err();

    assert!(matches!(err, Error::InvalidClient { .. }), "{err:?}");
    assert!(!err.is_reauth_required());
}

#[tokio::test]
async fn other_token_errors_keep_code_and_status() {
    let server = MockServer::start().await;
    let body = json!({"error":"unauthorized_application","error_description":"app blocked"});
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(403).set_body_json(body))
        .mount(&server)
        .await;
    let oauth = oauth_client(&fast_config(&server));

    let err = oauth
        .refresh(&SecretString::from(OLD_REFRESH))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::OAuth { error, status: 403, .. }
            if error == "unauthorized_application"),
        "{err:?}"
    );
}

#[tokio::test]
async fn token_call_is_retried_after_429_with_a_non_json_body_and_after_503() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(429).set_body_string("local_rate_limited"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(503).set_body_string("service_not_available"))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
            NEW_ACCESS,
            NEW_REFRESH,
            json!(77),
            "Bearer",
        )))
        .mount(&server)
        .await;
    let oauth = oauth_client(&fast_config(&server));

    let tokens = oauth
        .refresh(&SecretString::from(OLD_REFRESH))
        .await
        .unwrap();

    assert_eq!(tokens.access_token.expose_secret(), NEW_ACCESS);
    assert_eq!(received_on(&server, "/oauth/token").await.len(), 3);
    let counters = oauth.counters();
    assert_eq!((counters.retries, counters.rate_limited), (2, 1));
}

#[tokio::test]
async fn refresh_is_not_resent_when_the_answer_is_lost() {
    // The request reaches the server but the answer comes too late: ML may have rotated
    // the token, so the old refresh token must not be sent again.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body(NEW_ACCESS, NEW_REFRESH, json!(77), "Bearer"))
                .set_delay(Duration::from_millis(800)),
        )
        .mount(&server)
        .await;
    let config = meli_api::ClientConfig {
        request_timeout: Duration::from_millis(200),
        ..fast_config(&server)
    };
    let oauth = oauth_client(&config);

    let err = oauth
        .refresh(&SecretString::from(OLD_REFRESH))
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(received_on(&server, "/oauth/token").await.len(), 1);
    assert_eq!(
        oauth
            .counters()
            .calls_with_status(meli_api::Endpoint::OAuthToken, 0),
        1
    );
}

#[tokio::test]
async fn undecodable_token_answer_is_a_decode_error_without_the_token() {
    let server = MockServer::start().await;
    let body = r#"{"access_token":"APP_USR-leaked-99","token_type":"Bearer","expires_in":"soon""#;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .mount(&server)
        .await;
    let oauth = oauth_client(&fast_config(&server));

    let err = oauth
        .refresh(&SecretString::from(OLD_REFRESH))
        .await
        .unwrap_err();

    assert!(matches!(
        err,
        Error::Decode {
            endpoint: meli_api::Endpoint::OAuthToken,
            ..
        }
    ));
    assert!(!err.to_string().contains("leaked"), "{err}");
    assert!(!format!("{err:?}").contains("leaked"), "{err:?}");
}

#[tokio::test]
async fn non_bearer_token_type_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
            NEW_ACCESS,
            NEW_REFRESH,
            json!(77),
            "mac",
        )))
        .mount(&server)
        .await;
    let oauth = oauth_client(&fast_config(&server));

    let err = oauth
        .refresh(&SecretString::from(OLD_REFRESH))
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[test]
fn authorization_url_uses_the_site_host_and_the_s256_challenge() {
    let pkce = Pkce::generate();

    let url =
        authorization_url("MLB", APP_ID, "https://example.com/cb", "st-1", Some(&pkce)).unwrap();

    assert_eq!(url.scheme(), "https");
    assert_eq!(url.host_str(), Some("auth.mercadolivre.com.br"));
    assert_eq!(url.path(), "/authorization");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let expected = [
        ("response_type", "code"),
        ("client_id", APP_ID),
        ("redirect_uri", "https://example.com/cb"),
        ("state", "st-1"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (key, value) in expected {
        assert!(
            pairs.contains(&(key.to_string(), value.to_string())),
            "{key} in {url}"
        );
    }
    assert!(!url.as_str().contains(&pkce.verifier));
}

#[test]
fn authorization_url_covers_every_documented_site() {
    let hosts = [
        ("MLA", "auth.mercadolibre.com.ar"),
        ("MLB", "auth.mercadolivre.com.br"),
        ("MLM", "auth.mercadolibre.com.mx"),
        ("MLC", "auth.mercadolibre.cl"),
        ("MCO", "auth.mercadolibre.com.co"),
        ("MLU", "auth.mercadolibre.com.uy"),
        ("MPE", "auth.mercadolibre.com.pe"),
    ];
    for (site, host) in hosts {
        assert_eq!(auth_host(site), Some(host));
        let url = authorization_url(site, APP_ID, "https://example.com/cb", "s", None).unwrap();
        assert_eq!(url.host_str(), Some(host));
        assert!(url.query_pairs().all(|(k, _)| k != "code_challenge"));
    }

    let err = authorization_url("MXX", APP_ID, "https://example.com/cb", "s", None).unwrap_err();
    assert!(matches!(err, Error::Config(message) if message.contains("MXX")));
}
