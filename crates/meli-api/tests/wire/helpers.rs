//! Shared set-up for the wiremock tests: fast settings, token fixtures, a log capture.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use meli_api::{
    ClientConfig, InMemoryTokenProvider, MeliClient, OAuthClient, SecretString, TokenSet,
};
use serde_json::{Value, json};
use url::Url;
use wiremock::MockServer;

pub const APP_ID: &str = "1234567890";
pub const SECRET: &str = "app-secret-value";
pub const OLD_ACCESS: &str = "APP_USR-1234567890-010112-oldaccess-77";
pub const OLD_REFRESH: &str = "TG-oldrefresh-77";
pub const NEW_ACCESS: &str = "APP_USR-1234567890-010118-newaccess-77";
pub const NEW_REFRESH: &str = "TG-newrefresh-77";

/// Settings fast enough for tests: high limits and millisecond backoff.
pub fn fast_config(server: &MockServer) -> ClientConfig {
    ClientConfig {
        base_url: Url::parse(&server.uri()).unwrap(),
        requests_per_second: 1000.0,
        user_product_stock_per_minute: 60_000,
        max_attempts: 4,
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_secs(3),
        request_timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    }
}

/// A pair valid for six hours.
pub fn tokens(access: &str, refresh: &str) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(access),
        refresh_token: Some(SecretString::from(refresh)),
        expires_at: Utc::now() + chrono::Duration::hours(6),
        user_id: 77,
        scope: Some("offline_access read write".into()),
    }
}

/// A success body of the token endpoint as the doc shows it.
pub fn token_body(access: &str, refresh: &str, user_id: Value, token_type: &str) -> Value {
    json!({
        "access_token": access,
        "token_type": token_type,
        "expires_in": 21600,
        "scope": "offline_access read write",
        "user_id": user_id,
        "refresh_token": refresh,
    })
}

pub fn oauth_client(config: &ClientConfig) -> OAuthClient {
    OAuthClient::new(config, APP_ID.into(), SecretString::from(SECRET)).unwrap()
}

/// A client and its provider, starting from the old pair.
pub fn client_with(config: ClientConfig) -> (MeliClient, Arc<InMemoryTokenProvider>) {
    let provider = Arc::new(InMemoryTokenProvider::new(
        oauth_client(&config),
        tokens(OLD_ACCESS, OLD_REFRESH),
    ));
    let client = MeliClient::new(config, provider.clone()).unwrap();
    (client, provider)
}

/// Requests wiremock received on `path`.
pub async fn received_on(server: &MockServer, path: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == path)
        .collect()
}

/// Log bytes written by a tracing subscriber installed for one test.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs a debug-level subscriber writing into the returned capture for this thread.
pub fn capture_logs() -> (LogCapture, tracing::subscriber::DefaultGuard) {
    let capture = LogCapture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (capture, guard)
}
