//! The arithmetic of a benchmark, free of I/O: the lower bound ML's limits put on the calls
//! of a run, a run's efficiency against it, the call allowance of the targets, the
//! extrapolation of a sampled baseline, and the client concurrency a scaled run needs.
//!
//! The bound uses the sustained rates only. The simulator's buckets start full (a burst of
//! 10 calls times the scale factor overall, \[A\], and one minute of stock reads), which the
//! client does not spend: it sends evenly, one call at a time. A run could therefore beat
//! the bound by at most that head start, which at ML's real limits is one minute of a
//! multi-hour cold run.

use std::collections::BTreeMap;
use std::time::Duration;

/// Ids per scan page (the documented maximum).
pub const SCAN_PAGE_IDS: u64 = 100;

/// Ids per multiget call (the documented maximum).
pub const MULTIGET_IDS: u64 = 20;

/// Largest share of a run's calls that may be retries when no fault is injected.
pub const MAX_RETRY_SHARE: f64 = 0.02;

/// meli-stock's default `MELI_STOCK_CONCURRENCY`.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// The endpoint label of user-product stock reads, shared by client and simulator.
pub const STOCK_ENDPOINT: &str = "user_product_stock";

/// Call rates a run is held to: ML's documented limits, or those times a scale factor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Calls per second over every endpoint of the app.
    pub requests_per_second: f64,
    /// `GET /user-products/{id}/stock` calls per minute.
    pub stock_reads_per_minute: f64,
}

impl Limits {
    /// ML's documented limits: about 18,000 calls an hour per app, 100 stock reads a minute.
    pub const ML: Limits = Limits {
        requests_per_second: 5.0,
        stock_reads_per_minute: 100.0,
    };

    /// These limits multiplied by `factor`.
    pub fn scaled(self, factor: f64) -> Limits {
        Limits {
            requests_per_second: self.requests_per_second * factor,
            stock_reads_per_minute: self.stock_reads_per_minute * factor,
        }
    }

    /// The shortest time in which these limits let `calls` go out: the larger of all calls
    /// at the overall rate and the stock reads at theirs.
    pub fn lower_bound(&self, calls: CallCounts) -> Duration {
        let overall = calls.total as f64 / self.requests_per_second;
        let stock = calls.stock_reads as f64 * 60.0 / self.stock_reads_per_minute;
        Duration::from_secs_f64(overall.max(stock))
    }
}

/// The calls a run needed, as the bound counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Calls to every endpoint.
    pub total: u64,
    /// Calls to `/user-products/{id}/stock`.
    pub stock_reads: u64,
}

impl CallCounts {
    /// The calls of a run that got an answer worth having, from requests counted by
    /// `(endpoint, status)`: refused (429), failed (5xx) and dropped (status 0) attempts are
    /// waste, not need, so they are left out.
    pub fn needed(requests: &BTreeMap<(String, u16), u64>) -> CallCounts {
        let mut out = CallCounts::default();
        for ((endpoint, status), n) in requests {
            if *status == 0 || *status == 429 || *status >= 500 {
                continue;
            }
            out.total += n;
            if endpoint == STOCK_ENDPOINT {
                out.stock_reads += n;
            }
        }
        out
    }
}

/// `bound ÷ wall`: 1 means the run went as fast as the limits allow.
pub fn efficiency(bound: Duration, wall: Duration) -> f64 {
    if wall.is_zero() {
        return 0.0;
    }
    bound.as_secs_f64() / wall.as_secs_f64()
}

/// Scan calls a complete listing of `listings` ids takes: full pages, then the call that
/// answers the end of the scroll.
pub fn scan_pages(listings: u64) -> u64 {
    listings.div_ceil(SCAN_PAGE_IDS) + 1
}

/// The calls the targets allow a run: `ceil(N/100)+1` scan pages, `ceil(N/20)` multigets
/// and the stock reads the run chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowance {
    pub scan_pages: u64,
    pub multigets: u64,
    pub stock_reads: u64,
}

impl Allowance {
    /// The allowance of a run that listed `listings` ids and chose `stock_reads` reads.
    pub fn for_run(listings: u64, stock_reads: u64) -> Allowance {
        Allowance {
            scan_pages: scan_pages(listings),
            multigets: listings.div_ceil(MULTIGET_IDS),
            stock_reads,
        }
    }

    /// Every call allowed.
    pub fn total(&self) -> u64 {
        self.scan_pages + self.multigets + self.stock_reads
    }
}

/// A run's calls held against its [`Allowance`] and the retry ceiling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallCheck {
    pub allowed: u64,
    /// Calls sent, retries included.
    pub sent: u64,
    pub retries: u64,
}

impl CallCheck {
    /// Holds `sent` calls, `retries` of them re-sends, against `allowance`.
    pub fn new(allowance: Allowance, sent: u64, retries: u64) -> CallCheck {
        CallCheck {
            allowed: allowance.total(),
            sent,
            retries,
        }
    }

    /// Calls other than re-sends.
    pub fn first_attempts(&self) -> u64 {
        self.sent.saturating_sub(self.retries)
    }

    /// Share of the calls sent that were re-sends.
    pub fn retry_share(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        self.retries as f64 / self.sent as f64
    }

    /// First attempts within the allowance and retries within [`MAX_RETRY_SHARE`].
    pub fn met(&self) -> bool {
        self.first_attempts() <= self.allowed && self.retry_share() <= MAX_RETRY_SHARE
    }
}

/// What a sampled baseline measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Listings synced.
    pub listings: u64,
    /// Scan pages read to list them.
    pub pages: u64,
    /// Time spent reading those pages.
    pub listing_time: Duration,
    /// Time spent on the listings themselves (reads, upserts, commits).
    pub per_listing_time: Duration,
    /// Item and stock calls made for the listings.
    pub listing_calls: u64,
}

/// A baseline's time and calls for a whole catalogue.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub time: Duration,
    pub calls: u64,
}

/// Scales a sample up to `listings`: the pages in proportion to the pages a complete scan
/// takes, the per-listing work in proportion to the listings. A sample of every listing
/// gives back what it measured.
pub fn extrapolate(sample: &Sample, listings: u64) -> Estimate {
    if sample.listings == 0 || sample.pages == 0 {
        return Estimate {
            time: Duration::ZERO,
            calls: 0,
        };
    }

    let pages = scan_pages(listings).max(sample.pages);
    let page_factor = pages as f64 / sample.pages as f64;
    let listing_factor = listings as f64 / sample.listings as f64;
    let time = sample.listing_time.as_secs_f64() * page_factor
        + sample.per_listing_time.as_secs_f64() * listing_factor;
    let calls = pages as f64 + sample.listing_calls as f64 * listing_factor;
    Estimate {
        time: Duration::from_secs_f64(time),
        calls: calls.round() as u64,
    }
}

/// Requests in flight a scaled run needs to reach `requests_per_second` when answers take
/// up to `slowest`, with twice that room, and never fewer than meli-stock's default. At
/// ML's real limits the default is already far more than enough (5/s × 0.1 s = 0.5).
pub fn concurrency_for(requests_per_second: f64, slowest: Duration) -> usize {
    let needed = (requests_per_second * slowest.as_secs_f64() * 2.0).ceil();
    if needed.is_finite() && needed > DEFAULT_CONCURRENCY as f64 {
        needed as usize
    } else {
        DEFAULT_CONCURRENCY
    }
}

/// Listings to change for a run with `share` of the stock changed (at least one).
pub fn changed_listings(listings: usize, share: f64) -> usize {
    ((listings as f64 * share).ceil() as usize).clamp(1, listings.max(1))
}

#[cfg(test)]
#[path = "bound_tests.rs"]
mod tests;
