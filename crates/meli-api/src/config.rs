//! Client settings: where ML is, how fast and how hard the client may call it.
//!
//! The only environment variable read by this crate is `ML_API_URL` (base URL of the API,
//! default `https://api.mercadolibre.com`), in [`ClientConfig::from_env`]; everything else is
//! set in code by the caller.

use std::time::Duration;

use url::Url;

use crate::error::Error;

/// The production API; every site is served from it (doc §0).
pub const DEFAULT_BASE_URL: &str = "https://api.mercadolibre.com";

/// How the client reaches ML and how it paces and retries its calls.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URL of the API (the simulator's URL in tests).
    pub base_url: Url,
    /// Overall pace for all calls of the app. Default 5/s: the app example in doc §7 shows
    /// 18000 requests per hour.
    pub requests_per_second: f64,
    /// Pace for `GET /user-products/{id}/stock`, documented at 100 per minute (doc §4.2).
    pub user_product_stock_per_minute: u32,
    /// Calls that may be sent before pacing starts (limiter capacity). Default 1: requests go
    /// out evenly spaced instead of in bursts that ML's own buckets might refuse.
    pub burst: u32,
    /// Requests in flight at once.
    pub max_concurrency: usize,
    /// Sends per request, the first included, for 429, 5xx and transport failures.
    pub max_attempts: u32,
    /// First backoff step; doubles per attempt, with full jitter.
    pub backoff_base: Duration,
    /// Longest backoff, and the longest `Retry-After` the client will wait for.
    pub backoff_max: Duration,
    /// Whole-request timeout (connect, send, read).
    pub request_timeout: Duration,
    /// `User-Agent` header of every call.
    pub user_agent: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            base_url: default_base_url(),
            requests_per_second: 5.0,
            user_product_stock_per_minute: 100,
            burst: 1,
            max_concurrency: 8,
            max_attempts: 5,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            user_agent: format!("meli-stock/{} (meli-api)", env!("CARGO_PKG_VERSION")),
        }
    }
}

impl ClientConfig {
    /// Defaults, plus `ML_API_URL` when set, so the same binary can target the simulator.
    ///
    /// # Errors
    /// [`Error::Config`] when `ML_API_URL` is not an absolute http(s) URL.
    #[allow(clippy::disallowed_methods)]
    pub fn from_env() -> Result<Self, Error> {
        let mut config = Self::default();

        if let Ok(raw) = std::env::var("ML_API_URL") {
            config.base_url = parse_base_url(&raw)?;
        }
        Ok(config)
    }

    /// Multiplies both rate limits by `factor`, for runs against a simulator whose limits are
    /// scaled the same way. Factors that are not finite and positive leave the limits as they
    /// are; the per-minute limit never drops below 1.
    pub fn scaled_limits(mut self, factor: f64) -> Self {
        if !(factor.is_finite() && factor > 0.0) {
            return self;
        }

        self.requests_per_second *= factor;
        let scaled = (f64::from(self.user_product_stock_per_minute) * factor).round();
        self.user_product_stock_per_minute = if scaled >= f64::from(u32::MAX) {
            u32::MAX
        } else if scaled < 1.0 {
            1
        } else {
            scaled as u32
        };
        self
    }

    /// Checks every setting so a bad value fails at construction, before any call.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if !matches!(self.base_url.scheme(), "http" | "https") || self.base_url.cannot_be_a_base() {
            return Err(Error::Config(format!(
                "base url {} must be an absolute http(s) url",
                self.base_url
            )));
        }
        if !(self.requests_per_second.is_finite() && self.requests_per_second > 0.0) {
            return Err(Error::Config(format!(
                "requests_per_second must be a positive number, got {}",
                self.requests_per_second
            )));
        }
        if self.user_product_stock_per_minute == 0 {
            return Err(Error::Config(
                "user_product_stock_per_minute must be at least 1".into(),
            ));
        }
        if self.burst == 0 {
            return Err(Error::Config("burst must be at least 1".into()));
        }
        if self.max_concurrency == 0 {
            return Err(Error::Config("max_concurrency must be at least 1".into()));
        }
        if self.max_attempts == 0 {
            return Err(Error::Config("max_attempts must be at least 1".into()));
        }
        Ok(())
    }
}

/// Parses a base URL given by the operator.
pub(crate) fn parse_base_url(raw: &str) -> Result<Url, Error> {
    let url = Url::parse(raw.trim())
        .map_err(|e| Error::Config(format!("ML_API_URL {raw:?} is not a valid url: {e}")))?;

    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::Config(format!(
            "ML_API_URL {raw:?} must be an absolute http(s) url"
        )));
    }
    Ok(url)
}

fn default_base_url() -> Url {
    Url::parse(DEFAULT_BASE_URL).expect("the default base url is a valid url")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn scaled_limits_multiplies_both_rates() {
        let config = ClientConfig::default().scaled_limits(200.0);

        assert_eq!(config.requests_per_second, 1000.0);
        assert_eq!(config.user_product_stock_per_minute, 20_000);
    }

    #[test]
    fn scaled_limits_keeps_at_least_one_per_minute() {
        let config = ClientConfig::default().scaled_limits(0.0001);

        assert_eq!(config.user_product_stock_per_minute, 1);
        assert!(config.requests_per_second > 0.0);
    }

    #[test]
    fn bad_base_url_is_a_config_error() {
        assert!(matches!(parse_base_url("not a url"), Err(Error::Config(_))));
        assert!(matches!(
            parse_base_url("mailto:x@y"),
            Err(Error::Config(_))
        ));
        assert!(parse_base_url("http://127.0.0.1:9/").is_ok());
    }

    #[test]
    fn default_config_is_valid_and_points_at_production() {
        let config = ClientConfig::default();

        assert!(config.validate().is_ok());
        assert_eq!(config.base_url.as_str(), "https://api.mercadolibre.com/");
    }
}
