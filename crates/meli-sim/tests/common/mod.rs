//! Test helpers: spawn a simulator with generous limits and call it with reqwest.
#![allow(dead_code, clippy::unwrap_used)]

use meli_sim::{SimConfig, SimHandle};
use reqwest::{Response, StatusCode};
use serde_json::Value;

/// Settings for tests that are not about rate limits.
pub fn config() -> SimConfig {
    SimConfig {
        items: 60,
        rps: 100_000.0,
        burst: 100_000,
        user_product_stock_rpm: 1_000_000,
        sibling_propagation_delay: std::time::Duration::ZERO,
        ..SimConfig::default()
    }
}

pub struct TestSim {
    pub sim: SimHandle,
    pub http: reqwest::Client,
    pub token: String,
}

pub async fn spawn_with(config: SimConfig) -> TestSim {
    let sim = meli_sim::spawn(config).await.unwrap();
    let token = sim.credentials().access_token;
    TestSim {
        sim,
        http: reqwest::Client::new(),
        token,
    }
}

pub async fn spawn() -> TestSim {
    spawn_with(config()).await
}

impl TestSim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sim.base_url(), path.trim_start_matches('/'))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    pub async fn put_json(&self, path: &str, body: Value, version: Option<&str>) -> Response {
        let mut request = self
            .http
            .put(self.url(path))
            .bearer_auth(&self.token)
            .json(&body);
        if let Some(version) = version {
            request = request.header("x-version", version);
        }
        request.send().await.unwrap()
    }

    pub fn seller(&self) -> u64 {
        self.sim.credentials().seller_id
    }

    /// `(available_quantity, status, sub_status)` of one item through the API.
    pub async fn item_state(&self, item_id: &str) -> (i64, String, Vec<String>) {
        let (status, body) = self.get_json(&format!("/items/{item_id}")).await;
        assert_eq!(status, StatusCode::OK, "GET /items/{item_id}: {body}");
        let sub_status = body["sub_status"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        (
            body["available_quantity"].as_i64().unwrap(),
            body["status"].as_str().unwrap().to_owned(),
            sub_status,
        )
    }

    /// Every id of the seller through one scan.
    pub async fn scan_all(&self, extra: &str) -> Vec<String> {
        let seller = self.seller();
        let mut ids = Vec::new();
        let (status, mut page) = self
            .get_json(&format!(
                "/users/{seller}/items/search?search_type=scan&limit=100{extra}"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        loop {
            let results = page["results"].as_array().unwrap();
            if results.is_empty() {
                assert!(
                    page["scroll_id"].is_null(),
                    "final page keeps a scroll_id: {page}"
                );
                return ids;
            }
            ids.extend(results.iter().map(|v| v.as_str().unwrap().to_owned()));
            let scroll = page["scroll_id"].as_str().unwrap().to_owned();
            let response = self
                .http
                .get(self.url(&format!("/users/{seller}/items/search")))
                .query(&[
                    ("search_type", "scan"),
                    ("limit", "100"),
                    ("scroll_id", &scroll),
                ])
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            page = response.json().await.unwrap();
        }
    }
}
