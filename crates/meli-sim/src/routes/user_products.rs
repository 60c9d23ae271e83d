//! `GET /user-products/{id}/stock` and `PUT /user-products/{id}/stock/type/{type}` (doc §4).
//!
//! - GET answers the locations with an `x-version` header [D:dist]; a UP with no locations
//!   answers 404 `stock-locations not found` [D:faqmw]; another seller's UP answers 403 \[A\].
//! - PUT needs `x-version`: missing is 400 `Missing X-Version header`, stale is 409
//!   `Version mismatch` [D:dist]. The version check comes before body validation \[A\].
//! - `selling_address` (`{"quantity":N}`) answers 204 and only works on MLA/MLC; other sites
//!   get 400 `the site is blocked for modifications to the selling address` [D:dist]. On
//!   MLA/MLC the UP must be Full + own origin (Full + Flex) or the answer is 400 \[A: message].
//! - `seller_warehouse` validates each store with the four documented 400s and answers 200
//!   with the full stock body [D:mo]; a UP without warehouse locations gets 400 \[A\].
//!   The write answers carry no `x-version` header \[A\] (doc §4.3: unknown).
//! - `meli_facility` is read-only: 400 \[A: status]. `PUT …/stock` without a type is 404
//!   [R:crm].
//! - Items of the UP see any of these writes after the propagation delay [D:ff].

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::Value;

use super::json_body;
use crate::auth::Caller;
use crate::catalogue::{LocationType, WarehouseWrite, World};
use crate::errors::MlError;
use crate::state::Sim;

fn owned_up<'w>(
    world: &'w World,
    caller: &Caller,
    up_id: &str,
) -> Result<&'w crate::catalogue::UserProduct, MlError> {
    let up = world
        .user_products
        .get(up_id)
        .ok_or_else(|| MlError::not_found(format!("User product {up_id} not found")))?;
    if up.user_id != caller.user_id {
        return Err(MlError::forbidden(format!(
            "The caller is not authorized to access user product {up_id}"
        )));
    }
    Ok(up)
}

pub(crate) async fn show(
    State(sim): State<Arc<Sim>>,
    Path(up_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, MlError> {
    let caller = sim.caller(&headers)?;
    let world = sim.world();
    let up = owned_up(&world, &caller, &up_id)?;
    if up.locations.is_empty() {
        return Err(MlError::not_found("stock-locations not found"));
    }

    let mut response = Json(world.user_product_stock_json(up)).into_response();
    response
        .headers_mut()
        .insert("x-version", HeaderValue::from(up.version));
    Ok(response)
}

pub(crate) async fn untyped(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
) -> Result<Response, MlError> {
    sim.caller(&headers)?;
    Err(MlError::not_found(
        "Resource not found: the location type belongs in the path",
    ))
}

fn expect_version(headers: &HeaderMap, current: i64) -> Result<(), MlError> {
    let Some(value) = headers.get("x-version") else {
        return Err(MlError::bad_request("Missing X-Version header"));
    };
    let version = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .ok_or_else(|| MlError::bad_request("Invalid X-Version header"))?;
    if version != current {
        return Err(MlError::new(
            StatusCode::CONFLICT,
            "conflict",
            "Version mismatch",
        ));
    }
    Ok(())
}

pub(crate) async fn update(
    State(sim): State<Arc<Sim>>,
    Path((up_id, kind)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, MlError> {
    let caller = sim.caller(&headers)?;
    let now = sim.clock.now();
    let delay = sim.propagation_delay();
    let mut world = sim.world();
    let up = owned_up(&world, &caller, &up_id)?;

    match kind.as_str() {
        "selling_address" => {
            expect_version(&headers, up.version)?;
            if !matches!(world.site.as_str(), "MLA" | "MLC") {
                return Err(MlError::bad_request(
                    "the site is blocked for modifications to the selling address",
                ));
            }
            if !(up.has(LocationType::MeliFacility) && up.has(LocationType::SellingAddress)) {
                return Err(MlError::bad_request(
                    "selling_address stock can only be modified on Full and Flex user products",
                ));
            }
            let quantity = quantity_of(&json_body(&body)?)?;
            world.write_selling_address(&up_id, quantity, now, delay);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        "seller_warehouse" => {
            expect_version(&headers, up.version)?;
            if !up.has(LocationType::SellerWarehouse) {
                return Err(MlError::bad_request(
                    "the user product has no seller_warehouse locations (not multi-origin)",
                ));
            }
            let entries = warehouse_entries(&world, caller.user_id, &json_body(&body)?)?;
            world.write_warehouses(&up_id, &entries, now, delay);
            let up = owned_up(&world, &caller, &up_id)?;
            Ok(Json(world.user_product_stock_json(up)).into_response())
        }
        "meli_facility" => Err(MlError::bad_request(
            "meli_facility stock is managed by Mercado Libre and cannot be modified",
        )),
        other => Err(MlError::bad_request(format!(
            "Invalid stock location type: {other}"
        ))),
    }
}

fn quantity_of(value: &Value) -> Result<i64, MlError> {
    value
        .get("quantity")
        .and_then(Value::as_i64)
        .filter(|q| *q >= 0)
        .ok_or_else(|| {
            MlError::bad_request("quantity must be a non-negative integer")
                .with_error("validation_error")
        })
}

fn warehouse_entries(
    world: &World,
    seller_id: u64,
    body: &Value,
) -> Result<Vec<WarehouseWrite>, MlError> {
    let locations = body
        .get("locations")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| MlError::bad_request("locations must be a non-empty array"))?;

    let mut entries = Vec::with_capacity(locations.len());
    for location in locations {
        let store_id = match location.get("store_id") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(MlError::bad_request("store cannot be null or empty")),
        };
        let store = world
            .stores
            .get(&store_id)
            .ok_or_else(|| MlError::bad_request("store not found"))?;
        if store.user_id != seller_id {
            return Err(MlError::bad_request("store does not belong to seller"));
        }
        if !store.stock_location {
            return Err(MlError::bad_request(
                "store is not configured to be a stock location",
            ));
        }
        entries.push(WarehouseWrite {
            store_id,
            network_node_id: store.network_node_id.clone(),
            quantity: quantity_of(location)?,
        });
    }
    Ok(entries)
}
