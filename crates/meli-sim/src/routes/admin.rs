//! Admin routes under `/_sim/` (not ML paths): drive sales and restocks, inspect counters,
//! tokens and expected totals, script faults, move the clock. They bypass the gateway
//! (no auth, limits, faults or counting).
//!
//! - `POST /_sim/items/{id}/sale` `{"quantity":n}` and `POST /_sim/items/{id}/restock`
//! - `POST /_sim/items/{id}/status` `{"status":"paused"|"active"|"closed"}`,
//!   `DELETE /_sim/items/{id}`
//! - `GET /_sim/counters`, `GET /_sim/tokens`, `GET /_sim/expected`
//! - `POST /_sim/tokens/revoke`, `POST /_sim/tokens/expire`
//! - `POST /_sim/faults` with one of `{"kind":"fail","status":503,"count":2}`,
//!   `{"kind":"drop","count":1}`, `{"kind":"malformed","count":1}`,
//!   `{"kind":"rate_limit","retry_after":2,"count":3}`,
//!   `{"kind":"latency","base_ms":50,"jitter_ms":10}`, `{"kind":"retry_after","seconds":1}`,
//!   `{"kind":"clear"}`; each may add `"endpoint":"items"` to scope it, and the scripted
//!   ones `"after":n` to let `n` matching requests through first.
//! - `POST /_sim/clock/advance` `{"seconds":n}`

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::catalogue::StockError;
use crate::errors::MlError;
use crate::faults::{FaultKind, Faults};
use crate::state::{Sim, lock};

pub(crate) fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/items/{item_id}/sale", post(sale))
        .route("/items/{item_id}/restock", post(restock))
        .route("/items/{item_id}/status", post(status))
        .route("/items/{item_id}", axum::routing::delete(delete))
        .route("/counters", get(counters))
        .route("/tokens", get(tokens))
        .route("/tokens/revoke", post(revoke))
        .route("/tokens/expire", post(expire))
        .route("/faults", post(faults))
        .route("/expected", get(expected))
        .route("/clock/advance", post(advance))
}

#[derive(Debug, Deserialize)]
struct QuantityBody {
    quantity: i64,
}

#[derive(Debug, Deserialize)]
struct StatusBody {
    status: String,
}

fn stock_result(result: Result<(), StockError>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(StockError::UnknownItem(id)) => {
            MlError::not_found(format!("unknown item {id}")).into_response()
        }
        Err(other) => MlError::bad_request(other.to_string()).into_response(),
    }
}

async fn sale(
    State(sim): State<Arc<Sim>>,
    Path(item_id): Path<String>,
    Json(body): Json<QuantityBody>,
) -> Response {
    let now = sim.clock.now();
    stock_result(sim.world().sell(&item_id, body.quantity, now))
}

async fn restock(
    State(sim): State<Arc<Sim>>,
    Path(item_id): Path<String>,
    Json(body): Json<QuantityBody>,
) -> Response {
    let now = sim.clock.now();
    stock_result(sim.world().restock(&item_id, body.quantity, now))
}

async fn status(
    State(sim): State<Arc<Sim>>,
    Path(item_id): Path<String>,
    Json(body): Json<StatusBody>,
) -> Response {
    let now = sim.clock.now();
    stock_result(sim.world().set_status(&item_id, &body.status, now))
}

async fn delete(State(sim): State<Arc<Sim>>, Path(item_id): Path<String>) -> Response {
    let now = sim.clock.now();
    stock_result(sim.world().delete(&item_id, now))
}

async fn counters(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let counters = lock(&sim.counters).clone();
    let rows: Vec<Value> = counters
        .iter()
        .map(|((endpoint, status), count)| {
            json!({"endpoint": endpoint, "status": status, "count": count})
        })
        .collect();
    Json(json!({"requests": rows, "total": counters.values().sum::<u64>()}))
}

async fn tokens(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let (access_token, refresh_token) = lock(&sim.auth).latest_pair().unwrap_or_default();
    Json(json!({
        "app_id": sim.main_app.app_id,
        "secret": sim.main_app.secret,
        "redirect_uri": sim.main_app.redirect_uri,
        "seller_id": sim.config.seller_id,
        "access_token": access_token,
        "refresh_token": refresh_token,
    }))
}

async fn revoke(State(sim): State<Arc<Sim>>) -> StatusCode {
    lock(&sim.auth).revoke_all();
    StatusCode::NO_CONTENT
}

async fn expire(State(sim): State<Arc<Sim>>) -> StatusCode {
    let now = sim.clock.now();
    lock(&sim.auth).expire_access_tokens(now);
    StatusCode::NO_CONTENT
}

async fn expected(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(json!(sim.world().expected_totals()))
}

/// One `POST /_sim/faults` body.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaultRequest {
    Fail {
        status: u16,
        count: u32,
        endpoint: Option<String>,
    },
    Drop {
        count: u32,
        endpoint: Option<String>,
    },
    Malformed {
        count: u32,
        endpoint: Option<String>,
    },
    RateLimit {
        count: u32,
        retry_after: Option<u64>,
        endpoint: Option<String>,
    },
    Latency {
        base_ms: u64,
        jitter_ms: Option<u64>,
        endpoint: Option<String>,
    },
    RetryAfter {
        seconds: Option<u64>,
    },
    Clear {
        endpoint: Option<String>,
    },
}

/// The body of `POST /_sim/faults`: a fault and how many matching requests pass first.
#[derive(Debug, Deserialize)]
struct FaultBody {
    #[serde(flatten)]
    request: FaultRequest,
    #[serde(default)]
    after: u32,
}

async fn faults(State(sim): State<Arc<Sim>>, Json(body): Json<FaultBody>) -> StatusCode {
    let request = body.request;
    let all = Faults::new(Arc::clone(&sim.faults)).after(body.after);
    let scoped = |endpoint: &Option<String>| match endpoint {
        Some(endpoint) => all.for_endpoint(endpoint),
        None => all.clone(),
    };

    match &request {
        FaultRequest::Fail {
            status,
            count,
            endpoint,
        } => {
            scoped(endpoint).inject(FaultKind::Fail { status: *status }, *count);
        }
        FaultRequest::Drop { count, endpoint } => {
            scoped(endpoint).inject(FaultKind::Drop, *count);
        }
        FaultRequest::Malformed { count, endpoint } => {
            scoped(endpoint).inject(FaultKind::Malformed, *count);
        }
        FaultRequest::RateLimit {
            count,
            retry_after,
            endpoint,
        } => {
            scoped(endpoint).inject(
                FaultKind::RateLimit {
                    retry_after: *retry_after,
                },
                *count,
            );
        }
        FaultRequest::Latency {
            base_ms,
            jitter_ms,
            endpoint,
        } => {
            let jitter = Duration::from_millis(jitter_ms.unwrap_or(0));
            scoped(endpoint).set_latency(Duration::from_millis(*base_ms), jitter);
        }
        FaultRequest::RetryAfter { seconds } => {
            all.set_retry_after(*seconds);
        }
        FaultRequest::Clear { endpoint } => scoped(endpoint).clear(),
    }
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
struct AdvanceBody {
    seconds: u64,
}

async fn advance(State(sim): State<Arc<Sim>>, Json(body): Json<AdvanceBody>) -> Json<Value> {
    sim.clock.advance(Duration::from_secs(body.seconds));
    Json(json!({"now": crate::catalogue::timestamp(sim.clock.now())}))
}
