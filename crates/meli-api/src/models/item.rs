//! Listings (`/items`) as far as stock sync needs them (doc §3.2).
//!
//! Every field is optional or defaulted and unknown fields are ignored, because
//! `attributes=` trims bodies and ML adds fields without notice.

use serde::Deserialize;

use crate::models::lenient::{de_opt_string, de_opt_u64, de_string, de_u64, de_vec};

/// The attribute id that holds a listing's (or variation's) SKU (doc §3.2).
pub const SELLER_SKU: &str = "SELLER_SKU";

/// A listing.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Item {
    /// `MLA123...`; filled from the requested id when a trimmed body lacks it.
    #[serde(default, deserialize_with = "de_string")]
    pub id: String,
    /// Site of the listing (`MLA`, `MLC`, ..).
    #[serde(default, deserialize_with = "de_opt_string")]
    pub site_id: Option<String>,
    /// The owner; a number on items (a string is accepted too).
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub seller_id: Option<u64>,
    /// `active`, `paused`, `closed`, `under_review`, ..; empty when trimmed away.
    #[serde(default, deserialize_with = "de_string")]
    pub status: String,
    /// E.g. `["out_of_stock"]` for an auto-paused listing.
    #[serde(default, deserialize_with = "de_vec")]
    pub sub_status: Vec<String>,
    /// Stock ML reports for the listing (the sum over variations when it has some).
    #[serde(default)]
    pub available_quantity: Option<i64>,
    /// Units sold.
    #[serde(default)]
    pub sold_quantity: Option<i64>,
    /// The User Product that owns the stock (`MLAU...`); may be set per variation instead.
    #[serde(default, deserialize_with = "de_opt_string")]
    pub user_product_id: Option<String>,
    /// Full inventory id, when the listing is in Full.
    #[serde(default, deserialize_with = "de_opt_string")]
    pub inventory_id: Option<String>,
    /// Non-null means the listing is on the User Product model.
    #[serde(default, deserialize_with = "de_opt_string")]
    pub family_name: Option<String>,
    /// `gold_special` (classic), `gold_pro` (premium), `free`.
    #[serde(default, deserialize_with = "de_opt_string")]
    pub listing_type_id: Option<String>,
    /// Free text; not the SKU.
    #[serde(default, deserialize_with = "de_opt_string")]
    pub seller_custom_field: Option<String>,
    /// `new`, `used`, ..
    #[serde(default, deserialize_with = "de_opt_string")]
    pub condition: Option<String>,
    /// Listing attributes; `SELLER_SKU` among them.
    #[serde(default, deserialize_with = "de_vec")]
    pub attributes: Vec<Attribute>,
    /// Variations of a legacy multi-variation listing.
    #[serde(default, deserialize_with = "de_vec")]
    pub variations: Vec<Variation>,
    /// Logistics of the listing.
    #[serde(default)]
    pub shipping: Option<Shipping>,
    /// ISO timestamp of the last change, as sent.
    #[serde(default, deserialize_with = "de_opt_string")]
    pub last_updated: Option<String>,
}

impl Item {
    /// The listing's SKU: the value of its `SELLER_SKU` attribute.
    pub fn seller_sku(&self) -> Option<&str> {
        sku_of(&self.attributes)
    }
}

/// One variation of a listing.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Variation {
    /// Variation id (a number).
    #[serde(deserialize_with = "de_u64")]
    pub id: u64,
    /// Stock of the variation.
    #[serde(default)]
    pub available_quantity: Option<i64>,
    /// Units sold.
    #[serde(default)]
    pub sold_quantity: Option<i64>,
    /// The User Product of this variation, when it carries its own.
    #[serde(default, deserialize_with = "de_opt_string")]
    pub user_product_id: Option<String>,
    /// Full inventory id of this variation.
    #[serde(default, deserialize_with = "de_opt_string")]
    pub inventory_id: Option<String>,
    /// Free text; not the SKU.
    #[serde(default, deserialize_with = "de_opt_string")]
    pub seller_custom_field: Option<String>,
    /// Variation attributes (`include_attributes=all`); `SELLER_SKU` among them.
    #[serde(default, deserialize_with = "de_vec")]
    pub attributes: Vec<Attribute>,
    /// What makes this variation distinct (color, size, ..).
    #[serde(default, deserialize_with = "de_vec")]
    pub attribute_combinations: Vec<Attribute>,
}

impl Variation {
    /// The variation's SKU: the value of its `SELLER_SKU` attribute.
    pub fn seller_sku(&self) -> Option<&str> {
        sku_of(&self.attributes)
    }
}

/// One attribute; only the id and the display value matter here.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Attribute {
    /// Attribute id (`SELLER_SKU`, `COLOR`, ..).
    #[serde(default, deserialize_with = "de_string")]
    pub id: String,
    /// Value as shown.
    #[serde(default, deserialize_with = "de_opt_string")]
    pub value_name: Option<String>,
}

impl Attribute {
    /// An attribute with a value, for building fixtures and comparisons.
    pub fn new(id: impl Into<String>, value_name: Option<String>) -> Self {
        Self {
            id: id.into(),
            value_name,
        }
    }
}

/// Logistics of a listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Shipping {
    /// `fulfillment`, `cross_docking`, `self_service`, ..
    #[serde(default, deserialize_with = "de_opt_string")]
    pub logistic_type: Option<String>,
    /// `self_service_in` means Flex is on.
    #[serde(default, deserialize_with = "de_vec")]
    pub tags: Vec<String>,
}

fn sku_of(attributes: &[Attribute]) -> Option<&str> {
    attributes
        .iter()
        .find(|a| a.id == SELLER_SKU)
        .and_then(|a| a.value_name.as_deref())
        .filter(|sku| !sku.trim().is_empty())
}

/// A per-id failure inside a multiget answer (the element's `code` was not 200).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemError {
    /// The element's `code` (404 unknown, 403 foreign, ..).
    pub code: u16,
    /// ML's `error` (`not_found`, ..).
    pub error: Option<String>,
    /// ML's `message`.
    pub message: Option<String>,
}

/// One requested id of a multiget and what ML answered for it.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemResult {
    /// The id as requested.
    pub id: String,
    /// The listing, or the per-id error.
    pub outcome: Result<Item, ItemError>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn full_listing_with_variations_parses() {
        let body = r#"{"id":"MLA1","site_id":"MLA","seller_id":"77","status":"paused",
            "sub_status":["out_of_stock"],"available_quantity":0,"user_product_id":null,
            "family_name":null,"attributes":[{"id":"SELLER_SKU","value_name":"SKU-1"}],
            "variations":[{"id":11,"available_quantity":3,"user_product_id":"MLAU9",
              "inventory_id":"ABCD12345","attributes":[{"id":"SELLER_SKU","value_name":"V-1"}],
              "attribute_combinations":[{"id":"COLOR","value_name":"Red","x":1}]}],
            "shipping":{"logistic_type":"fulfillment","tags":["self_service_in"]},
            "unknown":{"nested":true}}"#;

        let item: Item = serde_json::from_str(body).unwrap();

        assert_eq!(item.seller_id, Some(77));
        assert_eq!(item.sub_status, ["out_of_stock"]);
        assert_eq!(item.seller_sku(), Some("SKU-1"));
        assert_eq!(item.variations[0].user_product_id.as_deref(), Some("MLAU9"));
        assert_eq!(
            item.variations[0].inventory_id.as_deref(),
            Some("ABCD12345")
        );
        assert_eq!(item.variations[0].seller_sku(), Some("V-1"));
        assert_eq!(
            item.shipping.unwrap().logistic_type.as_deref(),
            Some("fulfillment")
        );
    }

    #[test]
    fn trimmed_body_with_nulls_parses() {
        let body = r#"{"id":"MLA2","sub_status":null,"attributes":null,"variations":null}"#;

        let item: Item = serde_json::from_str(body).unwrap();

        assert_eq!(item.status, "");
        assert!(item.sub_status.is_empty() && item.variations.is_empty());
        assert_eq!(item.seller_sku(), None);
    }

    #[test]
    fn variation_without_id_is_a_decode_error() {
        let body = r#"{"id":"MLA3","variations":[{"available_quantity":1}]}"#;

        assert!(serde_json::from_str::<Item>(body).is_err());
    }
}
