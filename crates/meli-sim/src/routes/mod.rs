//! The HTTP surface: ML resource routes, the OAuth routes and the `/_sim/` admin routes.

mod admin;
mod fulfillment;
mod items;
mod scan;
mod search;
mod user_products;
mod users;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};
use serde_json::Value;

use crate::errors::MlError;
use crate::state::Sim;

/// Builds the router with the gateway middleware in front of every route.
pub(crate) fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/oauth/token", post(crate::auth::token))
        .route("/authorization", get(crate::auth::authorization))
        .route("/users/me", get(users::me))
        .route("/users/{user_id}/items/search", get(search::search))
        .route("/users/{user_id}/stores/search", get(users::stores))
        .route("/items", get(items::multiget))
        .route("/items/{item_id}", get(items::show).put(items::update))
        .route(
            "/user-products/{up_id}/stock",
            get(user_products::show).put(user_products::untyped),
        )
        .route(
            "/user-products/{up_id}/stock/type/{kind}",
            put(user_products::update),
        )
        .route(
            "/inventories/{inventory_id}/stock/fulfillment",
            get(fulfillment::show),
        )
        .nest("/_sim", admin::router())
        .fallback(not_found)
        .layer(from_fn_with_state(Arc::clone(&sim), crate::gate::gate))
        .with_state(sim)
}

async fn not_found() -> MlError {
    MlError::not_found("Resource not found")
}

/// Query parameters of a raw query string; a repeated key keeps its last value.
pub(crate) fn params(raw: Option<&str>) -> HashMap<String, String> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// Splits a comma list, dropping empty parts.
pub(crate) fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses a JSON request body, answering ML-style 400 on bad JSON.
pub(crate) fn json_body(bytes: &[u8]) -> Result<Value, MlError> {
    serde_json::from_slice(bytes)
        .map_err(|e| MlError::bad_request(format!("invalid JSON body: {e}")))
}
