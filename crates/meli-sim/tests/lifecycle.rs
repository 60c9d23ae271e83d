//! Simulator lifecycle and the seller resources: `/users/me`, stores, shutdown.
#![allow(clippy::unwrap_used)]

mod common;

use reqwest::StatusCode;

#[tokio::test]
async fn users_me_and_stores_describe_the_simulated_seller() {
    let t = common::spawn().await;
    let seller = t.seller();

    let (status, me) = t.get_json("/users/me").await;
    let (_, stores) = t
        .get_json(&format!(
            "/users/{seller}/stores/search?tags=stock_location"
        ))
        .await;
    let (foreign, _) = t
        .get_json(&format!("/users/{}/stores/search", seller + 1))
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], seller);
    assert_eq!(me["site_id"], "MLC");
    assert!(
        me["tags"]
            .as_array()
            .unwrap()
            .contains(&"user_product_seller".into())
    );
    let results = stores["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(
        results
            .iter()
            .all(|s| s["user_id"] == seller.to_string().as_str())
    );
    assert_eq!(foreign, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn shutdown_and_dropping_the_last_handle_stop_the_server() {
    let first = common::spawn().await;
    let second = common::spawn().await;
    let first_url = first.url("/users/me");
    let second_url = second.url("/users/me");
    let http = reqwest::Client::new();

    first.sim.clone().shutdown().await;
    drop(second);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;

    assert!(http.get(&first_url).send().await.is_err());
    assert!(http.get(&second_url).send().await.is_err());
}

#[tokio::test]
async fn invalid_settings_are_refused_before_binding() {
    let bad_site = meli_sim::SimConfig {
        site: "chile".to_owned(),
        ..common::config()
    };

    let error = meli_sim::spawn(bad_site).await.unwrap_err();

    assert!(error.to_string().contains("site"), "{error}");
}
