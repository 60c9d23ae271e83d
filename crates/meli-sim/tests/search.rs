//! Items search (offset and scan) and multiget.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use meli_sim::{ListingKind, SimConfig};
use reqwest::StatusCode;

#[tokio::test]
async fn offset_search_pages_validates_limits_and_filters() {
    // Arrange
    let t = common::spawn().await;
    let seller = t.seller();
    let catalogue = t.sim.catalogue();
    let base = format!("/users/{seller}/items/search");

    // Act
    let (status, first) = t.get_json(&base).await;
    let (over_limit, _) = t.get_json(&format!("{base}?limit=101")).await;
    let (over_reach, reach_body) = t.get_json(&format!("{base}?offset=950&limit=100")).await;
    let (foreign, _) = t
        .get_json(&format!("/users/{}/items/search", seller + 1))
        .await;
    let (_, paused) = t.get_json(&format!("{base}?status=paused&limit=100")).await;
    let (_, no_stock) = t
        .get_json(&format!("{base}?labels=without_stock&limit=100"))
        .await;
    let (_, full) = t
        .get_json(&format!("{base}?logistic_type=fulfillment&limit=100"))
        .await;

    // Assert
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["seller_id"], seller.to_string());
    assert_eq!(first["paging"]["limit"], 50);
    assert_eq!(first["paging"]["total"], catalogue.listings.len());
    assert_eq!(first["results"].as_array().unwrap().len(), 50);
    assert_eq!(over_limit, StatusCode::BAD_REQUEST);
    assert_eq!(over_reach, StatusCode::BAD_REQUEST);
    assert_eq!(reach_body["message"], "Invalid limit and offset values");
    assert_eq!(foreign, StatusCode::FORBIDDEN);

    let ids = |body: &serde_json::Value| -> BTreeSet<String> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().into())
            .collect()
    };
    let expect = |f: &dyn Fn(&meli_sim::CatalogueListing) -> bool| -> BTreeSet<String> {
        catalogue
            .listings
            .iter()
            .filter(|l| f(l))
            .map(|l| l.id.clone())
            .collect()
    };
    assert_eq!(ids(&paused), expect(&|l| l.status == "paused"));
    assert_eq!(ids(&no_stock), expect(&|l| l.available_quantity == 0));
    assert_eq!(ids(&full), expect(&|l| l.logistic_type == "fulfillment"));
    assert_eq!(paused["paging"]["total"], ids(&paused).len());
}

#[tokio::test]
async fn search_filters_by_sku_user_product_and_sorts() {
    let t = common::spawn().await;
    let seller = t.seller();
    let catalogue = t.sim.catalogue();
    let base = format!("/users/{seller}/items/search");
    let classic = catalogue.first_of(ListingKind::SharedClassic).unwrap();
    let legacy = catalogue.first_of(ListingKind::LegacyVariations).unwrap();
    let no_up = catalogue.first_of(ListingKind::LegacyNoUp).unwrap();
    let up = classic.user_product_id.clone().unwrap();
    let variation_up = legacy.variations[0].user_product_id.clone().unwrap();

    let (_, by_sku) = t
        .get_json(&format!(
            "{base}?seller_sku={}",
            classic.seller_sku.clone().unwrap()
        ))
        .await;
    let (_, by_variation_sku) = t
        .get_json(&format!(
            "{base}?seller_sku={}",
            legacy.variations[1].seller_sku.clone().unwrap()
        ))
        .await;
    let (_, by_custom) = t
        .get_json(&format!(
            "{base}?sku={}",
            no_up.seller_custom_field.clone().unwrap()
        ))
        .await;
    let (_, by_ups) = t
        .get_json(&format!("{base}?user_product_id={up},{variation_up}"))
        .await;
    let (_, ascending) = t
        .get_json(&format!("{base}?orders=available_quantity_asc&limit=100"))
        .await;
    let (_, descending) = t
        .get_json(&format!(
            "{base}?orders=available_quantity_desc&status=active"
        ))
        .await;
    let (bad_order, _) = t.get_json(&format!("{base}?orders=nonsense")).await;

    assert_eq!(
        by_sku["paging"]["total"], 2,
        "classic and premium share the SKU"
    );
    assert_eq!(by_variation_sku["results"][0], legacy.id.as_str());
    assert_eq!(by_custom["results"][0], no_up.id.as_str());
    assert_eq!(by_ups["paging"]["total"], 3);
    let quantity = |id: &serde_json::Value| {
        catalogue
            .get(id.as_str().unwrap())
            .unwrap()
            .available_quantity
    };
    let asc: Vec<i64> = ascending["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(quantity)
        .collect();
    let desc: Vec<i64> = descending["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(quantity)
        .collect();
    assert!(asc.windows(2).all(|w| w[0] <= w[1]), "{asc:?}");
    assert!(desc.windows(2).all(|w| w[0] >= w[1]), "{desc:?}");
    assert_eq!(bad_order, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn scan_returns_every_item_once_and_ends_with_a_null_scroll() {
    let t = common::spawn_with(SimConfig {
        items: 250,
        ..common::config()
    })
    .await;
    let catalogue = t.sim.catalogue();

    let ids = t.scan_all("").await;
    let active = t.scan_all("&status=active").await;

    let expected: BTreeSet<String> = catalogue.listings.iter().map(|l| l.id.clone()).collect();
    assert_eq!(ids.len(), expected.len());
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), expected);
    let expected_active = catalogue
        .listings
        .iter()
        .filter(|l| l.status == "active")
        .count();
    assert_eq!(active.len(), expected_active);
}

async fn scan_page(
    t: &common::TestSim,
    scroll: Option<&str>,
    extra: &[(&str, &str)],
) -> (StatusCode, serde_json::Value) {
    let seller = t.seller();
    let mut query = vec![("search_type", "scan"), ("limit", "10")];
    if let Some(scroll) = scroll {
        query.push(("scroll_id", scroll));
    }
    query.extend_from_slice(extra);
    let response = t
        .http
        .get(t.url(&format!("/users/{seller}/items/search")))
        .query(&query)
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn rotated_scroll_ids_go_stale_and_idle_scrolls_expire() {
    // Arrange
    let t = common::spawn().await;

    // Act
    let (_, first) = scan_page(&t, None, &[]).await;
    let first_id = first["scroll_id"].as_str().unwrap().to_owned();
    let (second_status, second) = scan_page(&t, Some(&first_id), &[]).await;
    let second_id = second["scroll_id"].as_str().unwrap().to_owned();
    let (stale, _) = scan_page(&t, Some(&first_id), &[]).await;
    let (with_offset, _) = scan_page(&t, Some(&second_id), &[("offset", "10")]).await;
    t.sim.clock().advance(Duration::from_secs(301));
    let (expired, _) = scan_page(&t, Some(&second_id), &[]).await;

    // Assert
    assert_eq!(first["paging"]["total"], t.sim.catalogue().listings.len());
    assert!(
        first_id.contains(':'),
        "scroll ids are base64 parts joined by ':'"
    );
    assert_eq!(second_status, StatusCode::OK);
    assert_ne!(first_id, second_id);
    assert_eq!(stale, StatusCode::NOT_FOUND);
    assert_eq!(with_offset, StatusCode::BAD_REQUEST);
    assert_eq!(expired, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn scan_snapshot_ignores_later_changes_and_finished_scrolls_answer_404() {
    let t = common::spawn_with(SimConfig {
        rotate_scroll_ids: false,
        ..common::config()
    })
    .await;
    let catalogue = t.sim.catalogue();
    let total = catalogue.listings.len();

    let (_, first) = scan_page(&t, None, &[]).await;
    let scroll = first["scroll_id"].as_str().unwrap().to_owned();
    t.sim
        .delete_item(&catalogue.listings[total - 1].id)
        .unwrap();
    let (_, rest) = scan_page(&t, Some(&scroll), &[("limit", "100")]).await;
    let (_, end) = scan_page(&t, Some(&scroll), &[("limit", "100")]).await;
    let (after_end, _) = scan_page(&t, Some(&scroll), &[]).await;

    let seen =
        first["results"].as_array().unwrap().len() + rest["results"].as_array().unwrap().len();
    assert_eq!(seen, total, "the snapshot was taken before the delete");
    assert_eq!(
        rest["scroll_id"],
        scroll.as_str(),
        "ids do not rotate when switched off"
    );
    assert_eq!(end["results"].as_array().unwrap().len(), 0);
    assert!(end["scroll_id"].is_null());
    assert_eq!(after_end, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn multiget_keeps_order_and_reports_per_item_404_and_403() {
    let t = common::spawn().await;
    let catalogue = t.sim.catalogue();
    let own = &catalogue.listings[0].id;
    let foreign = &catalogue.foreign_item_ids[0];
    let ids = format!("{foreign},MLC1,{own}");
    let too_many: Vec<String> = catalogue
        .listings
        .iter()
        .take(21)
        .map(|l| l.id.clone())
        .collect();

    let (status, body) = t.get_json(&format!("/items?ids={ids}")).await;
    let (over, _) = t
        .get_json(&format!("/items?ids={}", too_many.join(",")))
        .await;
    let (exactly, twenty) = t
        .get_json(&format!("/items?ids={}", too_many[..20].join(",")))
        .await;
    let (single_foreign, _) = t.get_json(&format!("/items/{foreign}")).await;

    assert_eq!(status, StatusCode::OK);
    let codes: Vec<i64> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [403, 404, 200]);
    assert_eq!(body[1]["body"]["error"], "not_found");
    assert_eq!(body[1]["body"]["status"], 404);
    assert_eq!(body[2]["body"]["id"], own.as_str());
    assert_eq!(over, StatusCode::BAD_REQUEST);
    assert_eq!(exactly, StatusCode::OK);
    assert_eq!(twenty.as_array().unwrap().len(), 20);
    assert_eq!(single_foreign, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn multiget_trims_attributes_and_adds_variation_attributes_on_request() {
    let t = common::spawn().await;
    let legacy = t
        .sim
        .catalogue()
        .first_of(ListingKind::LegacyVariations)
        .unwrap()
        .clone();

    let (_, trimmed) = t
        .get_json(&format!(
            "/items?ids={}&attributes=status,available_quantity",
            legacy.id
        ))
        .await;
    let (_, plain) = t.get_json(&format!("/items?ids={}", legacy.id)).await;
    let (_, all) = t
        .get_json(&format!("/items?ids={}&include_attributes=all", legacy.id))
        .await;

    let trimmed = trimmed[0]["body"].as_object().unwrap();
    let keys: BTreeSet<&str> = trimmed.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["id", "status", "available_quantity"]));
    assert!(
        plain[0]["body"]["variations"][0]
            .get("attributes")
            .is_none()
    );
    let variation = &all[0]["body"]["variations"][0];
    assert_eq!(variation["attributes"][0]["id"], "SELLER_SKU");
    assert_eq!(
        variation["attributes"][0]["value_name"],
        legacy.variations[0].seller_sku.clone().unwrap().as_str()
    );
    assert!(all[0]["body"]["user_product_id"].is_null());
    assert_eq!(
        variation["user_product_id"],
        legacy.variations[0]
            .user_product_id
            .clone()
            .unwrap()
            .as_str()
    );
}

#[tokio::test]
async fn deleted_items_leave_search_and_answer_404() {
    let t = common::spawn().await;
    let victim = t.sim.catalogue().listings[3].id.clone();

    t.sim.delete_item(&victim).unwrap();

    let (status, _) = t.get_json(&format!("/items/{victim}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!t.scan_all("").await.contains(&victim));
    assert!(!t.sim.expected_totals().contains_key(&victim));
}
