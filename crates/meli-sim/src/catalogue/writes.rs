//! Seller stock writes: `PUT /items/{id}` and the two writable UP location types.
//!
//! `PUT /items` rules (doc §3.3, §4.1, §4.3):
//! - Full listings answer 400 `item.available_quantity.not_modifiable` [R:crm].
//! - A second accepted write on the same item within [`ITEM_WRITE_WINDOW`] of simulated
//!   time answers 409 `item optimistic locking error` [D:sync]; the window length is \[A\].
//! - Multi-origin UPs (with `seller_warehouse` locations) accept the call and change nothing
//!   [D:faqmw].
//! - Otherwise the UP's `selling_address` quantity becomes the new value; the written item
//!   shows it at once and the other items of the UP after the propagation delay [D:up].
//! - `{"available_quantity":N}` on a listing with variations answers 400 \[A\].

use chrono::{DateTime, TimeDelta, Utc};

use super::{Location, LocationType, World};
use crate::errors::MlError;

/// Two accepted `PUT /items` on one item closer than this give 409 \[A\].
pub const ITEM_WRITE_WINDOW: std::time::Duration = std::time::Duration::from_secs(1);

/// The stock part of a `PUT /items/{id}` body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ItemStockWrite {
    Item(i64),
    Variations(Vec<(u64, i64)>),
}

/// One `seller_warehouse` entry of a validated write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WarehouseWrite {
    pub(crate) store_id: String,
    pub(crate) network_node_id: String,
    pub(crate) quantity: i64,
}

impl World {
    /// Applies a validated-shape `PUT /items` stock body to listing `key`.
    pub(crate) fn put_item_stock(
        &mut self,
        key: u64,
        write: &ItemStockWrite,
        now: DateTime<Utc>,
        delay: TimeDelta,
    ) -> Result<(), MlError> {
        if self.is_full_listing(key) {
            return Err(MlError::bad_request(
                "The available_quantity of items with fulfillment logistic is not modifiable",
            )
            .with_error("item.available_quantity.not_modifiable"));
        }
        let Some(listing) = self.listings.get(&key) else {
            return Err(MlError::not_found(format!("Item with id {key} not found")));
        };
        let window = crate::clock::delta(ITEM_WRITE_WINDOW);
        if listing.last_write.is_some_and(|at| now - at < window) {
            return Err(MlError::new(
                http::StatusCode::CONFLICT,
                "conflict",
                "item optimistic locking error",
            ));
        }

        let targets = self.write_targets(key, write)?;
        for (up, variation, quantity) in &targets {
            match up {
                Some(up_id) => {
                    if self.set_selling_quantity(up_id, *quantity) {
                        self.after_up_write(up_id, now, Some(key), delay);
                    }
                }
                None => self.set_own_quantity(key, *variation, *quantity),
            }
        }

        if let Some(listing) = self.listings.get_mut(&key) {
            listing.last_write = Some(now);
        }
        self.refresh(key, Some(now));
        Ok(())
    }

    /// `(UP or none, variation position, quantity)` for each part of the write.
    #[allow(clippy::type_complexity)]
    fn write_targets(
        &self,
        key: u64,
        write: &ItemStockWrite,
    ) -> Result<Vec<(Option<String>, Option<usize>, i64)>, MlError> {
        let Some(listing) = self.listings.get(&key) else {
            return Err(MlError::not_found(format!("Item with id {key} not found")));
        };

        let check = |quantity: i64| {
            if quantity < 0 {
                Err(
                    MlError::bad_request("available_quantity must be zero or positive")
                        .with_error("item.available_quantity.invalid"),
                )
            } else {
                Ok(quantity)
            }
        };

        match write {
            ItemStockWrite::Item(quantity) => {
                if !listing.variations.is_empty() {
                    return Err(MlError::bad_request(
                        "The item has variations: set available_quantity on each variation",
                    )
                    .with_error("item.available_quantity.invalid"));
                }
                Ok(vec![(
                    listing.user_product_id.clone(),
                    None,
                    check(*quantity)?,
                )])
            }
            ItemStockWrite::Variations(entries) => {
                let mut targets = Vec::with_capacity(entries.len());
                for (variation_id, quantity) in entries {
                    let Some(position) = listing
                        .variations
                        .iter()
                        .position(|v| v.id == *variation_id)
                    else {
                        return Err(MlError::bad_request(format!(
                            "Variation {variation_id} does not belong to item {}",
                            listing.id
                        ))
                        .with_error("item.variations.invalid"));
                    };
                    let up = listing.variations[position].user_product_id.clone();
                    targets.push((up, Some(position), check(*quantity)?));
                }
                Ok(targets)
            }
        }
    }

    /// Sets the seller's own origin of a UP; false when the UP is multi-origin (no effect).
    fn set_selling_quantity(&mut self, up_id: &str, quantity: i64) -> bool {
        let Some(up) = self.user_products.get_mut(up_id) else {
            return false;
        };
        if up.has(LocationType::SellerWarehouse) {
            return false;
        }

        match up
            .locations
            .iter_mut()
            .find(|l| l.kind == LocationType::SellingAddress)
        {
            Some(location) => location.quantity = quantity,
            None => up.locations.push(Location {
                kind: LocationType::SellingAddress,
                quantity,
                store_id: None,
                network_node_id: None,
            }),
        }
        true
    }

    fn set_own_quantity(&mut self, key: u64, variation: Option<usize>, quantity: i64) {
        let Some(listing) = self.listings.get_mut(&key) else {
            return;
        };
        match variation.and_then(|i| listing.variations.get_mut(i)) {
            Some(variation) => variation.own_quantity = quantity,
            None => listing.own_quantity = quantity,
        }
    }

    /// `PUT …/stock/type/selling_address` after validation: every item follows later.
    pub(crate) fn write_selling_address(
        &mut self,
        up_id: &str,
        quantity: i64,
        now: DateTime<Utc>,
        delay: TimeDelta,
    ) {
        if self.set_selling_quantity(up_id, quantity) {
            self.after_up_write(up_id, now, None, delay);
        }
    }

    /// `PUT …/stock/type/seller_warehouse` after validation: upserts one location per store.
    pub(crate) fn write_warehouses(
        &mut self,
        up_id: &str,
        entries: &[WarehouseWrite],
        now: DateTime<Utc>,
        delay: TimeDelta,
    ) {
        let Some(up) = self.user_products.get_mut(up_id) else {
            return;
        };
        for entry in entries {
            let existing = up.locations.iter_mut().find(|l| {
                l.kind == LocationType::SellerWarehouse
                    && l.store_id.as_deref() == Some(entry.store_id.as_str())
            });
            match existing {
                Some(location) => location.quantity = entry.quantity,
                None => up.locations.push(Location {
                    kind: LocationType::SellerWarehouse,
                    quantity: entry.quantity,
                    store_id: Some(entry.store_id.clone()),
                    network_node_id: Some(entry.network_node_id.clone()),
                }),
            }
        }
        self.after_up_write(up_id, now, None, delay);
    }
}
