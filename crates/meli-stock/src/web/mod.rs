//! The HTTP side of `serve` (axum): health for supervisors, metrics for Prometheus, and the
//! run ledger and accounts as JSON.
//!
//! # Layout
//! - `health`: `/healthz` (the process answers) and `/readyz` (the database answers and every
//!   seller's last success is fresher than the staleness threshold).
//! - `api`: `/metrics`, `/api/runs`, `/api/accounts`.
//!
//! When a bearer token is configured, `/metrics` and `/api/*` answer 401 without
//! `Authorization: Bearer <token>`; the health endpoints stay open for probes and show no
//! data beyond freshness. The listener binds to localhost by default.

mod api;
mod health;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tracing::error;

use crate::accounts::AccountSource;
use crate::alerts::Alerter;
use crate::metrics::Metrics;
use crate::serve::schedule::Clock;
use crate::store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub accounts: Arc<dyn AccountSource>,
    pub metrics: Arc<Metrics>,
    pub alerter: Arc<Alerter>,
    pub clock: Arc<dyn Clock>,
    /// No success for this long makes `/readyz` unready.
    pub stale_after: Duration,
    pub bearer: Option<SecretString>,
}

/// The routes, with the bearer check on the protected ones.
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/metrics", get(api::metrics))
        .route("/api/runs", get(api::runs))
        .route("/api/accounts", get(api::accounts))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_bearer,
        ));
    Router::new()
        .route("/healthz", get(health::alive))
        .route("/readyz", get(health::ready))
        .merge(protected)
        .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` completes.
///
/// # Errors
/// When the accept loop fails.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn require_bearer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(expected) = &state.bearer else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(token) if same(token.as_bytes(), expected.expose_secret().as_bytes()) => {
            next.run(request).await
        }
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "missing or wrong bearer token (MELI_STOCK_BEARER_TOKEN)\n",
        )
            .into_response(),
    }
}

/// Compares in time that depends on the length only, not on where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An internal failure: logged with its cause, answered with an opaque 500.
pub struct AppError(anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for AppError {
    fn from(e: E) -> Self {
        AppError(e.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        error!(error = %self.0, error.chain = ?self.0, "request failed");
        (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn tokens_compare_by_every_byte() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secret", b"secret!"));
    }
}
