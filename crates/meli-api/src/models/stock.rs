//! Stock resources: user-product locations (doc §4.2) and Full inventories (doc §5).

use serde::Deserialize;

use crate::models::lenient::{de_opt_string, de_opt_u64, de_string, de_u64, de_vec};

/// `GET /user-products/{id}/stock`: where the units of one User Product are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct UserProductStock {
    /// The User Product id (`MLAU...`).
    #[serde(default, deserialize_with = "de_string")]
    pub id: String,
    /// The owner.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub user_id: Option<u64>,
    /// One entry per location type (and per store for `seller_warehouse`).
    #[serde(default, deserialize_with = "de_vec")]
    pub locations: Vec<StockLocation>,
    /// The `x-version` response header; writes must send it back (doc §4.3).
    #[serde(skip)]
    pub version: Option<i64>,
}

impl UserProductStock {
    /// A user product with no stock locations: what `stock-locations not found` (404) means
    /// for a sync (doc §4.2), so callers can record it as holding nothing.
    pub fn empty(user_product_id: &str) -> Self {
        Self {
            id: user_product_id.to_string(),
            ..Self::default()
        }
    }

    /// Units over all locations: what ML derives the listing's `available_quantity` from
    /// (\[A\] in doc §4.2: the docs do not say it is exactly the sum).
    pub fn total(&self) -> i64 {
        self.locations.iter().map(|l| l.quantity).sum()
    }
}

/// One stock location of a User Product.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct StockLocation {
    /// `selling_address`, `meli_facility` (Full, read-only) or `seller_warehouse`.
    #[serde(rename = "type", default, deserialize_with = "de_string")]
    pub kind: String,
    /// Units at this location.
    #[serde(default)]
    pub quantity: i64,
    /// The seller's store, for `seller_warehouse`.
    #[serde(default, deserialize_with = "de_opt_string")]
    pub store_id: Option<String>,
    /// The network node of the store, for multi-origin entries.
    #[serde(default, deserialize_with = "de_opt_string")]
    pub network_node_id: Option<String>,
}

/// `GET /inventories/{id}/stock/fulfillment`: units of one Full inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct FulfillmentStock {
    /// The inventory id (`LCQI05831`).
    #[serde(default, deserialize_with = "de_string")]
    pub inventory_id: String,
    /// All units in Full.
    #[serde(default)]
    pub total: i64,
    /// Sellable units.
    #[serde(default)]
    pub available_quantity: i64,
    /// Units held for some reason (damaged, transfer, ..).
    #[serde(default)]
    pub not_available_quantity: i64,
    /// Why the held units are held.
    #[serde(default, deserialize_with = "de_vec")]
    pub not_available_detail: Vec<NotAvailableDetail>,
    /// Listings (and variations) that sell this inventory.
    #[serde(default, deserialize_with = "de_vec")]
    pub external_references: Vec<ExternalReference>,
}

/// Held units of one status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct NotAvailableDetail {
    /// `damaged`, `lost`, `withdrawal`, `internal_process`, `transfer`, ..
    #[serde(default, deserialize_with = "de_string")]
    pub status: String,
    /// Units held in that status.
    #[serde(default)]
    pub quantity: i64,
}

/// A listing that sells a Full inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ExternalReference {
    /// Usually `item`.
    #[serde(rename = "type", default, deserialize_with = "de_string")]
    pub kind: String,
    /// The listing id.
    #[serde(default, deserialize_with = "de_string")]
    pub id: String,
    /// The variation, when the inventory belongs to one.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub variation_id: Option<u64>,
}

/// `GET /users/me`: the seller behind the token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct User {
    /// The seller id used in paths.
    #[serde(deserialize_with = "de_u64")]
    pub id: u64,
    /// Public nickname.
    #[serde(default, deserialize_with = "de_opt_string")]
    pub nickname: Option<String>,
    /// Home site.
    #[serde(default, deserialize_with = "de_opt_string")]
    pub site_id: Option<String>,
    /// `user_product_seller`, `warehouse_management`, `multiwarehouse`, ..
    #[serde(default, deserialize_with = "de_vec")]
    pub tags: Vec<String>,
}

impl User {
    /// True when the seller carries `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn doc_samples_parse() {
        let up = r#"{"locations":[{"type":"meli_facility","quantity":5},
            {"type":"seller_warehouse","quantity":9,"store_id":100,"network_node_id":"MXP1"}],
            "user_id":"1376088286","id":"MLAU12345678"}"#;
        let full = r#"{"inventory_id":"LCQI05831","total":20,"available_quantity":5,
            "not_available_quantity":15,"not_available_detail":[{"status":"damaged",
            "quantity":2}],"external_references":[{"type":"item","id":"MLB1",
            "variation_id":4742223403}]}"#;

        let up: UserProductStock = serde_json::from_str(up).unwrap();
        let full: FulfillmentStock = serde_json::from_str(full).unwrap();

        assert_eq!(up.total(), 14);
        assert_eq!(UserProductStock::empty("MLAU1").total(), 0);
        assert_eq!(up.user_id, Some(1_376_088_286));
        assert_eq!(up.locations[1].store_id.as_deref(), Some("100"));
        assert_eq!(full.not_available_detail[0].quantity, 2);
        assert_eq!(
            full.external_references[0].variation_id,
            Some(4_742_223_403)
        );
    }
}
