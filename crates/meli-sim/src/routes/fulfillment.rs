//! `GET /inventories/{id}/stock/fulfillment` (doc §5).
//!
//! `available_quantity` is the `meli_facility` quantity of the inventory's UP \[A\], so the
//! two endpoints always agree; `total` adds the not-available units. Items sharing the
//! inventory all appear in `external_references` [R:crm]. Unknown inventories answer 404
//! `seller_product_not_found` [D:full]; another seller's inventory answers 403.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::errors::MlError;
use crate::state::Sim;

pub(crate) async fn show(
    State(sim): State<Arc<Sim>>,
    Path(inventory_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, MlError> {
    let caller = sim.caller(&headers)?;
    let world = sim.world();

    let not_found = || {
        MlError::new(
            StatusCode::NOT_FOUND,
            "seller_product_not_found",
            format!("seller_product_not_found for inventory_id {inventory_id}"),
        )
    };
    let inventory = world.inventories.get(&inventory_id).ok_or_else(not_found)?;
    let owner = world
        .user_products
        .get(&inventory.user_product_id)
        .map(|up| up.user_id);
    if owner != Some(caller.user_id) {
        return Err(MlError::forbidden(format!(
            "The caller is not authorized to access inventory {inventory_id}"
        )));
    }

    Ok(Json(world.fulfillment_json(inventory)))
}
