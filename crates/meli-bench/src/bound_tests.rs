use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

fn requests(rows: &[(&str, u16, u64)]) -> BTreeMap<(String, u16), u64> {
    rows.iter()
        .map(|(endpoint, status, n)| (((*endpoint).to_owned(), *status), *n))
        .collect()
}

#[test]
fn lower_bound_is_the_overall_rate_when_stock_reads_are_few() {
    // 10,000 listings, 1% read: 101 + 500 + 100 calls at 5/s; 100 reads at 100/min = 60 s.
    let calls = CallCounts {
        total: 701,
        stock_reads: 100,
    };

    let bound = Limits::ML.lower_bound(calls);

    assert_eq!(bound, Duration::from_secs_f64(140.2));
}

#[test]
fn lower_bound_is_the_stock_rate_when_every_user_product_is_read() {
    let calls = CallCounts {
        total: 10_601,
        stock_reads: 10_000,
    };

    let bound = Limits::ML.lower_bound(calls);

    // 10,000 reads at 100 a minute is 100 minutes; 10,601 calls at 5/s only 35 minutes.
    assert_eq!(bound, Duration::from_secs(6_000));
}

#[test]
fn scaled_limits_shrink_the_bound_by_the_factor() {
    let calls = CallCounts {
        total: 10_601,
        stock_reads: 10_000,
    };

    let bound = Limits::ML.scaled(50.0).lower_bound(calls);

    assert_eq!(bound, Duration::from_secs(120));
}

#[test]
fn needed_calls_leave_out_refused_failed_and_dropped_attempts() {
    let counted = requests(&[
        ("items_search", 200, 11),
        ("items", 200, 50),
        ("items", 429, 3),
        ("user_product_stock", 200, 900),
        ("user_product_stock", 404, 15),
        ("user_product_stock", 429, 7),
        ("user_product_stock", 503, 2),
        ("user_product_stock", 0, 1),
    ]);

    let needed = CallCounts::needed(&counted);

    assert_eq!(
        needed,
        CallCounts {
            total: 11 + 50 + 900 + 15,
            stock_reads: 915,
        }
    );
}

#[test]
fn efficiency_is_bound_over_wall() {
    let bound = Duration::from_secs(90);

    assert!((efficiency(bound, Duration::from_secs(100)) - 0.9).abs() < 1e-12);
    assert_eq!(efficiency(bound, Duration::ZERO), 0.0);
}

#[test]
fn allowance_counts_pages_multigets_and_chosen_reads() {
    let allowance = Allowance::for_run(1_001, 40);

    // 11 pages of ids plus the closing call; 51 multigets (the last holds one id).
    assert_eq!(allowance.scan_pages, 12);
    assert_eq!(allowance.multigets, 51);
    assert_eq!(allowance.total(), 12 + 51 + 40);
}

#[test]
fn call_check_allows_exactly_the_allowance_and_two_percent_of_retries() {
    let allowance = Allowance::for_run(1_000, 900);
    let exact = allowance.total();

    let on_target = CallCheck::new(allowance, exact, 0);
    let one_over = CallCheck::new(allowance, exact + 1, 0);
    // 961 calls allowed: 19 re-sends are 1.94% of 980 sent, 21 are 2.14% of 982.
    let retried = CallCheck::new(allowance, exact + 19, 19);
    let too_many_retries = CallCheck::new(allowance, exact + 21, 21);

    assert!(on_target.met());
    assert!(!one_over.met());
    assert_eq!(exact, 961);
    assert!(retried.met());
    assert!(!too_many_retries.met());
    assert_eq!(too_many_retries.first_attempts(), exact);
}

#[test]
fn a_sample_of_every_listing_extrapolates_to_itself() {
    let sample = Sample {
        listings: 250,
        pages: scan_pages(250),
        listing_time: Duration::from_secs(2),
        per_listing_time: Duration::from_secs(150),
        listing_calls: 500,
    };

    let estimate = extrapolate(&sample, 250);

    assert_eq!(estimate.time, Duration::from_secs(152));
    assert_eq!(estimate.calls, 4 + 500);
}

#[test]
fn extrapolation_scales_pages_and_listings_separately() {
    // 100 listings from one page took 1 s to list and 60 s to sync.
    let sample = Sample {
        listings: 100,
        pages: 1,
        listing_time: Duration::from_secs(1),
        per_listing_time: Duration::from_secs(60),
        listing_calls: 195,
    };

    let estimate = extrapolate(&sample, 10_000);

    // 101 pages at 1 s, 100 times the listing work.
    assert_eq!(estimate.time, Duration::from_secs(101 + 6_000));
    assert_eq!(estimate.calls, 101 + 19_500);
}

#[test]
fn an_empty_sample_extrapolates_to_nothing() {
    let sample = Sample {
        listings: 0,
        pages: 0,
        listing_time: Duration::ZERO,
        per_listing_time: Duration::ZERO,
        listing_calls: 0,
    };

    assert_eq!(extrapolate(&sample, 1_000).time, Duration::ZERO);
}

#[test]
fn concurrency_covers_twice_rate_times_latency_and_never_drops_below_the_default() {
    let slowest = Duration::from_millis(100);

    assert_eq!(concurrency_for(5.0, slowest), DEFAULT_CONCURRENCY);
    assert_eq!(concurrency_for(500.0, slowest), 100);
    assert_eq!(concurrency_for(f64::INFINITY, slowest), DEFAULT_CONCURRENCY);
}

#[test]
fn one_percent_of_listings_is_rounded_up_and_at_least_one() {
    assert_eq!(changed_listings(10_000, 0.01), 100);
    assert_eq!(changed_listings(1_050, 0.01), 11);
    assert_eq!(changed_listings(20, 0.01), 1);
    assert_eq!(changed_listings(5, 2.0), 5);
}
