//! JSON bodies as ML returns them: items (doc §3.2), UP stock (doc §4.2), Full stock
//! (doc §5) and stores (doc §4.4).
//!
//! Fields outside the stock-relevant set of doc §3.2 (title, price, category) carry
//! plausible generated values \[A\]. Without `include_attributes=all` variations carry no
//! `attributes` key at all \[A\] (doc §3.1 only says the flag adds them).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Inventory, Listing, StoreInfo, UserProduct, World};

/// ML's timestamp style, e.g. `2026-01-15T10:20:30.000Z`.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn sku_attribute(sku: &str) -> Value {
    json!({"id": "SELLER_SKU", "name": "SKU", "value_id": null, "value_name": sku})
}

impl World {
    /// The full item body as the owner sees it.
    pub(crate) fn item_json(&self, listing: &Listing, all_attributes: bool) -> Value {
        let mut attributes = vec![json!({
            "id": "BRAND", "name": "Marca", "value_id": null, "value_name": "Genérica"
        })];
        if let Some(sku) = &listing.seller_sku {
            attributes.push(sku_attribute(sku));
        }

        let variations: Vec<Value> = listing
            .variations
            .iter()
            .map(|v| {
                let mut body = json!({
                    "id": v.id,
                    "price": listing.price,
                    "attribute_combinations": [{
                        "id": v.combination.0, "name": v.combination.0, "value_id": null,
                        "value_name": v.combination.1,
                    }],
                    "available_quantity": v.available_quantity,
                    "sold_quantity": v.sold_quantity,
                    "seller_custom_field": v.seller_custom_field,
                    "user_product_id": v.user_product_id,
                    "inventory_id": v.inventory_id,
                    "picture_ids": [],
                });
                if let (true, Some(object)) = (all_attributes, body.as_object_mut()) {
                    let attrs: Vec<Value> = v.seller_sku.iter().map(|s| sku_attribute(s)).collect();
                    object.insert("attributes".to_owned(), Value::Array(attrs));
                }
                body
            })
            .collect();

        let family_id = listing
            .family_name
            .as_ref()
            .map(|_| listing.key / 7 + 10_000_000);
        json!({
            "id": listing.id,
            "site_id": self.site,
            "title": listing.title,
            "family_name": listing.family_name,
            "family_id": family_id,
            "seller_id": listing.seller_id,
            "category_id": listing.category_id,
            "user_product_id": listing.user_product_id,
            "price": listing.price,
            "base_price": listing.price,
            "currency_id": currency_of(&self.site),
            "initial_quantity": listing.available_quantity + listing.sold_quantity,
            "available_quantity": listing.available_quantity,
            "sold_quantity": listing.sold_quantity,
            "buying_mode": "buy_it_now",
            "listing_type_id": listing.listing_type_id,
            "condition": listing.condition,
            "permalink": format!("https://articulo.mercadolibre.invalid/{}", listing.id),
            "status": listing.status,
            "sub_status": listing.sub_status,
            "tags": ["good_quality_thumbnail"],
            "catalog_listing": false,
            "inventory_id": listing.inventory_id,
            "seller_custom_field": listing.seller_custom_field,
            "attributes": attributes,
            "variations": variations,
            "shipping": {
                "mode": "me2",
                "logistic_type": listing.logistic_type,
                "free_shipping": false,
                "tags": listing.shipping_tags,
            },
            "date_created": timestamp(listing.date_created),
            "start_time": timestamp(listing.start_time),
            "stop_time": timestamp(listing.stop_time),
            "last_updated": timestamp(listing.last_updated),
        })
    }

    /// `GET /user-products/{id}/stock` body (the version goes in a header).
    pub(crate) fn user_product_stock_json(&self, up: &UserProduct) -> Value {
        let locations: Vec<Value> = up
            .locations
            .iter()
            .map(|l| {
                let mut body = json!({"type": l.kind.as_str(), "quantity": l.quantity});
                if let (Some(object), Some(store)) = (body.as_object_mut(), &l.store_id) {
                    object.insert("store_id".to_owned(), json!(store));
                    object.insert("network_node_id".to_owned(), json!(l.network_node_id));
                }
                body
            })
            .collect();
        json!({"locations": locations, "user_id": up.user_id, "id": up.id})
    }

    /// `GET /inventories/{id}/stock/fulfillment` body; sellable units are the UP's
    /// `meli_facility` quantity \[A\].
    pub(crate) fn fulfillment_json(&self, inventory: &Inventory) -> Value {
        let up = self.user_products.get(&inventory.user_product_id);
        let available = up
            .and_then(|up| up.quantity_of(super::LocationType::MeliFacility))
            .unwrap_or(0);
        let not_available: i64 = inventory.not_available.iter().map(|(_, q)| q).sum();

        let mut references = Vec::new();
        for key in up.map(|up| up.listings.as_slice()).unwrap_or_default() {
            let Some(listing) = self.listings.get(key).filter(|l| !l.deleted) else {
                continue;
            };
            if listing.inventory_id.as_deref() == Some(inventory.id.as_str()) {
                references.push(json!({"type": "item", "id": listing.id, "variation_id": null}));
            }
            for variation in &listing.variations {
                if variation.inventory_id.as_deref() == Some(inventory.id.as_str()) {
                    references.push(json!({
                        "type": "item", "id": listing.id, "variation_id": variation.id
                    }));
                }
            }
        }

        json!({
            "inventory_id": inventory.id,
            "total": available + not_available,
            "available_quantity": available,
            "not_available_quantity": not_available,
            "not_available_detail": inventory
                .not_available
                .iter()
                .map(|(status, quantity)| json!({"status": status, "quantity": quantity}))
                .collect::<Vec<_>>(),
            "external_references": references,
        })
    }
}

/// One entry of `GET /users/{id}/stores/search` (doc §4.4).
pub(crate) fn store_json(store: &StoreInfo) -> Value {
    let tags: Vec<&str> = if store.stock_location {
        vec!["stock_location"]
    } else {
        vec![]
    };
    json!({
        "id": store.id,
        "user_id": store.user_id.to_string(),
        "description": store.description,
        "status": "active",
        "location": {"address_line": "Av. Simulada 123", "city": "Santiago"},
        "tags": tags,
        "network_node_id": store.network_node_id,
        "services": {"stock_location": ["cross_docking", "xd_drop_off"]},
    })
}

/// Keeps only the requested top-level fields (`attributes=`), always with `id`.
pub(crate) fn trim(body: Value, fields: &[String]) -> Value {
    let Value::Object(object) = body else {
        return body;
    };
    let kept: Map<String, Value> = object
        .into_iter()
        .filter(|(k, _)| k == "id" || fields.iter().any(|f| f == k))
        .collect();
    Value::Object(kept)
}

fn currency_of(site: &str) -> &'static str {
    match site {
        "MLA" => "ARS",
        "MLB" => "BRL",
        "MLM" => "MXN",
        "MCO" => "COP",
        "MLU" => "UYU",
        "MPE" => "PEN",
        _ => "CLP",
    }
}
