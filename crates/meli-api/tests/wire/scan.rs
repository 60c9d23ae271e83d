//! The scan: latest scroll id, end conditions, expiry and status filters.

use meli_api::{Endpoint, Error};
use serde_json::json;
use wiremock::matchers::{bearer_token, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

const SEARCH: &str = "/users/77/items/search";

fn search_page(ids: &[&str], scroll_id: Option<&str>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "seller_id": "77",
        "query": null,
        "paging": {"limit": 100, "offset": 0, "total": 5},
        "results": ids,
        "scroll_id": scroll_id,
        "orders": [],
    }))
}

#[tokio::test]
async fn scan_sends_the_latest_scroll_id_and_stops_on_empty_results() {
    // Arrange: scroll ids rotate on every page.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SEARCH))
        .and(query_param("search_type", "scan"))
        .and(query_param("limit", "100"))
        .and(query_param_is_missing("scroll_id"))
        .and(bearer_token(OLD_ACCESS))
        .respond_with(search_page(&["MLA1", "MLA2"], Some("c2Nyb2xs:MQ==")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(SEARCH))
        .and(query_param("scroll_id", "c2Nyb2xs:MQ=="))
        .respond_with(search_page(
            &["MLA3", "MLA4", "MLA5"],
            Some("c2Nyb2xs:Mg=="),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(SEARCH))
        .and(query_param("scroll_id", "c2Nyb2xs:Mg=="))
        .respond_with(search_page(&[], None))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_with(fast_config(&server));

    // Act
    let pages: Vec<_> = futures::StreamExt::collect::<Vec<_>>(client.scan_item_ids(77, &[])).await;

    // Assert
    let pages: Vec<_> = pages.into_iter().map(Result::unwrap).collect();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].ids, ["MLA1", "MLA2"]);
    assert_eq!(pages[1].ids, ["MLA3", "MLA4", "MLA5"]);
    assert_eq!(pages[0].total, Some(5));
    let requests = received_on(&server, SEARCH).await;
    assert_eq!(requests.len(), 3);
    for request in &requests {
        let query = request.url.query().unwrap_or_default();
        assert!(
            !query.contains("offset") && !query.contains("status"),
            "{query}"
        );
        assert!(!query.contains("access_token"), "{query}");
    }
    assert_eq!(client.counters().calls(Endpoint::ItemsSearch), 3);
}

#[tokio::test]
async fn scan_stops_on_a_null_scroll_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SEARCH))
        .respond_with(search_page(&["MLA1"], None))
        .mount(&server)
        .await;
    let (client, _) = client_with(fast_config(&server));

    let pages: Vec<_> = futures::StreamExt::collect::<Vec<_>>(client.scan_item_ids(77, &[])).await;

    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].as_ref().unwrap().ids, ["MLA1"]);
    assert_eq!(received_on(&server, SEARCH).await.len(), 1);
}

#[tokio::test]
async fn scroll_refused_mid_scan_is_scroll_expired_and_ends_the_stream() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SEARCH))
        .and(query_param_is_missing("scroll_id"))
        .respond_with(search_page(&["MLA1"], Some("s1")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(SEARCH))
        .and(query_param("scroll_id", "s1"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"message":"scroll not found","error":"not_found","status":404,"cause":[]}),
        ))
        .mount(&server)
        .await;
    let (client, _) = client_with(fast_config(&server));

    let pages: Vec<_> = futures::StreamExt::collect::<Vec<_>>(client.scan_item_ids(77, &[])).await;

    assert_eq!(pages.len(), 2);
    assert!(pages[0].is_ok());
    assert!(
        matches!(pages[1], Err(Error::ScrollExpired)),
        "{:?}",
        pages[1]
    );
    assert_eq!(received_on(&server, SEARCH).await.len(), 2);
}

#[tokio::test]
async fn scan_with_statuses_runs_one_scan_per_status() {
    let server = MockServer::start().await;
    for status in ["active", "paused"] {
        let id = format!("MLA-{status}");
        Mock::given(method("GET"))
            .and(path(SEARCH))
            .and(query_param("status", status))
            .respond_with(search_page(&[id.as_str()], None))
            .expect(1)
            .mount(&server)
            .await;
    }
    let (client, _) = client_with(fast_config(&server));

    let pages: Vec<_> =
        futures::StreamExt::collect::<Vec<_>>(client.scan_item_ids(77, &["active", "paused"]))
            .await;

    let ids: Vec<String> = pages.into_iter().flat_map(|p| p.unwrap().ids).collect();
    assert_eq!(ids, ["MLA-active", "MLA-paused"]);
}
