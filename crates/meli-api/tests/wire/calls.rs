//! Multiget and stock reads against the documented shapes.

use std::time::{Duration, Instant};

use meli_api::{ClientConfig, Endpoint, Error};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::*;

/// Answers a multiget with one `{code, body}` per requested id; ids containing `404` are
/// unknown.
struct MultigetEcho;

impl Respond for MultigetEcho {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let ids = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "ids")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let entries: Vec<Value> = ids
            .split(',')
            .map(|id| {
                if id.contains("404") {
                    json!({"code": 404, "body": {"message": format!("Item with id {id} not found"),
                        "error": "not_found", "status": 404, "cause": []}})
                } else {
                    json!({"code": 200, "body": {"id": id, "status": "active",
                        "available_quantity": 5, "sub_status": []}})
                }
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(entries)
    }
}

#[tokio::test]
async fn multiget_reports_unknown_ids_inside_a_200() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(MultigetEcho)
        .mount(&server)
        .await;
    let (client, _) = client_with(fast_config(&server));
    let ids = vec!["MLA1".to_string(), "MLA404".to_string(), "MLA3".to_string()];

    let results = client.items(&ids, &[], false).await.unwrap();

    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0].outcome.as_ref().unwrap().available_quantity,
        Some(5)
    );
    let missing = results[1].outcome.as_ref().unwrap_err();
    assert_eq!(results[1].id, "MLA404");
    assert_eq!(missing.code, 404);
    assert_eq!(missing.error.as_deref(), Some("not_found"));
    assert_eq!(
        missing.message.as_deref(),
        Some("Item with id MLA404 not found")
    );
    assert!(results[2].outcome.is_ok());
}

#[tokio::test]
async fn multiget_of_45_ids_takes_3_calls_and_keeps_input_order() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .and(query_param("attributes", "id,status,available_quantity"))
        .and(query_param("include_attributes", "all"))
        .respond_with(MultigetEcho)
        .mount(&server)
        .await;
    let (client, _) = client_with(fast_config(&server));
    let ids: Vec<String> = (0..45).map(|n| format!("MLA{}", 1000 + n)).collect();

    // Act
    let results = client
        .items(&ids, &["id", "status", "available_quantity"], true)
        .await
        .unwrap();

    // Assert
    let got: Vec<&str> = results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        results
            .iter()
            .all(|r| r.outcome.as_ref().unwrap().id == r.id)
    );
    let mut sent: Vec<Vec<String>> = received_on(&server, "/items")
        .await
        .iter()
        .map(|r| {
            let ids = r
                .url
                .query_pairs()
                .find(|(k, _)| k == "ids")
                .unwrap()
                .1
                .into_owned();
            ids.split(',').map(str::to_string).collect()
        })
        .collect();
    sent.sort_by(|a, b| a[0].cmp(&b[0]));
    assert_eq!(sent.iter().map(Vec::len).collect::<Vec<_>>(), [20, 20, 5]);
    assert_eq!(sent.concat(), ids);
    assert_eq!(client.counters().calls(Endpoint::Items), 3);
}

#[tokio::test]
async fn multiget_with_too_few_entries_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"code": 200, "body": {"id": "MLA1"}}])),
        )
        .mount(&server)
        .await;
    let (client, _) = client_with(fast_config(&server));
    let ids = vec!["MLA1".to_string(), "MLA2".to_string()];

    let err = client.items(&ids, &[], false).await.unwrap_err();

    assert!(
        matches!(
            err,
            Error::Decode {
                endpoint: Endpoint::Items,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn multiget_refuses_ids_that_would_break_the_list() {
    let server = MockServer::start().await;
    let (client, _) = client_with(fast_config(&server));
    let ids = vec!["MLA1,MLA2".to_string()];

    let err = client.items(&ids, &[], false).await.unwrap_err();

    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(received_on(&server, "/items").await.is_empty());
}

#[tokio::test]
async fn user_product_stock_reads_locations_and_the_version_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user-products/MLAU12345678/stock"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-version", "42")
                .set_body_json(json!({
                    "locations": [{"type": "meli_facility", "quantity": 5},
                                  {"type": "selling_address", "quantity": 9}],
                    "user_id": 1376088286,
                    "id": "MLAU12345678"
                })),
        )
        .mount(&server)
        .await;
    let (client, _) = client_with(fast_config(&server));

    let stock = client.user_product_stock("MLAU12345678").await.unwrap();

    assert_eq!(stock.version, Some(42));
    assert_eq!(stock.total(), 14);
    assert_eq!(stock.locations[0].kind, "meli_facility");
    assert_eq!(client.counters().calls(Endpoint::UserProductStock), 1);
}

#[tokio::test]
async fn user_product_stock_without_locations_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user-products/MLAU1/stock"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "message": "stock-locations not found", "error": "not_found", "status": 404,
            "cause": []
        })))
        .mount(&server)
        .await;
    let (client, _) = client_with(fast_config(&server));

    let err = client.user_product_stock("MLAU1").await.unwrap_err();

    assert!(
        matches!(&err, Error::NotFound { endpoint: Endpoint::UserProductStock, message }
            if message == "stock-locations not found"),
        "{err:?}"
    );
}

#[tokio::test]
async fn user_product_stock_is_paced_by_its_own_limit() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user-products/MLAU1/stock"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "MLAU1"})))
        .mount(&server)
        .await;
    // 600 a minute: one every 100 ms, while the overall limit allows 1000/s.
    let config = ClientConfig {
        user_product_stock_per_minute: 600,
        ..fast_config(&server)
    };
    let (client, _) = client_with(config);
    let started = Instant::now();

    for _ in 0..4 {
        client.user_product_stock("MLAU1").await.unwrap();
    }

    assert!(
        started.elapsed() >= Duration::from_millis(290),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn fulfillment_stock_and_users_me_read_the_documented_bodies() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/inventories/LCQI05831/stock/fulfillment"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "inventory_id": "LCQI05831", "total": 20, "available_quantity": 5,
            "not_available_quantity": 15,
            "not_available_detail": [{"status": "damaged", "quantity": 2},
                                     {"status": "transfer", "quantity": 1}],
            "external_references": [{"type": "item", "id": "MLB1557246024",
                                     "variation_id": 4742223403u64}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 77, "nickname": "SELLER", "site_id": "MLC",
            "tags": ["normal", "user_product_seller"], "extra": {"a": 1}
        })))
        .mount(&server)
        .await;
    let (client, _) = client_with(fast_config(&server));

    let full = client.fulfillment_stock("LCQI05831").await.unwrap();
    let me = client.users_me().await.unwrap();

    assert_eq!(
        (
            full.total,
            full.available_quantity,
            full.not_available_quantity
        ),
        (20, 5, 15)
    );
    assert_eq!(full.not_available_detail.len(), 2);
    assert_eq!(full.external_references[0].id, "MLB1557246024");
    assert_eq!(me.site_id.as_deref(), Some("MLC"));
    assert!(me.has_tag("user_product_seller"));
}
