//! Listing and reading a whole catalogue with the fewest calls.

use std::collections::BTreeSet;

use meli_api::{Endpoint, Error};
use meli_sim::ListingKind;

use crate::helpers::*;

#[tokio::test]
async fn scan_lists_a_catalogue_of_2600_items_completely_without_duplicates() {
    // Arrange
    let t = spawn(2600).await;
    let expected: BTreeSet<String> = t
        .sim
        .catalogue()
        .listings
        .iter()
        .map(|l| l.id.clone())
        .collect();

    // Act
    let ids = t.scan_all().await;

    // Assert
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "duplicates in the scan");
    assert_eq!(unique, expected);
    assert!(ids.len() >= 2500);
}

#[tokio::test]
async fn scan_and_multiget_of_5000_items_take_the_minimum_number_of_calls() {
    // Arrange
    let t = spawn(5000).await;
    let n = t.sim.catalogue().listings.len() as u64;

    // Act
    let ids = t.scan_all().await;
    let items = t
        .client
        .items(&ids, &["id", "status", "available_quantity"], false)
        .await;

    // Assert: every listing read, in input order.
    let items = items.unwrap();
    assert_eq!(ids.len() as u64, n);
    assert_eq!(items.len(), ids.len());
    assert!(
        items
            .iter()
            .zip(&ids)
            .all(|(r, id)| &r.id == id && r.outcome.is_ok())
    );

    // Assert: ceil(N/100)+1 scan pages (the last one empty) and ceil(N/20) multigets, seen
    // the same by the client and by the simulator.
    let scan_calls = n.div_ceil(100) + 1;
    let multiget_calls = n.div_ceil(20);
    let ours = t.client.counters();
    let theirs = t.sim.counters();
    assert_eq!(ours.calls(Endpoint::ItemsSearch), scan_calls);
    assert_eq!(ours.calls(Endpoint::Items), multiget_calls);
    assert_eq!(theirs.calls("items_search"), scan_calls);
    assert_eq!(theirs.calls("items"), multiget_calls);
    assert_eq!(theirs.get("items", 200), multiget_calls);
    assert_eq!((ours.retries, ours.rate_limited), (0, 0));
}

#[tokio::test]
async fn multiget_reports_unknown_and_foreign_ids_per_id() {
    let t = spawn(40).await;
    let catalogue = t.sim.catalogue();
    let known = catalogue.listings[0].id.clone();
    let foreign = catalogue.foreign_item_ids.first().cloned().unwrap();
    let ids = vec![
        known.clone(),
        format!("{}999999999999", catalogue.site),
        foreign,
    ];

    let results = t.client.items(&ids, &[], true).await.unwrap();

    assert_eq!(results[0].outcome.as_ref().unwrap().id, known);
    assert_eq!(results[1].outcome.as_ref().unwrap_err().code, 404);
    assert_eq!(results[2].outcome.as_ref().unwrap_err().code, 403);
    assert_eq!(t.sim.counters().calls("items"), 1);
}

#[tokio::test]
async fn stock_reads_match_what_the_simulator_holds() {
    // Arrange
    let t = spawn(200).await;
    let catalogue = t.sim.catalogue();
    let totals = t.sim.expected_totals();
    let plain = catalogue.first_of(ListingKind::Plain).unwrap();
    let full = catalogue.first_of(ListingKind::Full).unwrap();
    // The generator leaves the UP of the first sold-out listing without stock locations.
    let sold_out = catalogue.first_of(ListingKind::SoldOut).unwrap();

    // Act
    let plain_stock = t
        .client
        .user_product_stock(plain.user_product_id.as_deref().unwrap());
    let plain_stock = plain_stock.await.unwrap();
    let full_stock = t
        .client
        .user_product_stock(full.user_product_id.as_deref().unwrap());
    let full_stock = full_stock.await.unwrap();
    let inventory = t
        .client
        .fulfillment_stock(full.inventory_id.as_deref().unwrap());
    let inventory = inventory.await.unwrap();
    let missing = t
        .client
        .user_product_stock(sold_out.user_product_id.as_deref().unwrap());
    let missing = missing.await.unwrap_err();

    // Assert
    assert_eq!(plain_stock.total(), totals[&plain.id]);
    assert!(plain_stock.version.is_some());
    let facility: i64 = full_stock
        .locations
        .iter()
        .filter(|l| l.kind == "meli_facility")
        .map(|l| l.quantity)
        .sum();
    assert_eq!(facility, inventory.available_quantity);
    assert_eq!(full_stock.total(), totals[&full.id]);
    assert!(
        matches!(&missing, Error::NotFound { endpoint: Endpoint::UserProductStock, message }
            if message.contains("stock-locations not found")),
        "{missing:?}"
    );
    assert_eq!(t.sim.counters().calls("user_product_stock"), 3);
}

#[tokio::test]
async fn scroll_that_expired_mid_scan_is_reported() {
    use futures::StreamExt;

    let t = spawn(250).await;
    let mut pages = t.client.scan_item_ids(t.seller_id(), &[]);

    let first = pages.next().await.unwrap().unwrap();
    t.sim
        .clock()
        .advance(std::time::Duration::from_secs(6 * 60));
    let second = pages.next().await.unwrap();

    assert_eq!(first.ids.len(), 100);
    assert!(matches!(second, Err(Error::ScrollExpired)), "{second:?}");
    assert!(pages.next().await.is_none());
}
