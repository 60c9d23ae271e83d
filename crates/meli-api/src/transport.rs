//! Sending one logical request: pacing, concurrency, retries, counters and request logs.
//!
//! Every call to ML goes through [`Transport::send`]. Before each attempt it waits on the
//! user-product stock limiter (for that endpoint), takes a slot of the in-flight semaphore
//! and waits on the overall limiter, so the client paces itself instead of collecting 429s.
//!
//! ML does not document `Retry-After` nor a single 429 body (\[A\], doc §7): the header is
//! honoured when present and 429 bodies are never parsed.
//!
//! Retried: 429 and 5xx answers, and transport failures (timeouts, resets, refused
//! connections) when the request is idempotent. A `Retry-After` in seconds is honoured; a
//! `Retry-After` longer than `backoff_max` ends the request at once with
//! [`Error::RateLimited`] carrying the hint, so the caller decides whether to wait that long.
//! Otherwise the wait is exponential backoff with full jitter. Requests that are not
//! idempotent (the token call) are re-sent after a transport failure only when the
//! connection was never made, because ML may already have acted on a lost request.
//!
//! Other statuses (2xx, 401, other 4xx) are handed back to the caller, which knows what they
//! mean for its endpoint.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use reqwest::header::{ACCEPT, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use tracing::{debug, warn};
use url::Url;

use crate::config::ClientConfig;
use crate::counters::{Counters, CountersSnapshot};
use crate::endpoint::Endpoint;
use crate::error::Error;

/// When a request may be sent again after a transport failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransportRetry {
    /// Idempotent reads: retry timeouts, resets and refused connections.
    Always,
    /// Calls with side effects: retry only when no connection was made.
    ConnectOnly,
}

/// One logical request; attempts re-use it.
pub(crate) struct RequestSpec<'a> {
    pub(crate) method: Method,
    pub(crate) endpoint: Endpoint,
    pub(crate) url: Url,
    pub(crate) form: Option<&'a [(&'a str, &'a str)]>,
    pub(crate) transport_retry: TransportRetry,
}

impl RequestSpec<'_> {
    /// An idempotent GET.
    pub(crate) fn get(endpoint: Endpoint, url: Url) -> Self {
        Self {
            method: Method::GET,
            endpoint,
            url,
            form: None,
            transport_retry: TransportRetry::Always,
        }
    }
}

/// A complete answer whose status the caller still has to interpret.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// Shared HTTP machinery of a client: connection pool, limiters, semaphore, counters.
pub(crate) struct Transport {
    http: reqwest::Client,
    config: ClientConfig,
    overall: DefaultDirectRateLimiter,
    user_product_stock: DefaultDirectRateLimiter,
    in_flight: Semaphore,
    counters: Counters,
}

/// An attempt that got no usable response.
struct SendFailure {
    retryable: bool,
    message: String,
}

impl Transport {
    pub(crate) fn new(config: ClientConfig) -> Result<Self, Error> {
        config.validate()?;

        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| Error::Config(format!("failed to build the http client: {e}")))?;

        let burst = NonZeroU32::new(config.burst)
            .ok_or_else(|| Error::Config("burst must be at least 1".into()))?;
        let overall = limiter(1.0 / config.requests_per_second, burst)?;
        let per_call = 60.0 / f64::from(config.user_product_stock_per_minute);
        let user_product_stock = limiter(per_call, burst)?;
        let in_flight = Semaphore::new(config.max_concurrency);

        Ok(Self {
            http,
            config,
            overall,
            user_product_stock,
            in_flight,
            counters: Counters::default(),
        })
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub(crate) fn counters(&self) -> CountersSnapshot {
        self.counters.snapshot()
    }

    /// A URL under the base URL made of `segments`, each percent-encoded as one path segment.
    pub(crate) fn url(&self, segments: &[&str]) -> Result<Url, Error> {
        let base = &self.config.base_url;
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::Config(format!("base url {base} cannot take a path")))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Sends `spec` until it gets an answer that is not retried, or attempts run out.
    ///
    /// # Errors
    /// [`Error::RateLimited`], [`Error::Server`] or [`Error::Transport`] once retries are
    /// exhausted; any other status is returned as a [`RawResponse`].
    pub(crate) async fn send(
        &self,
        spec: &RequestSpec<'_>,
        bearer: Option<&SecretString>,
    ) -> Result<RawResponse, Error> {
        let endpoint = spec.endpoint;
        let max_attempts = self.config.max_attempts;
        let mut attempt = 0u32;

        loop {
            attempt += 1;
            let outcome = self.send_once(spec, bearer, attempt).await;

            let (wait, status) = match outcome {
                Ok(resp) if resp.status == StatusCode::TOO_MANY_REQUESTS => {
                    self.counters.record_rate_limited();
                    let retry_after = retry_after(&resp.headers);
                    let too_long = retry_after.is_some_and(|d| d > self.config.backoff_max);
                    if attempt >= max_attempts || too_long {
                        return Err(Error::RateLimited {
                            endpoint,
                            retry_after,
                        });
                    }
                    (retry_after.unwrap_or_else(|| self.backoff(attempt)), 429)
                }
                Ok(resp) if resp.status.is_server_error() => {
                    let status = resp.status.as_u16();
                    if attempt >= max_attempts {
                        return Err(Error::Server { endpoint, status });
                    }
                    let wait = match retry_after(&resp.headers) {
                        Some(hint) => hint.min(self.config.backoff_max),
                        None => self.backoff(attempt),
                    };
                    (wait, status)
                }
                Ok(resp) => return Ok(resp),
                Err(failure) => {
                    if !failure.retryable || attempt >= max_attempts {
                        return Err(Error::Transport {
                            endpoint,
                            message: failure.message,
                        });
                    }
                    (self.backoff(attempt), 0)
                }
            };

            warn!(
                endpoint = endpoint.label(),
                status,
                attempt,
                wait_ms = wait.as_millis() as u64,
                "request failed, retrying"
            );
            self.counters.record_retry();
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: wait for capacity, send, read the whole body, count and log it.
    async fn send_once(
        &self,
        spec: &RequestSpec<'_>,
        bearer: Option<&SecretString>,
        attempt: u32,
    ) -> Result<RawResponse, SendFailure> {
        // The per-endpoint limiter is waited on before taking an in-flight slot: a queue of
        // user-product reads paced at 100 a minute must not hold every slot and starve the
        // scan and the multigets, which only answer to the overall limit.
        if spec.endpoint == Endpoint::UserProductStock {
            self.user_product_stock.until_ready().await;
        }
        let _permit = self.in_flight.acquire().await.map_err(|_| SendFailure {
            retryable: false,
            message: "client is shutting down".into(),
        })?;
        self.overall.until_ready().await;

        let mut request = self
            .http
            .request(spec.method.clone(), spec.url.clone())
            .header(ACCEPT, "application/json");
        if let Some(token) = bearer {
            // bearer_auth marks the header sensitive, so it is never printed.
            request = request.bearer_auth(token.expose_secret());
        }
        if let Some(form) = spec.form {
            request = request.form(form);
        }

        let started = Instant::now();
        let result = match request.send().await {
            Ok(resp) => {
                let status = resp.status();
                let headers = resp.headers().clone();
                match resp.bytes().await {
                    Ok(body) => Ok(RawResponse {
                        status,
                        headers,
                        body,
                    }),
                    Err(e) => Err((status.as_u16(), self.failure(spec, &e))),
                }
            }
            Err(e) => Err((0, self.failure(spec, &e))),
        };

        let status = match &result {
            Ok(resp) => resp.status.as_u16(),
            Err((status, _)) => *status,
        };
        self.counters.record_request(spec.endpoint, status);
        debug!(
            method = %spec.method,
            endpoint = spec.endpoint.label(),
            path = spec.url.path(),
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            attempt,
            "request finished"
        );

        result.map_err(|(_, failure)| failure)
    }

    fn failure(&self, spec: &RequestSpec<'_>, error: &reqwest::Error) -> SendFailure {
        let retryable = match spec.transport_retry {
            TransportRetry::Always => true,
            TransportRetry::ConnectOnly => error.is_connect(),
        };
        SendFailure {
            retryable,
            message: describe(error),
        }
    }

    /// Full jitter: uniform in `[0, min(backoff_max, backoff_base * 2^(attempt-1))]`.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = 2u32.saturating_pow(attempt.saturating_sub(1));
        let ceiling = self
            .config
            .backoff_base
            .saturating_mul(exp)
            .min(self.config.backoff_max);
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);

        Duration::from_millis(rand::rng().random_range(0..=ceiling_ms))
    }
}

fn limiter(seconds_per_call: f64, burst: NonZeroU32) -> Result<DefaultDirectRateLimiter, Error> {
    let period = Duration::try_from_secs_f64(seconds_per_call)
        .map_err(|e| Error::Config(format!("invalid rate limit period: {e}")))?;
    let quota = Quota::with_period(period)
        .ok_or_else(|| Error::Config("rate limit is too high to pace".into()))?
        .allow_burst(burst);

    Ok(RateLimiter::direct(quota))
}

/// `Retry-After` in whole seconds; other forms (HTTP dates) are ignored and backoff applies.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The transport error and its causes on one line, without the URL.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };

    let mut message = kind.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);

        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));

        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn backoff_stays_under_the_exponential_ceiling() {
        let config = ClientConfig {
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(350),
            ..ClientConfig::default()
        };
        let transport = Transport::new(config).unwrap();

        for _ in 0..200 {
            assert!(transport.backoff(1) <= Duration::from_millis(100));
            assert!(transport.backoff(2) <= Duration::from_millis(200));
            assert!(transport.backoff(30) <= Duration::from_millis(350));
        }
    }

    #[test]
    fn url_escapes_each_segment() {
        let config = ClientConfig {
            base_url: Url::parse("http://127.0.0.1:9/api/").unwrap(),
            ..ClientConfig::default()
        };
        let transport = Transport::new(config).unwrap();

        let url = transport.url(&["items", "MLA1/../x?y"]).unwrap();

        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/api/items/MLA1%2F..%2Fx%3Fy"
        );
    }
}
