//! Simulator settings: catalogue size and seed, limits, token and scroll lifetimes.
//!
//! Defaults follow the reference (`/work/shared/docs/mercadolibre-api.md`): 5 requests per
//! second per app (§7, 18000/h), 100 requests per minute on user-product stock (§4.2), 6 h
//! access tokens (§1.2) and 5 min scrolls (§2.1). Values the reference does not give are
//! marked \[A\] on their field.

use std::time::Duration;

/// Everything [`crate::spawn`] needs to build one simulated ML account.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Catalogue size: number of listings of the simulated seller.
    pub items: usize,
    /// Seed of the scenario generator; the same seed and size give the same catalogue.
    pub seed: u64,
    /// Site id, also the item id prefix (`MLC` gives `MLC123…`, UPs `MLCU…`).
    pub site: String,
    /// Numeric id of the simulated seller (the `user_id` of its tokens).
    pub seller_id: u64,
    /// Added to every ML response, to model a remote API.
    pub latency: Duration,
    /// Uniform +/- jitter around `latency`.
    pub latency_jitter: Duration,
    /// Per-app token bucket refill rate over all endpoints (doc §7: about 5/s).
    pub rps: f64,
    /// Per-app token bucket capacity. \[A\] ML publishes no burst size.
    pub burst: u32,
    /// Per-app limit of `/user-products/{id}/stock` calls per minute (doc §4.2: 100).
    pub user_product_stock_rpm: u32,
    /// `expires_in` of issued access tokens (doc §1.2: 21600 s in real captures).
    pub access_token_ttl: Duration,
    /// A refresh ends the access token issued before it. The legacy FAQ says so; current
    /// docs are silent (doc §1.3), so it is switchable.
    pub refresh_kills_previous_access: bool,
    /// Issue a new `scroll_id` on every scan page; only the latest one then works. \[A\]
    pub rotate_scroll_ids: bool,
    /// A scroll idle longer than this answers 404 (doc §2.1: 5 min).
    pub scroll_ttl: Duration,
    /// How late a `PUT /items` stock change reaches the other items of the same user
    /// product (doc §4.1 says "asynchronously"; the delay itself is \[A\]).
    pub sibling_propagation_delay: Duration,
    /// Open scrolls allowed per app before a new scan gets 429 (doc §2.1 says "many";
    /// the number is \[A\]).
    pub max_open_scrolls: usize,
    /// TCP port on 127.0.0.1; 0 picks any free port.
    pub port: u16,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            items: 200,
            seed: 42,
            site: "MLC".to_owned(),
            seller_id: 2_506_482_242,
            latency: Duration::ZERO,
            latency_jitter: Duration::ZERO,
            rps: 5.0,
            burst: 10,
            user_product_stock_rpm: 100,
            access_token_ttl: Duration::from_secs(21_600),
            refresh_kills_previous_access: true,
            rotate_scroll_ids: true,
            scroll_ttl: Duration::from_secs(300),
            sibling_propagation_delay: Duration::from_secs(1),
            max_open_scrolls: 200,
            port: 0,
        }
    }
}

impl SimConfig {
    /// Multiplies the per-app rate, its burst and the user-product stock limit by `factor`,
    /// so benchmarks can run ML's limits scaled up (a factor of 0 or less is ignored).
    pub fn scaled_limits(mut self, factor: f64) -> Self {
        if !(factor.is_finite() && factor > 0.0) {
            return self;
        }

        self.rps *= factor;
        self.burst = scale_u32(self.burst, factor);
        self.user_product_stock_rpm = scale_u32(self.user_product_stock_rpm, factor);
        self
    }
}

fn scale_u32(value: u32, factor: f64) -> u32 {
    let scaled = (f64::from(value) * factor).ceil();
    if scaled >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        // Truncation is exact here: `scaled` is a non-negative whole number below u32::MAX.
        (scaled as u32).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_limits_multiplies_all_three_limits() {
        let config = SimConfig::default().scaled_limits(10.0);

        assert_eq!(config.rps, 50.0);
        assert_eq!(config.burst, 100);
        assert_eq!(config.user_product_stock_rpm, 1000);
    }

    #[test]
    fn scaled_limits_ignores_a_non_positive_factor() {
        assert_eq!(
            SimConfig::default().scaled_limits(0.0),
            SimConfig::default()
        );
    }
}
