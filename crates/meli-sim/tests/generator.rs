//! Scenario generator: determinism, kind mix, and expected totals against the API.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use meli_sim::{ListingKind, SimConfig};
use reqwest::StatusCode;

#[tokio::test]
async fn the_same_seed_builds_the_same_catalogue_and_another_seed_does_not() {
    let config = SimConfig {
        items: 120,
        seed: 7,
        ..common::config()
    };
    let a = meli_sim::spawn(config.clone()).await.unwrap();
    let b = meli_sim::spawn(config.clone()).await.unwrap();
    let c = meli_sim::spawn(SimConfig { seed: 8, ..config })
        .await
        .unwrap();

    assert_eq!(a.catalogue(), b.catalogue());
    assert_eq!(a.expected_totals(), b.expected_totals());
    assert_ne!(a.catalogue(), c.catalogue());
}

#[tokio::test]
async fn the_catalogue_mixes_every_kind_with_mostly_plain_listings() {
    let sim = meli_sim::spawn(SimConfig {
        items: 1000,
        ..common::config()
    })
    .await
    .unwrap();
    let catalogue = sim.catalogue();

    let mut counts: BTreeMap<ListingKind, usize> = BTreeMap::new();
    for listing in &catalogue.listings {
        *counts.entry(listing.kind).or_default() += 1;
    }

    assert_eq!(catalogue.listings.len(), 1000);
    let kinds = [
        ListingKind::Plain,
        ListingKind::Full,
        ListingKind::FullAndOwn,
        ListingKind::MultiOrigin,
        ListingKind::SharedClassic,
        ListingKind::SharedPremium,
        ListingKind::LegacyVariations,
        ListingKind::LegacyNoUp,
        ListingKind::SoldOut,
        ListingKind::PausedBySeller,
        ListingKind::Closed,
    ];
    for kind in kinds {
        assert!(
            counts.get(&kind).copied().unwrap_or(0) > 0,
            "no {kind:?} in {counts:?}"
        );
    }
    assert!(counts[&ListingKind::Plain] > 450, "{counts:?}");
    assert_eq!(
        counts[&ListingKind::SharedClassic],
        counts[&ListingKind::SharedPremium]
    );
    for listing in &catalogue.listings {
        assert!(
            listing.id.starts_with("MLC") && listing.id[3..].bytes().all(|b| b.is_ascii_digit())
        );
        if let Some(up) = &listing.user_product_id {
            assert!(up.starts_with("MLCU") && up[4..].bytes().all(|b| b.is_ascii_digit()));
        }
    }
    let sold_out = catalogue.first_of(ListingKind::SoldOut).unwrap();
    assert_eq!(
        (sold_out.status.as_str(), sold_out.sub_status.clone()),
        ("paused", vec!["out_of_stock".to_owned()])
    );
    assert_eq!(
        catalogue.first_of(ListingKind::Closed).unwrap().status,
        "closed"
    );
    let no_up = catalogue.first_of(ListingKind::LegacyNoUp).unwrap();
    assert!(no_up.user_product_id.is_none() && no_up.variations.is_empty());
    let legacy = catalogue.first_of(ListingKind::LegacyVariations).unwrap();
    assert!(legacy.user_product_id.is_none());
    assert!(
        legacy
            .variations
            .iter()
            .all(|v| v.user_product_id.is_some() && v.seller_sku.is_some())
    );
}

#[tokio::test]
async fn expected_totals_match_what_the_api_reports_after_sales() {
    // Arrange
    let t = common::spawn_with(SimConfig {
        items: 150,
        ..common::config()
    })
    .await;
    let catalogue = t.sim.catalogue();
    for listing in catalogue
        .listings
        .iter()
        .filter(|l| l.available_quantity > 1)
        .take(20)
    {
        t.sim.sell(&listing.id, 1).unwrap();
    }

    // Act
    let ids = t.scan_all("").await;
    let mut reported = BTreeMap::new();
    for chunk in ids.chunks(20) {
        let (status, body) = t
            .get_json(&format!(
                "/items?ids={}&attributes=available_quantity",
                chunk.join(",")
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        for entry in body.as_array().unwrap() {
            let item = &entry["body"];
            reported.insert(
                item["id"].as_str().unwrap().to_owned(),
                item["available_quantity"].as_i64().unwrap(),
            );
        }
    }

    // Assert
    let expected = t.sim.expected_totals();
    assert_eq!(expected.len(), 150);
    assert_eq!(reported, expected);
    let sold: i64 = catalogue
        .listings
        .iter()
        .map(|l| l.available_quantity)
        .sum::<i64>()
        - expected.values().sum::<i64>();
    assert!(
        sold >= 20,
        "twenty sales happened, {sold} units left the totals"
    );
}
