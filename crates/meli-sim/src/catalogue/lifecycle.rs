//! Listing lifecycle and totals: seller status changes, deletion, the Full check, and the
//! stock totals ML holds per listing (what [`crate::SimHandle::expected_totals`] reports).

use chrono::{DateTime, Utc};

use super::World;
use super::stock::StockError;

impl World {
    /// Seller-side status change: `paused` (by seller), `active` or `closed`.
    pub(crate) fn set_status(
        &mut self,
        item_id: &str,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StockError> {
        let key = self.own_key(item_id)?;
        let Some(listing) = self.listings.get_mut(&key) else {
            return Err(StockError::UnknownItem(item_id.to_owned()));
        };

        match status {
            "paused" => listing.paused_by_seller = true,
            "active" => {
                listing.paused_by_seller = false;
                listing.closed = false;
            }
            "closed" => listing.closed = true,
            other => {
                return Err(StockError::UnsupportedStatus {
                    item_id: item_id.to_owned(),
                    status: other.to_owned(),
                });
            }
        }
        listing.last_updated = now;

        self.refresh(key, Some(now));
        Ok(())
    }

    /// Removes a listing: gone from search, 404 on reads.
    pub(crate) fn delete(&mut self, item_id: &str, now: DateTime<Utc>) -> Result<(), StockError> {
        let key = self.own_key(item_id)?;
        if let Some(listing) = self.listings.get_mut(&key) {
            listing.deleted = true;
        }
        self.refresh(key, Some(now));
        Ok(())
    }

    /// What ML holds now for each listing of the seller: the sum over the listing's
    /// distinct UPs, or its own quantity (legacy), ignoring pending propagation.
    pub(crate) fn expected_totals(&self) -> std::collections::BTreeMap<String, i64> {
        let mut totals = std::collections::BTreeMap::new();
        for listing in self.listings.values() {
            if listing.deleted || listing.seller_id != self.seller_id {
                continue;
            }

            let from_ups: i64 = listing
                .user_product_ids()
                .iter()
                .map(|up| self.up_total(up))
                .sum();
            let own: i64 = if listing.variations.is_empty() {
                if listing.user_product_id.is_none() {
                    listing.own_quantity
                } else {
                    0
                }
            } else {
                listing
                    .variations
                    .iter()
                    .filter(|v| v.user_product_id.is_none())
                    .map(|v| v.own_quantity)
                    .sum()
            };
            totals.insert(listing.id.clone(), from_ups + own);
        }
        totals
    }

    /// Full listings refuse `PUT /items` stock changes (doc §3.3).
    pub(crate) fn is_full_listing(&self, key: u64) -> bool {
        self.listings
            .get(&key)
            .is_some_and(|l| l.logistic_type == "fulfillment")
    }
}
