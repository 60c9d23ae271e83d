//! `GET /users/{id}/items/search` with offset paging (doc §2); `search_type=scan` goes to
//! [`super::scan`].
//!
//! Rules: `limit` defaults to 50 and may not exceed 100 [D:search]; `offset + limit` above
//! 1000 answers 400 `Invalid limit and offset values` [R:nodelister]\[A: exact boundary];
//! `seller_id` is a string [D:search]; no `status` means every status \[A\]; another user's
//! id answers 403 [D:claims]. Filters: `status` (comma list accepted \[A\]), `seller_sku`
//! (item or variation SELLER_SKU), `sku` (`seller_custom_field`), `user_product_id` (comma
//! list), `labels=without_stock`, `logistic_type`; `orders` takes one documented order.
//! Unfiltered results come in ascending item id order \[A\].

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde_json::{Value, json};

use super::{comma_list, params};
use crate::catalogue::{SearchQuery, SortOrder};
use crate::errors::MlError;
use crate::state::Sim;

/// Highest `limit` accepted (doc §2).
pub(crate) const MAX_LIMIT: usize = 100;
/// Offset paging reach (doc §2).
const MAX_OFFSET_REACH: usize = 1000;

pub(crate) async fn search(
    State(sim): State<Arc<Sim>>,
    Path(user_id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, MlError> {
    let caller = sim.caller(&headers)?;
    let Ok(user_id) = user_id.parse::<u64>() else {
        return Err(MlError::not_found(format!("user {user_id} not found")));
    };
    if user_id != caller.user_id {
        return Err(MlError::forbidden(
            "caller.id does not match the user_id in the path",
        ));
    }

    let params = params(raw.as_deref());
    let limit = parse_limit(&params)?;
    let query = parse_query(&params)?;
    if params.get("search_type").is_some_and(|t| t == "scan") {
        return super::scan::scan(&sim, &caller.app_id, &params, query, limit);
    }

    let offset = parse_number(&params, "offset")?.unwrap_or(0);
    if offset.saturating_add(limit) > MAX_OFFSET_REACH {
        return Err(MlError::bad_request("Invalid limit and offset values"));
    }

    let world = sim.world();
    let (total, keys) = world.index.query(&query, offset, limit);
    let results: Vec<String> = keys.iter().map(|k| format!("{}{k}", world.site)).collect();
    drop(world);

    let mut body = search_body(user_id, &params, results);
    body["paging"] = json!({"limit": limit, "offset": offset, "total": total});
    Ok(Json(body).into_response())
}

/// The response fields shared by paged and scan searches.
pub(crate) fn search_body(
    user_id: u64,
    params: &HashMap<String, String>,
    results: Vec<String>,
) -> Value {
    let order = params
        .get("orders")
        .cloned()
        .unwrap_or_else(|| "default".to_owned());
    json!({
        "seller_id": user_id.to_string(),
        "query": params.get("q"),
        "paging": {},
        "results": results,
        "orders": [{"id": order, "name": order}],
        "available_orders": [
            {"id": "stop_time_asc", "name": "Order by stop time asc"},
            {"id": "stop_time_desc", "name": "Order by stop time desc"},
            {"id": "start_time_asc", "name": "Order by start time asc"},
            {"id": "start_time_desc", "name": "Order by start time desc"},
            {"id": "available_quantity_asc", "name": "Order by available quantity asc"},
            {"id": "available_quantity_desc", "name": "Order by available quantity desc"},
            {"id": "price_asc", "name": "Order by price asc"},
            {"id": "price_desc", "name": "Order by price desc"},
            {"id": "last_updated_asc", "name": "Order by last updated asc"},
            {"id": "last_updated_desc", "name": "Order by last updated desc"},
            {"id": "inventory_id_asc", "name": "Order by inventory id asc"},
        ],
    })
}

fn parse_number(params: &HashMap<String, String>, name: &str) -> Result<Option<usize>, MlError> {
    params
        .get(name)
        .map(|v| {
            v.parse::<usize>()
                .map_err(|_| MlError::bad_request(format!("Invalid {name} value: {v}")))
        })
        .transpose()
}

pub(crate) fn parse_limit(params: &HashMap<String, String>) -> Result<usize, MlError> {
    let limit = parse_number(params, "limit")?.unwrap_or(50);
    if limit > MAX_LIMIT {
        return Err(MlError::bad_request(format!(
            "Invalid limit {limit}: the maximum is {MAX_LIMIT}"
        )));
    }
    Ok(limit)
}

fn parse_query(params: &HashMap<String, String>) -> Result<SearchQuery, MlError> {
    let order = match params.get("orders") {
        Some(value) => Some(
            SortOrder::parse(value)
                .ok_or_else(|| MlError::bad_request(format!("Invalid orders value: {value}")))?,
        ),
        None => None,
    };
    let labels = params
        .get("labels")
        .map(|l| comma_list(l))
        .unwrap_or_default();
    if let Some(label) = labels.iter().find(|l| *l != "without_stock") {
        return Err(MlError::bad_request(format!(
            "Invalid labels value: {label}"
        )));
    }

    Ok(SearchQuery {
        statuses: params.get("status").map(|s| comma_list(s)),
        seller_sku: params.get("seller_sku").cloned(),
        sku: params.get("sku").cloned(),
        user_products: params.get("user_product_id").map(|s| comma_list(s)),
        without_stock: !labels.is_empty(),
        logistic_type: params.get("logistic_type").cloned(),
        order,
    })
}
