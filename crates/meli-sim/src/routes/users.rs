//! `GET /users/me` (doc §0) and `GET /users/{id}/stores/search` (doc §4.4).
//!
//! The seller carries the tags `user_product_seller`, `warehouse_management` and
//! `multiwarehouse` because the generated catalogue mixes UP, multi-origin and Full listings.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use http::HeaderMap;
use serde_json::{Value, json};

use crate::catalogue::store_json;
use crate::errors::MlError;
use crate::state::Sim;

pub(crate) async fn me(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
) -> Result<Json<Value>, MlError> {
    let caller = sim.caller(&headers)?;

    let site = sim.config.site.clone();
    Ok(Json(json!({
        "id": caller.user_id,
        "nickname": format!("SIMSELLER{}", caller.user_id % 10_000),
        "site_id": site,
        "country_id": country_of(&site),
        "user_type": "normal",
        "seller_experience": "ADVANCED",
        "tags": ["normal", "user_product_seller", "warehouse_management", "multiwarehouse"],
        "status": {"site_status": "active"},
    })))
}

pub(crate) async fn stores(
    State(sim): State<Arc<Sim>>,
    Path(user_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, MlError> {
    let caller = sim.caller(&headers)?;
    if user_id.parse::<u64>().ok() != Some(caller.user_id) {
        return Err(MlError::forbidden(
            "caller.id does not match the user_id in the path",
        ));
    }

    let params = super::params(query.as_deref());
    let only_stock = params.get("tags").is_some_and(|t| t == "stock_location");
    let world = sim.world();
    let results: Vec<Value> = world
        .stores
        .values()
        .filter(|s| s.user_id == caller.user_id && (!only_stock || s.stock_location))
        .map(store_json)
        .collect();
    Ok(Json(
        json!({"paging": {"limit": 50, "total": results.len()}, "results": results}),
    ))
}

fn country_of(site: &str) -> &'static str {
    match site {
        "MLA" => "AR",
        "MLB" => "BR",
        "MLM" => "MX",
        "MCO" => "CO",
        "MLU" => "UY",
        "MPE" => "PE",
        _ => "CL",
    }
}
