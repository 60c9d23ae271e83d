//! The `meli-sim` binary prints the six connection variables and serves requests.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_prints_six_variables_and_serves_with_them() {
    // Arrange
    let child = Command::new(env!("CARGO_BIN_EXE_meli-sim"))
        .args([
            "--items",
            "30",
            "--seed",
            "3",
            "--latency-ms",
            "0",
            "--rps",
            "50",
            "--port",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();

    // Act
    let deadline = Instant::now() + Duration::from_secs(20);
    let lines = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::new();
        while lines.len() < 6 && Instant::now() < deadline {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            lines.push(line.trim_end().to_owned());
        }
        lines
    })
    .await
    .unwrap();

    // Assert
    let names: Vec<&str> = lines.iter().map(|l| l.split_once('=').unwrap().0).collect();
    assert_eq!(
        names,
        [
            "ML_API_URL",
            "ML_APP_ID",
            "ML_SECRET",
            "ML_SELLER_ID",
            "ML_ACCESS_TOKEN",
            "ML_REFRESH_TOKEN"
        ]
    );
    let value = |name: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let url = url::Url::parse(&value("ML_API_URL")).unwrap();
    let me: serde_json::Value = reqwest::Client::new()
        .get(url.join("users/me").unwrap())
        .bearer_auth(value("ML_ACCESS_TOKEN"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"].to_string(), value("ML_SELLER_ID"));
    assert!(
        me["tags"]
            .as_array()
            .unwrap()
            .contains(&"user_product_seller".into())
    );
}
