//! `/healthz` and `/readyz`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::warn;

use super::AppState;
use crate::serve::schedule::to_chrono;

/// How long the database may take to answer a readiness probe.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// The process is up and serving.
pub(super) async fn alive() -> &'static str {
    "ok\n"
}

#[derive(Serialize)]
pub(super) struct Readiness {
    ready: bool,
    database: &'static str,
    sellers: Vec<SellerFreshness>,
}

#[derive(Serialize)]
struct SellerFreshness {
    seller_id: u64,
    last_success: Option<DateTime<Utc>>,
    fresh: bool,
}

/// Ready when the database answers and every seller's last success is fresher than the
/// staleness threshold; 503 otherwise, with the reason in the body.
pub(super) async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let reachable = match tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            warn!(error = %e, "readiness: the database did not answer");
            false
        }
        Err(_) => {
            warn!(
                timeout_s = PING_TIMEOUT.as_secs(),
                "readiness: the database did not answer in time"
            );
            false
        }
    };

    let now = state.clock.now();
    let limit = to_chrono(state.stale_after);
    let mut sellers = Vec::new();
    for account in state.accounts.accounts() {
        let seller_id = account.seller_id;
        let last_success = if reachable {
            let read = tokio::time::timeout(PING_TIMEOUT, state.store.last_success(seller_id));
            match read.await {
                Ok(Ok(run)) => run.and_then(|r| r.finished_at),
                _ => None,
            }
        } else {
            None
        };
        let fresh = last_success.is_some_and(|at| now - at <= limit);
        sellers.push(SellerFreshness {
            seller_id,
            last_success,
            fresh,
        });
    }

    let ready = reachable && sellers.iter().all(|s| s.fresh);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let database = if reachable { "ok" } else { "unreachable" };
    (
        status,
        Json(Readiness {
            ready,
            database,
            sellers,
        }),
    )
}
