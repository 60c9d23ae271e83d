//! OAuth behaviours: code exchange with PKCE, refresh rotation, refresh races, token expiry.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use meli_sim::{AppRegistration, SimConfig};
use reqwest::StatusCode;
use serde_json::Value;

async fn token_call(t: &common::TestSim, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = t
        .http
        .post(t.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn refresh(t: &common::TestSim, refresh_token: &str) -> (StatusCode, Value) {
    let c = t.sim.credentials();
    token_call(
        t,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &c.app_id),
            ("client_secret", &c.secret),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

fn assert_invalid_grant(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        body["error_description"],
        "Error validating grant. Your authorization code or refresh token may be expired or \
         it was already used"
    );
    assert_eq!(body["status"], 400);
    assert_eq!(body["cause"], serde_json::json!([]));
}

#[tokio::test]
async fn refresh_rotates_and_reusing_the_old_refresh_token_is_invalid_grant() {
    // Arrange
    let t = common::spawn().await;
    let first = t.sim.credentials();

    // Act
    let (status, body) = refresh(&t, &first.refresh_token).await;
    let (reuse_status, reuse_body) = refresh(&t, &first.refresh_token).await;

    // Assert
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap();
    let new_refresh = body["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, first.refresh_token);
    assert!(
        access.starts_with(&format!("APP_USR-{}-", first.app_id)),
        "{access}"
    );
    assert!(access.ends_with(&format!("-{}", first.seller_id)));
    assert!(new_refresh.starts_with("TG-") && new_refresh.ends_with(&first.seller_id.to_string()));
    assert_eq!(body["expires_in"], 21_600);
    assert_eq!(body["user_id"], first.seller_id);
    assert_eq!(body["token_type"], "Bearer");
    assert_invalid_grant(reuse_status, &reuse_body);
    assert_eq!(t.sim.credentials().refresh_token, new_refresh);

    // The previous access token ended with the refresh (default flag on).
    let (old_status, _) = t.get_json("/users/me").await;
    assert_eq!(old_status, StatusCode::UNAUTHORIZED);
    let me = t
        .http
        .get(t.url("/users/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test]
async fn two_concurrent_refreshes_with_one_token_have_exactly_one_winner() {
    let t = common::spawn().await;
    let refresh_token = t.sim.credentials().refresh_token;

    let (a, b) = tokio::join!(refresh(&t, &refresh_token), refresh(&t, &refresh_token));

    let outcomes = [a, b];
    let winners = outcomes
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .count();
    assert_eq!(winners, 1, "{outcomes:?}");
    let (status, body) = outcomes.iter().find(|(s, _)| *s != StatusCode::OK).unwrap();
    assert_invalid_grant(*status, body);
}

#[tokio::test]
async fn refresh_fails_for_another_client_an_old_token_and_a_wrong_secret() {
    let t = common::spawn().await;
    let c = t.sim.credentials();
    t.sim.register_app(AppRegistration {
        app_id: "777".to_owned(),
        secret: "other-secret".to_owned(),
        redirect_uri: "http://127.0.0.1/other".to_owned(),
        use_pkce: false,
    });

    let (other_status, other_body) = token_call(
        &t,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "777"),
            ("client_secret", "other-secret"),
            ("refresh_token", &c.refresh_token),
        ],
    )
    .await;
    let (secret_status, secret_body) = token_call(
        &t,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &c.app_id),
            ("client_secret", "wrong"),
            ("refresh_token", &c.refresh_token),
        ],
    )
    .await;
    t.sim
        .clock()
        .advance(meli_sim::REFRESH_TOKEN_LIFETIME + Duration::from_secs(1));
    let (old_status, old_body) = refresh(&t, &c.refresh_token).await;

    assert_invalid_grant(other_status, &other_body);
    assert_eq!(secret_status, StatusCode::BAD_REQUEST);
    assert_eq!(secret_body["error"], "invalid_client");
    assert_invalid_grant(old_status, &old_body);
}

#[tokio::test]
async fn expired_or_unknown_tokens_get_the_documented_401_and_malformed_ones_400() {
    let t = common::spawn_with(SimConfig {
        access_token_ttl: Duration::from_secs(60),
        ..common::config()
    })
    .await;
    let (fresh, _) = t.get_json("/users/me").await;

    t.sim.clock().advance(Duration::from_secs(61));
    let (expired_status, expired_body) = t.get_json("/users/me").await;
    let malformed = t
        .http
        .get(t.url("/users/me"))
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    let unknown = t
        .http
        .get(t.url("/users/me"))
        .bearer_auth("APP_USR-1-010101-abcdef-1")
        .send()
        .await
        .unwrap();

    assert_eq!(fresh, StatusCode::OK);
    assert_eq!(expired_status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        expired_body,
        serde_json::json!({"message":"invalid_token","error":"not_found","status":401,"cause":[]})
    );
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn admin_hooks_expire_access_tokens_and_revoke_the_grant() {
    let t = common::spawn().await;
    let c = t.sim.credentials();

    t.sim.expire_access_tokens();
    let (expired, _) = t.get_json("/users/me").await;
    let (refreshed, body) = refresh(&t, &c.refresh_token).await;
    t.sim.revoke_grant();
    let (revoked_status, revoked_body) = refresh(&t, body["refresh_token"].as_str().unwrap()).await;

    assert_eq!(expired, StatusCode::UNAUTHORIZED);
    assert_eq!(refreshed, StatusCode::OK);
    assert_invalid_grant(revoked_status, &revoked_body);
}

#[tokio::test]
async fn authorization_code_with_pkce_is_single_use_and_checks_the_verifier() {
    let t = common::spawn().await;
    t.sim.register_app(AppRegistration {
        app_id: "555".to_owned(),
        secret: "pkce-secret".to_owned(),
        redirect_uri: "https://example.invalid/cb".to_owned(),
        use_pkce: true,
    });
    // RFC 7636 appendix B pair.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    let without_challenge = t
        .sim
        .authorize_app("555", "https://example.invalid/cb", None);
    let wrong_uri = t.sim.authorize_app(
        "555",
        "https://example.invalid/cb2",
        Some((challenge, "S256")),
    );
    let code = t
        .sim
        .authorize_app(
            "555",
            "https://example.invalid/cb",
            Some((challenge, "S256")),
        )
        .unwrap();
    let form = |verifier: &'static str, code: String| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", "555".to_owned()),
            ("client_secret", "pkce-secret".to_owned()),
            ("code", code),
            ("redirect_uri", "https://example.invalid/cb".to_owned()),
            ("code_verifier", verifier.to_owned()),
        ]
    };
    let send = |form: Vec<(&'static str, String)>| {
        let request = t.http.post(t.url("/oauth/token")).form(&form);
        async move { request.send().await.unwrap() }
    };
    let first = send(form(verifier, code.clone())).await;
    let second = send(form(verifier, code)).await;
    let other_code = t
        .sim
        .authorize_app(
            "555",
            "https://example.invalid/cb",
            Some((challenge, "S256")),
        )
        .unwrap();
    let wrong_verifier = send(form("not-the-verifier", other_code)).await;

    assert!(without_challenge.is_err());
    assert!(wrong_uri.is_err());
    assert_eq!(first.status(), StatusCode::OK);
    let tokens: Value = first.json().await.unwrap();
    assert!(
        tokens["access_token"]
            .as_str()
            .unwrap()
            .starts_with("APP_USR-555-")
    );
    assert_eq!(second.status(), StatusCode::BAD_REQUEST);
    assert_eq!(wrong_verifier.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn authorization_endpoint_redirects_with_a_code_and_the_state() {
    let t = common::spawn().await;
    let c = t.sim.credentials();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build();

    let response = client
        .unwrap()
        .get(t.url("/authorization"))
        .query(&[
            ("response_type", "code"),
            ("client_id", &c.app_id),
            ("redirect_uri", &c.redirect_uri),
            ("state", "xyz"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FOUND);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let pairs: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], "xyz");
    let (status, body) = token_call(
        &t,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &c.app_id),
            ("client_secret", &c.secret),
            ("code", &pairs["code"]),
            ("redirect_uri", &c.redirect_uri),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "offline_access read write");
}
