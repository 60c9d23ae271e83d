//! Prometheus metrics of `serve`, rendered in the text exposition format on `/metrics`.
//!
//! The run figures are kept here as each attempt ends ([`Metrics::record_attempt`]); the
//! API request counters come from each seller's client at scrape time, and the token and
//! last-success figures from the caller ([`Scrape`]). Every label has few values: the
//! seller id, the outcome, the endpoint class and the HTTP status; never an item id.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `meli_stock_sync_runs_total` | counter | `seller_id`, `outcome` |
//! | `meli_stock_sync_run_duration_seconds` | histogram | `seller_id` |
//! | `meli_stock_rows_changed_total` | counter | `seller_id` |
//! | `meli_stock_unmatched_listings` | gauge | `seller_id` |
//! | `meli_stock_last_success_timestamp_seconds` | gauge | `seller_id` |
//! | `meli_stock_api_requests_total` | counter | `seller_id`, `endpoint`, `status` |
//! | `meli_stock_api_retries_total` | counter | `seller_id` |
//! | `meli_stock_api_rate_limited_total` | counter | `seller_id` |
//! | `meli_stock_access_token_expires_in_seconds` | gauge | `seller_id` |
//! | `meli_stock_build_info` | gauge | `version` |
//!
//! Counters count from the start of the process, as Prometheus expects.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use meli_api::CountersSnapshot;

use crate::serve::scheduler::Attempt;

/// Upper bounds of the run-duration buckets, in seconds.
pub const DURATION_BUCKETS: [f64; 11] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0,
];

/// Every outcome label, so each series exists (at 0) from the first scrape.
const OUTCOMES: [&str; 6] = [
    "success",
    "failed",
    "reauth",
    "invalid",
    "locked",
    "cancelled",
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; DURATION_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bucket, bound) in self.buckets.iter_mut().zip(DURATION_BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Debug, Default)]
struct SellerRuns {
    by_outcome: BTreeMap<&'static str, u64>,
    duration: Histogram,
    rows_changed: u64,
    unmatched: Option<u64>,
    last_success: Option<DateTime<Utc>>,
}

/// The run figures of every seller since the process started.
#[derive(Debug, Default)]
pub struct Metrics {
    sellers: Mutex<BTreeMap<u64, SellerRuns>>,
}

/// What a scrape adds from outside: per seller, the client's counters and the token facts.
#[derive(Debug, Default)]
pub struct Scrape {
    pub requests: Vec<(u64, CountersSnapshot)>,
    /// Seconds until the access token expires, per seller (when known).
    pub token_expires_in: Vec<(u64, i64)>,
}

impl Metrics {
    /// Registers a seller, so its series show before its first run ends.
    pub fn add_seller(&self, seller_id: u64, last_success: Option<&crate::store::RunRecord>) {
        let mut sellers = self.lock();
        let entry = sellers.entry(seller_id).or_default();
        if let Some(run) = last_success {
            entry.last_success = run.finished_at;
            entry.unmatched = Some(run.unmatched);
        }
    }

    /// Counts one attempt; a successful one also sets the gauges.
    pub fn record_attempt(&self, attempt: &Attempt) {
        let mut sellers = self.lock();
        let seller = sellers.entry(attempt.seller_id).or_default();
        *seller
            .by_outcome
            .entry(attempt.outcome.label())
            .or_insert(0) += 1;
        seller.duration.observe(attempt.elapsed.as_secs_f64());
        if let Some(run) = &attempt.record {
            seller.rows_changed += run.rows_changed;
            if !run.dry_run {
                seller.unmatched = Some(run.unmatched);
                seller.last_success = Some(run.finished_at.unwrap_or(attempt.finished_at));
            }
        }
    }

    /// The exposition text.
    pub fn render(&self, scrape: &Scrape) -> String {
        let sellers = self.lock();
        let mut out = String::with_capacity(4096);

        header(
            &mut out,
            "meli_stock_build_info",
            "gauge",
            "the running version",
        );
        line(
            &mut out,
            "meli_stock_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1.0,
        );

        header(
            &mut out,
            "meli_stock_sync_runs_total",
            "counter",
            "sync attempts by outcome",
        );
        for (seller_id, runs) in sellers.iter() {
            let seller = seller_id.to_string();
            for outcome in OUTCOMES {
                let n = runs.by_outcome.get(outcome).copied().unwrap_or(0);
                let labels = [("seller_id", seller.as_str()), ("outcome", outcome)];
                line(&mut out, "meli_stock_sync_runs_total", &labels, n as f64);
            }
        }

        header(
            &mut out,
            "meli_stock_sync_run_duration_seconds",
            "histogram",
            "duration of sync attempts",
        );
        for (seller_id, runs) in sellers.iter() {
            histogram(&mut out, &seller_id.to_string(), &runs.duration);
        }

        header(
            &mut out,
            "meli_stock_rows_changed_total",
            "counter",
            "warehouse_stock rows whose quantity a run changed",
        );
        for (seller_id, runs) in sellers.iter() {
            let seller = seller_id.to_string();
            let labels = [("seller_id", seller.as_str())];
            line(
                &mut out,
                "meli_stock_rows_changed_total",
                &labels,
                runs.rows_changed as f64,
            );
        }

        gauges(&mut out, &sellers);
        api_counters(&mut out, scrape);
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, SellerRuns>> {
        self.sellers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn gauges(out: &mut String, sellers: &BTreeMap<u64, SellerRuns>) {
    header(
        out,
        "meli_stock_unmatched_listings",
        "gauge",
        "listings without a product in the latest successful run",
    );
    for (seller_id, runs) in sellers {
        if let Some(n) = runs.unmatched {
            let seller = seller_id.to_string();
            let labels = [("seller_id", seller.as_str())];
            line(out, "meli_stock_unmatched_listings", &labels, n as f64);
        }
    }

    header(
        out,
        "meli_stock_last_success_timestamp_seconds",
        "gauge",
        "end of the latest successful run, as a Unix time",
    );
    for (seller_id, runs) in sellers {
        if let Some(at) = runs.last_success {
            let seller = seller_id.to_string();
            let labels = [("seller_id", seller.as_str())];
            let seconds = at.timestamp_millis() as f64 / 1000.0;
            line(
                out,
                "meli_stock_last_success_timestamp_seconds",
                &labels,
                seconds,
            );
        }
    }
}

fn api_counters(out: &mut String, scrape: &Scrape) {
    header(
        out,
        "meli_stock_api_requests_total",
        "counter",
        "requests to MercadoLibre by endpoint and HTTP status (0: no response)",
    );
    for (seller_id, counters) in &scrape.requests {
        let seller = seller_id.to_string();
        for ((endpoint, status), n) in &counters.requests {
            let status = status.to_string();
            let labels = [
                ("seller_id", seller.as_str()),
                ("endpoint", endpoint.as_str()),
                ("status", status.as_str()),
            ];
            line(out, "meli_stock_api_requests_total", &labels, *n as f64);
        }
    }

    header(
        out,
        "meli_stock_api_retries_total",
        "counter",
        "requests sent again after a 429, a 5xx or a network failure",
    );
    for (seller_id, counters) in &scrape.requests {
        let seller = seller_id.to_string();
        let labels = [("seller_id", seller.as_str())];
        let n = counters.retries as f64;
        line(out, "meli_stock_api_retries_total", &labels, n);
    }

    header(
        out,
        "meli_stock_api_rate_limited_total",
        "counter",
        "429 answers from MercadoLibre",
    );
    for (seller_id, counters) in &scrape.requests {
        let seller = seller_id.to_string();
        let labels = [("seller_id", seller.as_str())];
        let n = counters.rate_limited as f64;
        line(out, "meli_stock_api_rate_limited_total", &labels, n);
    }

    header(
        out,
        "meli_stock_access_token_expires_in_seconds",
        "gauge",
        "seconds until the access token expires (negative once expired)",
    );
    for (seller_id, seconds) in &scrape.token_expires_in {
        let seller = seller_id.to_string();
        let labels = [("seller_id", seller.as_str())];
        line(
            out,
            "meli_stock_access_token_expires_in_seconds",
            &labels,
            *seconds as f64,
        );
    }
}

fn histogram(out: &mut String, seller: &str, h: &Histogram) {
    let name = "meli_stock_sync_run_duration_seconds";
    for (n, bound) in h.buckets.iter().zip(DURATION_BUCKETS) {
        let le = bound.to_string();
        let labels = [("seller_id", seller), ("le", le.as_str())];
        line(out, &format!("{name}_bucket"), &labels, *n as f64);
    }
    let labels = [("seller_id", seller), ("le", "+Inf")];
    line(out, &format!("{name}_bucket"), &labels, h.count as f64);
    line(out, &format!("{name}_sum"), &[("seller_id", seller)], h.sum);
    let count = h.count as f64;
    line(
        out,
        &format!("{name}_count"),
        &[("seller_id", seller)],
        count,
    );
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn line(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, val)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{key}=\"{}\"", escape(val));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Label values escape backslash, double quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_bucket_counts_every_observation_at_or_below_its_bound() {
        let mut h = Histogram::default();
        h.observe(0.5);
        h.observe(5.0);
        h.observe(7200.0);

        assert_eq!(h.buckets[0], 1);
        assert_eq!(h.buckets[1], 2);
        assert_eq!(h.buckets[DURATION_BUCKETS.len() - 1], 2);
        assert_eq!(h.count, 3);
        assert_eq!(h.sum, 7205.5);
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        line(&mut out, "m", &[("a", "x\"y\\z\n")], 1.0);

        assert_eq!(out, "m{a=\"x\\\"y\\\\z\\n\"} 1\n");
    }
}
