//! Stock arithmetic: derived item quantities, auto-pause, sales, restocks and the writes
//! behind `PUT /items` and the UP stock endpoints.
//!
//! Auto-pause follows doc §2.2 [D:sync]: stock 0 on a `condition=new`, non-`free` listing
//! shows `paused` + `["out_of_stock"]`; stock above 0 shows `active` again unless the seller
//! paused it. A manual pause shows `sub_status ["paused_by_seller"]` \[A\] (the doc only names
//! the state). Sales and restocks are ML-side events and reach every item of the UP at once
//! \[A\]; `PUT /items` reaches the sibling items after the configured delay (doc §4.1).

use chrono::{DateTime, Utc};

use super::{LocationType, World};

/// Why a library-level stock operation was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StockError {
    /// No listing of the simulated seller has this id (or it was deleted).
    #[error("unknown item {0}")]
    UnknownItem(String),
    /// Quantities for sales and restocks must be positive.
    #[error("quantity {quantity} for item {item_id} must be positive")]
    InvalidQuantity { item_id: String, quantity: i64 },
    /// A sale larger than the stock the item has.
    #[error("item {item_id} has {available} units, cannot sell {requested}")]
    NotEnoughStock {
        item_id: String,
        available: i64,
        requested: i64,
    },
    /// `set_status` accepts active, paused and closed.
    #[error("unsupported status {status} for item {item_id}")]
    UnsupportedStatus { item_id: String, status: String },
}

/// Where one part of a listing's stock lives.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    UserProduct(String),
    Own,
    VariationOwn(usize),
}

/// `(status, sub_status)` ML shows for a listing with `quantity` units.
fn derive_status(
    closed: bool,
    paused_by_seller: bool,
    auto_pauses: bool,
    quantity: i64,
) -> (&'static str, Vec<&'static str>) {
    if closed {
        ("closed", Vec::new())
    } else if paused_by_seller {
        ("paused", vec!["paused_by_seller"])
    } else if auto_pauses && quantity <= 0 {
        ("paused", vec!["out_of_stock"])
    } else {
        ("active", Vec::new())
    }
}

impl World {
    pub(crate) fn up_total(&self, up_id: &str) -> i64 {
        self.user_products.get(up_id).map_or(0, |up| up.total())
    }

    /// Recomputes what ML shows for `key` from the UPs and re-indexes it. `now` stamps
    /// `last_updated` when something visible changed (`None` while generating).
    pub(crate) fn refresh(&mut self, key: u64, now: Option<DateTime<Utc>>) {
        let Some(listing) = self.listings.get(&key) else {
            return;
        };

        let variation_quantities: Vec<i64> = listing
            .variations
            .iter()
            .map(|v| {
                v.user_product_id
                    .as_ref()
                    .map_or(v.own_quantity, |up| self.up_total(up))
            })
            .collect();
        let quantity = if listing.variations.is_empty() {
            listing
                .user_product_id
                .as_ref()
                .map_or(listing.own_quantity, |up| self.up_total(up))
        } else {
            variation_quantities.iter().sum()
        };
        let (status, sub_status) = derive_status(
            listing.closed,
            listing.paused_by_seller,
            listing.auto_pauses(),
            quantity,
        );

        let seller_id = self.seller_id;
        let Some(listing) = self.listings.get_mut(&key) else {
            return;
        };
        let changed = listing.available_quantity != quantity
            || listing.status != status
            || listing.sub_status != sub_status
            || listing
                .variations
                .iter()
                .zip(&variation_quantities)
                .any(|(v, q)| v.available_quantity != *q);
        listing.available_quantity = quantity;
        listing.status = status;
        listing.sub_status = sub_status;
        for (variation, q) in listing.variations.iter_mut().zip(variation_quantities) {
            variation.available_quantity = q;
        }
        if let (true, Some(now)) = (changed, now) {
            listing.last_updated = now;
        }

        if listing.deleted || listing.seller_id != seller_id {
            self.index.remove(key);
        } else {
            let entry = super::index::IndexEntry::of(listing);
            self.index.upsert(key, entry);
        }
    }

    /// After a UP write: bump its version, refresh `immediate` now and the other listings
    /// of the UP after `delay` (at once when `delay` is zero).
    pub(crate) fn after_up_write(
        &mut self,
        up_id: &str,
        now: DateTime<Utc>,
        immediate: Option<u64>,
        delay: chrono::TimeDelta,
    ) {
        let Some(up) = self.user_products.get_mut(up_id) else {
            return;
        };
        up.version += 1;
        let listings = up.listings.clone();

        for key in listings {
            if Some(key) == immediate || delay <= chrono::TimeDelta::zero() {
                self.refresh(key, Some(now));
            } else {
                self.schedule(key, now + delay);
            }
        }
    }

    pub(crate) fn own_key(&self, item_id: &str) -> Result<u64, StockError> {
        self.listing(item_id)
            .filter(|l| l.seller_id == self.seller_id)
            .map(|l| l.key)
            .ok_or_else(|| StockError::UnknownItem(item_id.to_owned()))
    }

    fn sources(&self, key: u64) -> Vec<Source> {
        let Some(listing) = self.listings.get(&key) else {
            return Vec::new();
        };
        if listing.variations.is_empty() {
            return vec![
                listing
                    .user_product_id
                    .clone()
                    .map_or(Source::Own, Source::UserProduct),
            ];
        }
        listing
            .variations
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.user_product_id
                    .clone()
                    .map_or(Source::VariationOwn(i), Source::UserProduct)
            })
            .collect()
    }

    fn source_quantity(&self, key: u64, source: &Source) -> i64 {
        match source {
            Source::UserProduct(up) => self.up_total(up),
            Source::Own => self.listings.get(&key).map_or(0, |l| l.own_quantity),
            Source::VariationOwn(i) => self
                .listings
                .get(&key)
                .and_then(|l| l.variations.get(*i))
                .map_or(0, |v| v.own_quantity),
        }
    }

    /// A buyer purchase of `quantity` units: stock decreases (auto-pause at 0).
    pub(crate) fn sell(
        &mut self,
        item_id: &str,
        quantity: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StockError> {
        let key = self.own_key(item_id)?;
        if quantity <= 0 {
            return Err(StockError::InvalidQuantity {
                item_id: item_id.to_owned(),
                quantity,
            });
        }

        let sources = self.sources(key);
        let available: i64 = sources.iter().map(|s| self.source_quantity(key, s)).sum();
        if available < quantity {
            return Err(StockError::NotEnoughStock {
                item_id: item_id.to_owned(),
                available,
                requested: quantity,
            });
        }

        let mut remaining = quantity;
        for (position, source) in sources.iter().enumerate() {
            let taken = remaining.min(self.source_quantity(key, source));
            if taken <= 0 {
                continue;
            }
            remaining -= taken;
            self.take_from(key, source, taken);
            if let Some(listing) = self.listings.get_mut(&key) {
                listing.sold_quantity += taken;
                if let Some(variation) = listing.variations.get_mut(position) {
                    variation.sold_quantity += taken;
                }
            }
            if let Source::UserProduct(up) = source {
                self.after_up_write(up, now, Some(key), chrono::TimeDelta::zero());
            }
        }

        self.refresh(key, Some(now));
        Ok(())
    }

    fn take_from(&mut self, key: u64, source: &Source, mut quantity: i64) {
        match source {
            Source::UserProduct(up) => {
                let Some(up) = self.user_products.get_mut(up) else {
                    return;
                };
                for location in &mut up.locations {
                    let taken = quantity.min(location.quantity);
                    location.quantity -= taken;
                    quantity -= taken;
                }
            }
            Source::Own => {
                if let Some(listing) = self.listings.get_mut(&key) {
                    listing.own_quantity -= quantity;
                }
            }
            Source::VariationOwn(i) => {
                let variation = self
                    .listings
                    .get_mut(&key)
                    .and_then(|l| l.variations.get_mut(*i));
                if let Some(variation) = variation {
                    variation.own_quantity -= quantity;
                }
            }
        }
    }

    /// The seller adds `quantity` units at its first writable origin (reactivates).
    pub(crate) fn restock(
        &mut self,
        item_id: &str,
        quantity: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StockError> {
        let key = self.own_key(item_id)?;
        if quantity <= 0 {
            return Err(StockError::InvalidQuantity {
                item_id: item_id.to_owned(),
                quantity,
            });
        }

        let source = self.sources(key).into_iter().next().unwrap_or(Source::Own);
        match &source {
            Source::UserProduct(up_id) => {
                if let Some(up) = self.user_products.get_mut(up_id) {
                    let preferred = [
                        LocationType::SellingAddress,
                        LocationType::SellerWarehouse,
                        LocationType::MeliFacility,
                    ]
                    .into_iter()
                    .find_map(|kind| up.locations.iter().position(|l| l.kind == kind));
                    match preferred {
                        Some(i) => up.locations[i].quantity += quantity,
                        None => up.locations.push(super::Location {
                            kind: LocationType::SellingAddress,
                            quantity,
                            store_id: None,
                            network_node_id: None,
                        }),
                    }
                }
                self.after_up_write(up_id, now, Some(key), chrono::TimeDelta::zero());
            }
            Source::Own => {
                if let Some(listing) = self.listings.get_mut(&key) {
                    listing.own_quantity += quantity;
                }
            }
            Source::VariationOwn(i) => {
                let variation = self
                    .listings
                    .get_mut(&key)
                    .and_then(|l| l.variations.get_mut(*i));
                if let Some(variation) = variation {
                    variation.own_quantity += quantity;
                }
            }
        }

        self.refresh(key, Some(now));
        Ok(())
    }
}
