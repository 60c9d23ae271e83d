//! `GET /items?ids=` (multiget), `GET /items/{id}` and `PUT /items/{id}` (doc §3).
//!
//! Multiget takes at most 20 ids; more answer 400 \[A\] (doc §3.1: undocumented). Answers are
//! `{code, body}` in request order inside an HTTP 200; unknown ids get a per-element 404 and
//! other sellers' items a per-element 403 [D:search][R:goorder]. `attributes=` keeps only
//! the listed top-level fields plus `id`; `include_attributes=all` adds
//! `variations[].attributes` [D:var]. Owner reads show exact quantities, never the public
//! buckets \[A\]. `PUT` accepts the stock bodies of doc §3.3 (rules in
//! [`crate::catalogue`]'s writes module) and answers 200 with the item.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{comma_list, json_body, params};
use crate::auth::Caller;
use crate::catalogue::{ItemStockWrite, World, trim};
use crate::errors::MlError;
use crate::state::Sim;

/// Most ids one multiget accepts (doc §3.1).
pub(crate) const MULTIGET_MAX: usize = 20;

struct ReadOptions {
    fields: Vec<String>,
    all_attributes: bool,
}

impl ReadOptions {
    fn from(params: &HashMap<String, String>) -> Self {
        Self {
            fields: params
                .get("attributes")
                .map(|a| comma_list(a))
                .unwrap_or_default(),
            all_attributes: params.get("include_attributes").is_some_and(|v| v == "all"),
        }
    }
}

/// `(code, body)` of one item read by `caller`.
fn read(world: &World, caller: &Caller, item_id: &str, options: &ReadOptions) -> (u16, Value) {
    let Some(listing) = world.listing(item_id) else {
        let error = MlError::not_found(format!("Item with id {item_id} not found"));
        return (404, error.body());
    };
    if listing.seller_id != caller.user_id {
        let error = MlError::forbidden(format!(
            "The caller is not authorized to access item {item_id}"
        ));
        return (403, error.body());
    }

    let body = world.item_json(listing, options.all_attributes);
    let body = if options.fields.is_empty() {
        body
    } else {
        trim(body, &options.fields)
    };
    (200, body)
}

pub(crate) async fn multiget(
    State(sim): State<Arc<Sim>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, MlError> {
    let caller = sim.caller(&headers)?;
    let params = params(raw.as_deref());
    let ids = params
        .get("ids")
        .map(|ids| comma_list(ids))
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(MlError::bad_request("The ids parameter is required"));
    }
    if ids.len() > MULTIGET_MAX {
        return Err(MlError::bad_request(format!(
            "Too many ids: {} given, the maximum is {MULTIGET_MAX}",
            ids.len()
        )));
    }

    let options = ReadOptions::from(&params);
    let world = sim.world();
    let answers: Vec<Value> = ids
        .iter()
        .map(|id| {
            let (code, body) = read(&world, &caller, id, &options);
            json!({"code": code, "body": body})
        })
        .collect();
    Ok(Json(Value::Array(answers)))
}

pub(crate) async fn show(
    State(sim): State<Arc<Sim>>,
    Path(item_id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Value>), MlError> {
    let caller = sim.caller(&headers)?;
    let options = ReadOptions::from(&params(raw.as_deref()));

    let (code, body) = read(&sim.world(), &caller, &item_id, &options);
    Ok((
        StatusCode::from_u16(code).unwrap_or(StatusCode::OK),
        Json(body),
    ))
}

pub(crate) async fn update(
    State(sim): State<Arc<Sim>>,
    Path(item_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, MlError> {
    let caller = sim.caller(&headers)?;
    let write = parse_write(&json_body(&body)?)?;

    let now = sim.clock.now();
    let delay = sim.propagation_delay();
    let mut world = sim.world();
    let key = match world.listing(&item_id) {
        None => {
            return Err(MlError::not_found(format!(
                "Item with id {item_id} not found"
            )));
        }
        Some(l) if l.seller_id != caller.user_id => {
            return Err(MlError::forbidden(format!(
                "The caller is not authorized to modify item {item_id}"
            )));
        }
        Some(l) => l.key,
    };

    world.put_item_stock(key, &write, now, delay)?;
    let listing = world
        .listings
        .get(&key)
        .ok_or_else(|| MlError::not_found("item vanished"))?;
    Ok(Json(world.item_json(listing, false)))
}

fn parse_write(body: &Value) -> Result<ItemStockWrite, MlError> {
    let quantity = |value: &Value| {
        value
            .as_i64()
            .ok_or_else(|| MlError::bad_request("available_quantity must be an integer"))
    };

    if let Some(variations) = body.get("variations") {
        let entries = variations
            .as_array()
            .ok_or_else(|| MlError::bad_request("variations must be an array"))?
            .iter()
            .map(|v| {
                let id = v
                    .get("id")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| MlError::bad_request("each variation needs a numeric id"))?;
                let available = v.get("available_quantity").ok_or_else(|| {
                    MlError::bad_request(format!("variation {id} has no available_quantity"))
                })?;
                Ok((id, quantity(available)?))
            })
            .collect::<Result<Vec<_>, MlError>>()?;
        return Ok(ItemStockWrite::Variations(entries));
    }

    match body.get("available_quantity") {
        Some(value) => Ok(ItemStockWrite::Item(quantity(value)?)),
        None => Err(MlError::bad_request(
            "the simulator accepts only available_quantity or variations[].available_quantity",
        )),
    }
}
