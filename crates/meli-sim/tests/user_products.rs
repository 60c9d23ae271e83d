//! User-product stock (versions, typed writes, store validation) and Full stock.
#![allow(clippy::unwrap_used)]

mod common;

use meli_sim::{ListingKind, SimConfig};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn user_product_stock_writes_need_the_current_version() {
    // Arrange
    let t = common::spawn().await;
    let full_own = t
        .sim
        .catalogue()
        .first_of(ListingKind::FullAndOwn)
        .unwrap()
        .clone();
    let up = full_own.user_product_id.clone().unwrap();
    let path = format!("/user-products/{up}/stock/type/selling_address");
    let get = t.get(&format!("/user-products/{up}/stock")).await;
    let version: i64 = get.headers()["x-version"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body: serde_json::Value = get.json().await.unwrap();
    let facility = body["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["type"] == "meli_facility")
        .unwrap()["quantity"]
        .as_i64()
        .unwrap();

    // Act
    let missing = t.put_json(&path, json!({"quantity": 11}), None).await;
    let stale = t
        .put_json(
            &path,
            json!({"quantity": 11}),
            Some(&(version - 1).to_string()),
        )
        .await;
    let ok = t
        .put_json(&path, json!({"quantity": 11}), Some(&version.to_string()))
        .await;
    let after = t.get(&format!("/user-products/{up}/stock")).await;
    let reused = t
        .put_json(&path, json!({"quantity": 12}), Some(&version.to_string()))
        .await;
    let facility_put = t
        .put_json(
            &format!("/user-products/{up}/stock/type/meli_facility"),
            json!({"quantity": 1}),
            Some(&(version + 1).to_string()),
        )
        .await;
    let untyped = t
        .put_json(&format!("/user-products/{up}/stock"), json!({}), None)
        .await;

    // Assert
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["message"], "Missing X-Version header");
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let body: serde_json::Value = stale.json().await.unwrap();
    assert_eq!(body["message"], "Version mismatch");
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        after.headers()["x-version"].to_str().unwrap(),
        (version + 1).to_string()
    );
    assert_eq!(reused.status(), StatusCode::CONFLICT);
    assert_eq!(facility_put.status(), StatusCode::BAD_REQUEST);
    assert_eq!(untyped.status(), StatusCode::NOT_FOUND);
    assert_eq!(t.item_state(&full_own.id).await.0, 11 + facility);
}

#[tokio::test]
async fn selling_address_writes_are_blocked_outside_mla_and_mlc() {
    let t = common::spawn_with(SimConfig {
        site: "MLB".to_owned(),
        ..common::config()
    })
    .await;
    let full_own = t
        .sim
        .catalogue()
        .first_of(ListingKind::FullAndOwn)
        .unwrap()
        .clone();
    let up = full_own.user_product_id.unwrap();
    assert!(up.starts_with("MLBU"));
    let get = t.get(&format!("/user-products/{up}/stock")).await;
    let version = get.headers()["x-version"].to_str().unwrap().to_owned();

    let response = t
        .put_json(
            &format!("/user-products/{up}/stock/type/selling_address"),
            json!({"quantity": 3}),
            Some(&version),
        )
        .await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["message"],
        "the site is blocked for modifications to the selling address"
    );
}

#[tokio::test]
async fn seller_warehouse_writes_validate_stores_and_return_the_stock() {
    let t = common::spawn().await;
    let catalogue = t.sim.catalogue();
    let multi = catalogue.first_of(ListingKind::MultiOrigin).unwrap();
    let up = multi.user_product_id.clone().unwrap();
    let path = format!("/user-products/{up}/stock/type/seller_warehouse");
    let seller = catalogue.seller_id;
    let own_stock = catalogue
        .stores
        .iter()
        .find(|s| s.user_id == seller && s.stock_location);
    let own_other = catalogue
        .stores
        .iter()
        .find(|s| s.user_id == seller && !s.stock_location);
    let foreign = catalogue
        .stores
        .iter()
        .find(|s| s.user_id != seller)
        .unwrap();
    let (own_stock, own_other) = (own_stock.unwrap(), own_other.unwrap());

    let mut messages = Vec::new();
    for store in [
        json!(""),
        json!("404404"),
        json!(foreign.id),
        json!(own_other.id),
    ] {
        let version = t.get(&format!("/user-products/{up}/stock")).await.headers()["x-version"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = json!({"locations": [{"store_id": store, "quantity": 5}]});
        let response = t.put_json(&path, body, Some(&version)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = response.json().await.unwrap();
        messages.push(body["message"].as_str().unwrap().to_owned());
    }
    let version = t.get(&format!("/user-products/{up}/stock")).await.headers()["x-version"]
        .to_str()
        .unwrap()
        .to_owned();
    let ok = t
        .put_json(
            &path,
            json!({"locations": [{"store_id": own_stock.id, "quantity": 42}]}),
            Some(&version),
        )
        .await;

    assert_eq!(
        messages,
        [
            "store cannot be null or empty",
            "store not found",
            "store does not belong to seller",
            "store is not configured to be a stock location"
        ]
    );
    assert_eq!(ok.status(), StatusCode::OK);
    let body: serde_json::Value = ok.json().await.unwrap();
    let written = body["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["store_id"] == own_stock.id.as_str())
        .unwrap()
        .clone();
    assert_eq!(written["quantity"], 42);
    assert_eq!(written["type"], "seller_warehouse");
    let total: i64 = body["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["quantity"].as_i64().unwrap())
        .sum();
    assert_eq!(t.sim.expected_totals()[&multi.id], total);
}

#[tokio::test]
async fn user_product_without_locations_or_unknown_answers_404() {
    let t = common::spawn().await;
    let catalogue = t.sim.catalogue();
    let sold_out = catalogue.first_of(ListingKind::SoldOut).unwrap();
    let up = sold_out.user_product_id.clone().unwrap();

    let (empty, empty_body) = t.get_json(&format!("/user-products/{up}/stock")).await;
    let (unknown, unknown_body) = t.get_json("/user-products/MLCU1/stock").await;
    t.sim.restock(&sold_out.id, 2).unwrap();
    let (restocked, restocked_body) = t.get_json(&format!("/user-products/{up}/stock")).await;

    assert_eq!(empty, StatusCode::NOT_FOUND, "{empty_body}");
    assert_eq!(empty_body["message"], "stock-locations not found");
    assert_eq!(unknown, StatusCode::NOT_FOUND, "{unknown_body}");
    assert_eq!(restocked, StatusCode::OK);
    assert_eq!(restocked_body["locations"][0]["quantity"], 2);
    assert_eq!(restocked_body["id"], up.as_str());
    assert_eq!(restocked_body["user_id"], catalogue.seller_id);
}

#[tokio::test]
async fn fulfillment_stock_matches_meli_facility_and_lists_shared_items() {
    let t = common::spawn_with(SimConfig {
        items: 300,
        ..common::config()
    })
    .await;
    let catalogue = t.sim.catalogue();
    let full = catalogue.first_of(ListingKind::Full).unwrap();
    let inventory = full.inventory_id.clone().unwrap();
    let up = full.user_product_id.clone().unwrap();

    t.sim.sell(&full.id, 1).unwrap();
    let (status, body) = t
        .get_json(&format!("/inventories/{inventory}/stock/fulfillment"))
        .await;
    let (_, stock) = t.get_json(&format!("/user-products/{up}/stock")).await;
    let (missing, missing_body) = t.get_json("/inventories/ZZZZ00000/stock/fulfillment").await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["available_quantity"],
        stock["locations"][0]["quantity"]
    );
    assert_eq!(
        body["available_quantity"].as_i64().unwrap(),
        t.item_state(&full.id).await.0
    );
    let not_available = body["not_available_quantity"].as_i64().unwrap();
    assert_eq!(
        body["total"].as_i64().unwrap(),
        body["available_quantity"].as_i64().unwrap() + not_available
    );
    assert_eq!(body["external_references"][0]["id"], full.id.as_str());
    assert_eq!(missing, StatusCode::NOT_FOUND);
    assert_eq!(missing_body["error"], "seller_product_not_found");

    // A shared Full inventory lists both items.
    let classic = catalogue
        .of_kind(ListingKind::SharedClassic)
        .find(|l| l.inventory_id.is_some())
        .unwrap();
    let inventory = classic.inventory_id.clone().unwrap();
    let (_, body) = t
        .get_json(&format!("/inventories/{inventory}/stock/fulfillment"))
        .await;
    let references = body["external_references"].as_array().unwrap();
    assert_eq!(references.len(), 2, "{body}");
}
