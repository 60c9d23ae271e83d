//! The gateway in front of every ML route: endpoint labels, latency, scripted faults, rate
//! limits and request counters. Admin routes under `/_sim/` bypass it.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use rand::Rng;
use tokio::sync::Notify;
use tracing::debug;

use crate::errors::{error_body, rate_limited_body, server_error_body};
use crate::faults::FaultKind;
use crate::state::{Sim, lock};

pub(crate) const OAUTH_TOKEN: &str = "oauth_token";
pub(crate) const USERS_ME: &str = "users_me";
pub(crate) const ITEMS_SEARCH: &str = "items_search";
pub(crate) const ITEMS: &str = "items";
pub(crate) const USER_PRODUCT_STOCK: &str = "user_product_stock";
pub(crate) const FULFILLMENT_STOCK: &str = "fulfillment_stock";

/// Largest form body read to find the `client_id` of a token request.
const FORM_LIMIT: usize = 64 * 1024;

/// Lets a handler close its own TCP connection without answering (dropped-connection fault).
#[derive(Debug, Clone)]
pub(crate) struct ConnectionKill(pub(crate) Arc<Notify>);

/// The endpoint label of a request path (the labels of the spec's endpoint table, plus
/// `authorization`, `stores` and `other`).
pub(crate) fn endpoint_label(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["oauth", "token"] => OAUTH_TOKEN,
        ["authorization"] => "authorization",
        ["users", "me"] => USERS_ME,
        ["users", _, "items", "search"] => ITEMS_SEARCH,
        ["users", _, "stores", "search"] => "stores",
        ["items"] | ["items", _] => ITEMS,
        ["user-products", _, "stock", ..] => USER_PRODUCT_STOCK,
        ["inventories", _, "stock", "fulfillment"] => FULFILLMENT_STOCK,
        _ => "other",
    }
}

/// Runs one ML request through latency, faults, limits and the handler, and counts it.
pub(crate) async fn gate(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/_sim/") {
        return next.run(request).await;
    }
    let label = endpoint_label(request.uri().path());

    let (base, jitter) = lock(&sim.faults).latency(label);
    let wait = jittered(base, jitter);
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }

    if lock(&sim.faults).expire_tokens_now(label) {
        let now = sim.clock.now();
        lock(&sim.auth).expire_access_tokens(now);
        debug!(endpoint = label, "access tokens expired (fault)");
    }
    let fault = lock(&sim.faults).take(label);
    let response = match fault {
        Some(FaultKind::Drop) => {
            sim.count(label, 0);
            debug!(endpoint = label, "dropping connection (fault)");
            let kill = request.extensions().get::<ConnectionKill>().cloned();
            return drop_connection(kill).await;
        }
        Some(FaultKind::Fail { status }) => injected_status(status),
        Some(FaultKind::RateLimit { retry_after }) => too_many_requests(retry_after),
        Some(FaultKind::Malformed) | None => {
            let (request, app) = app_key(request, label).await;
            let admitted = lock(&sim.limits).admit(&app, label, &sim.config, sim.clock.now());
            match admitted {
                Err(wait) => {
                    let retry_after = lock(&sim.faults)
                        .retry_after()
                        .map(|configured| configured.max(wait.as_secs_f64().ceil() as u64).max(1));
                    too_many_requests(retry_after)
                }
                Ok(()) if fault == Some(FaultKind::Malformed) => {
                    truncate(next.run(request).await).await
                }
                Ok(()) => next.run(request).await,
            }
        }
    };

    let status = response.status().as_u16();
    sim.count(label, status);
    debug!(endpoint = label, status, "request finished");
    response
}

fn jittered(base: Duration, jitter: Duration) -> Duration {
    if jitter.is_zero() {
        return base;
    }
    let spread = jitter.as_secs_f64();
    let offset = rand::rng().random_range(-spread..=spread);
    Duration::from_secs_f64((base.as_secs_f64() + offset).max(0.0))
}

/// Signals the connection task to close the socket, then never answers.
async fn drop_connection(kill: Option<ConnectionKill>) -> Response {
    match kill {
        Some(kill) => {
            kill.0.notify_one();
            std::future::pending::<Response>().await
        }
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn injected_status(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = if status.is_server_error() {
        server_error_body(status)
    } else {
        error_body(status, "injected", "injected fault")
    };
    (status, Json(body)).into_response()
}

/// The gateway 429 (doc §7), with `Retry-After` only when asked for.
pub(crate) fn too_many_requests(retry_after: Option<u64>) -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(rate_limited_body())).into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Whose bucket a request drains: the app inside the bearer token, or the `client_id` of a
/// token request; `anonymous` otherwise.
async fn app_key(request: Request, label: &str) -> (Request, String) {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' ').map(|(_, t)| t.trim().to_owned()));
    if let Some(app) = bearer.as_deref().and_then(crate::auth::app_of_token) {
        return (request, app.to_owned());
    }

    if label == OAUTH_TOKEN && request.method() == Method::POST {
        let (parts, body) = request.into_parts();
        let bytes = to_bytes(body, FORM_LIMIT).await.unwrap_or_default();
        let client_id = url::form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "client_id")
            .map(|(_, v)| v.into_owned());
        let request = Request::from_parts(parts, Body::from(bytes));
        return (request, client_id.unwrap_or_else(|| "anonymous".to_owned()));
    }
    (request, "anonymous".to_owned())
}

/// Keeps the first half of the real body and forces 200 (malformed-body fault).
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let cut = bytes.slice(0..bytes.len() / 2);
    let cut = if cut.is_empty() {
        bytes::Bytes::from_static(b"{\"")
    } else {
        cut
    };

    parts.status = StatusCode::OK;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_endpoint_table() {
        assert_eq!(endpoint_label("/oauth/token"), OAUTH_TOKEN);
        assert_eq!(endpoint_label("/users/me"), USERS_ME);
        assert_eq!(endpoint_label("/users/1/items/search"), ITEMS_SEARCH);
        assert_eq!(endpoint_label("/items"), ITEMS);
        assert_eq!(endpoint_label("/items/MLC1"), ITEMS);
        assert_eq!(
            endpoint_label("/user-products/MLCU1/stock/type/x"),
            USER_PRODUCT_STOCK
        );
        assert_eq!(
            endpoint_label("/inventories/AB/stock/fulfillment"),
            FULFILLMENT_STOCK
        );
    }
}
