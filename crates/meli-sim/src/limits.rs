//! Rate limits: a token bucket per app over every ML endpoint (doc §7, about 5/s) and a
//! per-app bucket for `/user-products/{id}/stock` (doc §4.2, 100 per minute).
//!
//! Buckets refill continuously on the simulated clock and start full. The burst size is
//! \[A\]; ML publishes none. A non-positive or infinite rate disables that bucket.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::SimConfig;

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    last: DateTime<Utc>,
}

impl Bucket {
    /// Takes one token, or says how long until one is available.
    fn take(&mut self, now: DateTime<Utc>, per_second: f64, capacity: f64) -> Result<(), Duration> {
        let elapsed = (now - self.last)
            .num_microseconds()
            .unwrap_or(i64::MAX)
            .max(0);
        // Microsecond counts fit f64 exactly for any realistic span.
        #[allow(clippy::cast_precision_loss)]
        let refill = elapsed as f64 / 1e6 * per_second;
        self.tokens = (self.tokens + refill).min(capacity);
        self.last = now;

        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / per_second))
        }
    }
}

/// Bucket state of every app seen so far.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    apps: HashMap<String, Bucket>,
    user_product_stock: HashMap<String, Bucket>,
}

fn take(
    buckets: &mut HashMap<String, Bucket>,
    app: &str,
    now: DateTime<Utc>,
    per_second: f64,
    capacity: f64,
) -> Result<(), Duration> {
    if !(per_second.is_finite() && per_second > 0.0) {
        return Ok(());
    }
    let capacity = capacity.max(1.0);
    buckets
        .entry(app.to_owned())
        .or_insert_with(|| Bucket {
            tokens: capacity,
            last: now,
        })
        .take(now, per_second, capacity)
}

impl Limits {
    /// Admits one request of `app` to `endpoint`, or returns the wait until it would pass.
    pub(crate) fn admit(
        &mut self,
        app: &str,
        endpoint: &str,
        config: &SimConfig,
        now: DateTime<Utc>,
    ) -> Result<(), Duration> {
        take(
            &mut self.apps,
            app,
            now,
            config.rps,
            f64::from(config.burst),
        )?;

        if endpoint == crate::gate::USER_PRODUCT_STOCK {
            let rpm = f64::from(config.user_product_stock_rpm);
            take(&mut self.user_product_stock, app, now, rpm / 60.0, rpm)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn bucket_allows_the_burst_then_refills_with_time() {
        let config = SimConfig {
            rps: 2.0,
            burst: 3,
            ..SimConfig::default()
        };
        let mut limits = Limits::default();
        let now = Utc::now();

        let admitted = (0..5)
            .filter(|_| limits.admit("1", "items", &config, now).is_ok())
            .count();
        let later = limits.admit("1", "items", &config, now + TimeDelta::milliseconds(600));

        assert_eq!(admitted, 3);
        assert!(later.is_ok());
    }
}
