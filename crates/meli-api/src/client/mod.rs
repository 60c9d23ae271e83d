//! [`MeliClient`]: the typed calls to ML's resource endpoints.
//!
//! Every call takes a token from the [`TokenProvider`]. On a 401 the client asks the
//! provider for a refreshed token once and sends the request once more; a second 401 is
//! [`Error::Unauthorized`] (the doc's client rule, marked \[A\] there: ML documents the 401
//! but not what a client should do). Pacing, concurrency and retries of 429, 5xx and transport
//! failures happen below, in the transport layer.

pub(crate) mod multiget;
mod scan;

use std::fmt;
use std::sync::Arc;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::debug;
use url::Url;

use crate::auth::{TokenProvider, token_fingerprint};
use crate::config::ClientConfig;
use crate::counters::CountersSnapshot;
use crate::endpoint::Endpoint;
use crate::error::{Error, redact, redacted_snippet};
use crate::models::{FulfillmentStock, User, UserProductStock, parse_error_body};
use crate::transport::{RawResponse, RequestSpec, Transport};

/// The response header carrying a user product's stock version (doc §4.2).
const VERSION_HEADER: &str = "x-version";

/// Typed client of ML's seller API for one seller's tokens. Cheap to clone: clones share
/// the connection pool, limiters, semaphore, counters and token provider.
#[derive(Clone)]
pub struct MeliClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    tokens: Arc<dyn TokenProvider>,
}

impl MeliClient {
    /// A client with `config` that authenticates with `tokens`.
    ///
    /// # Errors
    /// [`Error::Config`] when a setting is invalid.
    pub fn new(config: ClientConfig, tokens: Arc<dyn TokenProvider>) -> Result<Self, Error> {
        let transport = Transport::new(config)?;
        Ok(Self {
            inner: Arc::new(Inner { transport, tokens }),
        })
    }

    /// Requests made so far by this client and its clones, with the token calls of its
    /// provider (refreshes) under `oauth_token`.
    pub fn counters(&self) -> CountersSnapshot {
        let own = self.inner.transport.counters();
        match self.inner.tokens.token_calls() {
            Some(tokens) => own.plus(&tokens),
            None => own,
        }
    }

    /// The settings this client runs with.
    pub fn config(&self) -> &ClientConfig {
        self.inner.transport.config()
    }

    /// `GET /users/me`: the seller behind the token, with the tags that decide which stock
    /// model applies.
    ///
    /// # Errors
    /// Any request [`Error`]; `Decode` for a body without a numeric `id`.
    pub async fn users_me(&self) -> Result<User, Error> {
        let url = self.url(&["users", "me"])?;
        let resp = self.get(Endpoint::UsersMe, url).await?;
        decode(Endpoint::UsersMe, &resp.body)
    }

    /// `GET /user-products/{id}/stock`, with the `x-version` header in `version`. Paced by
    /// the user-product limiter (100 per minute by default) as well as the overall one.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown user product or one with no stock locations
    /// (`stock-locations not found`); `Decode` for a malformed body or `x-version`.
    pub async fn user_product_stock(
        &self,
        user_product_id: &str,
    ) -> Result<UserProductStock, Error> {
        require_id("user product id", user_product_id)?;
        let endpoint = Endpoint::UserProductStock;
        let url = self.url(&["user-products", user_product_id, "stock"])?;

        let resp = self.get(endpoint, url).await?;
        let mut stock: UserProductStock = decode(endpoint, &resp.body)?;
        stock.version = parse_version(&resp)?;
        Ok(stock)
    }

    /// `GET /inventories/{id}/stock/fulfillment`: units of one Full inventory.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown inventory; any request [`Error`].
    pub async fn fulfillment_stock(&self, inventory_id: &str) -> Result<FulfillmentStock, Error> {
        require_id("inventory id", inventory_id)?;
        let endpoint = Endpoint::FulfillmentStock;
        let url = self.url(&["inventories", inventory_id, "stock", "fulfillment"])?;

        let resp = self.get(endpoint, url).await?;
        decode(endpoint, &resp.body)
    }

    fn url(&self, segments: &[&str]) -> Result<Url, Error> {
        self.inner.transport.url(segments)
    }

    /// GET with the bearer token, one refresh and retry on 401, and non-2xx statuses mapped
    /// to errors.
    async fn get(&self, endpoint: Endpoint, url: Url) -> Result<RawResponse, Error> {
        let spec = RequestSpec::get(endpoint, url);
        let token = self.inner.tokens.access_token().await?;
        let mut resp = self.inner.transport.send(&spec, Some(&token)).await?;

        if resp.status == StatusCode::UNAUTHORIZED {
            debug!(
                endpoint = endpoint.label(),
                token = %token_fingerprint(&token),
                "access token refused, asking for a fresh one"
            );
            let fresh = self.inner.tokens.refresh_after_unauthorized(&token).await?;
            resp = self.inner.transport.send(&spec, Some(&fresh)).await?;
            if resp.status == StatusCode::UNAUTHORIZED {
                return Err(Error::Unauthorized { endpoint });
            }
        }

        if resp.status.is_success() {
            Ok(resp)
        } else {
            Err(status_error(endpoint, &resp))
        }
    }
}

impl fmt::Debug for MeliClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.inner.transport.config();
        f.debug_struct("MeliClient")
            .field("base_url", &config.base_url.as_str())
            .field("requests_per_second", &config.requests_per_second)
            .field("max_concurrency", &config.max_concurrency)
            .field("tokens", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// The error a non-success answer (other than 401, 429 and 5xx) stands for.
fn status_error(endpoint: Endpoint, resp: &RawResponse) -> Error {
    let (error, message) = serde_json::from_slice::<Value>(&resp.body)
        .map(|value| parse_error_body(&value))
        .unwrap_or_default();
    let message = message
        .or(error)
        .unwrap_or_else(|| redacted_snippet(&resp.body));

    match resp.status {
        StatusCode::FORBIDDEN => Error::Forbidden { endpoint, message },
        StatusCode::NOT_FOUND => Error::NotFound { endpoint, message },
        status => Error::Status {
            endpoint,
            status: status.as_u16(),
            message,
        },
    }
}

/// Parses a JSON body; failures name the endpoint and quote a short redacted snippet.
pub(crate) fn decode<T: DeserializeOwned>(endpoint: Endpoint, body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Decode {
        endpoint,
        message: format!(
            "{} (body: {})",
            redact(&e.to_string(), 160),
            redacted_snippet(body)
        ),
    })
}

fn parse_version(resp: &RawResponse) -> Result<Option<i64>, Error> {
    let Some(raw) = resp.headers.get(VERSION_HEADER) else {
        return Ok(None);
    };
    raw.to_str()
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| Error::Decode {
            endpoint: Endpoint::UserProductStock,
            message: format!(
                "x-version header {:?} is not an integer",
                redacted_snippet(raw.as_bytes())
            ),
        })
}

/// Rejects ids that would be empty or break a path or comma list.
pub(crate) fn require_id(what: &str, id: &str) -> Result<(), Error> {
    if id.trim().is_empty() || id.contains(',') || id.chars().any(char::is_whitespace) {
        return Err(Error::Config(format!(
            "{what} {id:?} is empty or malformed"
        )));
    }
    Ok(())
}
