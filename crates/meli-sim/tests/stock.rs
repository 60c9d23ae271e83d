//! Stock model: auto-pause and reactivation, shared UPs with propagation delay, item write
//! conflicts.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use meli_sim::{ListingKind, SimConfig};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn selling_out_pauses_and_restocking_reactivates_except_when_paused_by_seller() {
    // Arrange
    let t = common::spawn().await;
    let catalogue = t.sim.catalogue();
    let plain = catalogue
        .of_kind(ListingKind::Plain)
        .find(|l| l.listing_type_id != "free" && l.status == "active")
        .unwrap();
    let by_seller = catalogue.first_of(ListingKind::PausedBySeller).unwrap();
    let (quantity, status, _) = t.item_state(&plain.id).await;
    assert_eq!(status, "active");

    // Act
    t.sim.sell(&plain.id, quantity).unwrap();
    let sold_out = t.item_state(&plain.id).await;
    t.sim.restock(&plain.id, 3).unwrap();
    let restocked = t.item_state(&plain.id).await;
    let (seller_quantity, _, _) = t.item_state(&by_seller.id).await;
    t.sim.sell(&by_seller.id, seller_quantity).unwrap();
    t.sim.restock(&by_seller.id, 5).unwrap();
    let still_paused = t.item_state(&by_seller.id).await;

    // Assert
    assert_eq!(
        sold_out,
        (0, "paused".to_owned(), vec!["out_of_stock".to_owned()])
    );
    assert_eq!(restocked, (3, "active".to_owned(), vec![]));
    assert_eq!(still_paused.0, 5);
    assert_eq!(still_paused.1, "paused");
    assert!(!still_paused.2.contains(&"out_of_stock".to_owned()));
    assert!(
        t.sim.sell(&plain.id, 4).is_err(),
        "selling more than the stock must fail"
    );
}

#[tokio::test]
async fn sold_out_listings_reactivate_through_the_admin_restock_route() {
    let t = common::spawn().await;
    let sold_out = t
        .sim
        .catalogue()
        .first_of(ListingKind::SoldOut)
        .unwrap()
        .clone();
    let before = t.item_state(&sold_out.id).await;

    let response = t
        .http
        .post(t.url(&format!("/_sim/items/{}/restock", sold_out.id)))
        .json(&json!({"quantity": 7}))
        .send()
        .await
        .unwrap();

    assert_eq!(
        before,
        (0, "paused".to_owned(), vec!["out_of_stock".to_owned()])
    );
    assert!(response.status().is_success());
    assert_eq!(
        t.item_state(&sold_out.id).await,
        (7, "active".to_owned(), vec![])
    );
    assert_eq!(t.sim.expected_totals()[&sold_out.id], 7);
}

#[tokio::test]
async fn shared_user_product_stock_reaches_the_sibling_only_after_the_delay() {
    // Arrange
    let t = common::spawn_with(SimConfig {
        sibling_propagation_delay: Duration::from_secs(30),
        ..common::config()
    })
    .await;
    let catalogue = t.sim.catalogue();
    let classic = catalogue
        .of_kind(ListingKind::SharedClassic)
        .find(|l| l.logistic_type != "fulfillment")
        .unwrap_or_else(|| panic!("no non-Full shared pair in {catalogue:?}"));
    let premium = catalogue
        .of_kind(ListingKind::SharedPremium)
        .find(|l| l.user_product_id == classic.user_product_id)
        .unwrap();
    let up = classic.user_product_id.clone().unwrap();
    let before = t.item_state(&premium.id).await.0;
    assert_eq!(
        before,
        t.item_state(&classic.id).await.0,
        "both items read one UP"
    );

    // Act
    let put = t
        .put_json(
            &format!("/items/{}", classic.id),
            json!({"available_quantity": 77}),
            None,
        )
        .await;
    let classic_now = t.item_state(&classic.id).await.0;
    let premium_now = t.item_state(&premium.id).await.0;
    let (_, stock) = t.get_json(&format!("/user-products/{up}/stock")).await;
    t.sim.clock().advance(Duration::from_secs(31));
    let premium_later = t.item_state(&premium.id).await.0;

    // Assert
    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(classic_now, 77);
    assert_eq!(
        premium_now, before,
        "the sibling must lag until the delay passes"
    );
    assert_eq!(stock["locations"][0]["quantity"], 77);
    assert_eq!(premium_later, 77);
    let totals = t.sim.expected_totals();
    assert_eq!((totals[&classic.id], totals[&premium.id]), (77, 77));
}

#[tokio::test]
async fn a_sale_on_a_shared_user_product_shows_on_both_items() {
    let t = common::spawn().await;
    let catalogue = t.sim.catalogue();
    let classic = catalogue.first_of(ListingKind::SharedClassic).unwrap();
    let premium = catalogue
        .of_kind(ListingKind::SharedPremium)
        .find(|l| l.user_product_id == classic.user_product_id)
        .unwrap();
    let before = t.item_state(&classic.id).await.0;

    t.sim.sell(&premium.id, 1).unwrap();

    assert_eq!(t.item_state(&classic.id).await.0, before - 1);
    assert_eq!(t.item_state(&premium.id).await.0, before - 1);
}

#[tokio::test]
async fn item_puts_refuse_full_items_and_rapid_repeats() {
    let t = common::spawn().await;
    let catalogue = t.sim.catalogue();
    let full = catalogue.first_of(ListingKind::Full).unwrap();
    let plain = catalogue.first_of(ListingKind::Plain).unwrap();
    let legacy = catalogue.first_of(ListingKind::LegacyVariations).unwrap();
    let variation = &legacy.variations[0];

    let full_put = t
        .put_json(
            &format!("/items/{}", full.id),
            json!({"available_quantity": 1}),
            None,
        )
        .await;
    let first = t
        .put_json(
            &format!("/items/{}", plain.id),
            json!({"available_quantity": 4}),
            None,
        )
        .await;
    let second = t
        .put_json(
            &format!("/items/{}", plain.id),
            json!({"available_quantity": 5}),
            None,
        )
        .await;
    t.sim.clock().advance(meli_sim::ITEM_WRITE_WINDOW);
    let third = t
        .put_json(
            &format!("/items/{}", plain.id),
            json!({"available_quantity": 6}),
            None,
        )
        .await;
    let variation_put = t
        .put_json(
            &format!("/items/{}", legacy.id),
            json!({"variations": [{"id": variation.id, "available_quantity": 9}]}),
            None,
        )
        .await;

    assert_eq!(full_put.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = full_put.json().await.unwrap();
    assert_eq!(body["error"], "item.available_quantity.not_modifiable");
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::CONFLICT);
    let body: serde_json::Value = second.json().await.unwrap();
    assert_eq!(body["message"], "item optimistic locking error");
    assert_eq!(third.status(), StatusCode::OK);
    assert_eq!(t.item_state(&plain.id).await.0, 6);
    assert_eq!(variation_put.status(), StatusCode::OK);
    let others: i64 = legacy.variations[1..]
        .iter()
        .map(|v| v.available_quantity)
        .sum();
    assert_eq!(t.item_state(&legacy.id).await.0, 9 + others);
}
