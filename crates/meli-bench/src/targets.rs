//! The targets a benchmark is held to, and for each one whether the measured runs met it,
//! by how much, and where the time or the calls went.

use std::time::Duration;

use crate::bound::MAX_RETRY_SHARE;
use crate::scenario::{RunKind, RunResult, SizeResult};

/// Efficiency a run must reach at [`EFFICIENCY_FROM`] listings and more.
pub const EFFICIENCY_TARGET: f64 = 0.9;

/// The smallest catalogue the efficiency target applies to.
pub const EFFICIENCY_FROM: usize = 10_000;

/// The catalogue the write and memory targets apply to.
pub const LARGE: usize = 100_000;

/// Longest write of [`LARGE`] rows.
pub const WRITE_LIMIT: Duration = Duration::from_secs(3);

/// Highest peak RSS at [`LARGE`] listings: 200 MB.
pub const RSS_LIMIT_BYTES: u64 = 200_000_000;

/// Largest share of the cold run's user-product reads a 1%-changed run may make.
pub const CHANGED_READ_SHARE: f64 = 0.02;

/// Whether a target was met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Met,
    Missed,
    /// No run of this benchmark was of the size the target is about.
    NotMeasured,
}

impl Status {
    /// The word the report prints.
    pub fn word(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Missed => "**missed**",
            Status::NotMeasured => "not measured",
        }
    }
}

/// One target at one size (and run).
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub target: &'static str,
    /// e.g. `10,000 listings, 1% changed`.
    pub scope: String,
    pub required: String,
    pub measured: String,
    pub status: Status,
    /// By how much and why, in a sentence or two.
    pub detail: String,
}

/// Every target against `sizes`.
pub fn evaluate(sizes: &[SizeResult]) -> Vec<Verdict> {
    let mut out = Vec::new();
    out.extend(efficiency(sizes));
    out.extend(calls(sizes));
    out.extend(write_and_memory(sizes));
    out.extend(changed_reads(sizes));
    out
}

fn scope(size: &SizeResult, run: &RunResult) -> String {
    format!(
        "{} listings, {}",
        thousands(size.listings as u64),
        run.kind.label()
    )
}

fn efficiency(sizes: &[SizeResult]) -> Vec<Verdict> {
    let target = "efficiency ≥ 0.9 at 10k and 100k";
    let required = format!("≥ {EFFICIENCY_TARGET}");
    let large: Vec<&SizeResult> = sizes
        .iter()
        .filter(|s| s.plan.listings >= EFFICIENCY_FROM)
        .collect();
    if large.is_empty() {
        return vec![not_measured(target, "10,000 listings or more", required)];
    }

    let mut out = Vec::new();
    for size in large {
        for run in &size.runs {
            let met = run.efficiency >= EFFICIENCY_TARGET;
            let detail = if met {
                format!("{:.2} above the target", run.efficiency - EFFICIENCY_TARGET)
            } else {
                format!(
                    "{:.2} below the target; {}",
                    EFFICIENCY_TARGET - run.efficiency,
                    time_breakdown(run)
                )
            };
            out.push(Verdict {
                target,
                scope: scope(size, run),
                required: required.clone(),
                measured: format!("{:.3}", run.efficiency),
                status: if met { Status::Met } else { Status::Missed },
                detail,
            });
        }
    }
    out
}

/// Where a run's wall time went beyond its bound.
pub fn time_breakdown(run: &RunResult) -> String {
    let wall = run.child.wall.as_secs_f64();
    let elapsed = run.child.output.elapsed_ms as f64 / 1000.0;
    let write = run.child.output.write_ms.unwrap_or(0) as f64 / 1000.0;
    let start = (wall - elapsed).max(0.0);
    let calls = (elapsed - write).max(0.0);
    format!(
        "of the {wall:.1} s wall time against a bound of {:.1} s, {start:.1} s were process \
         start-up and migrations, {write:.1} s the write and {calls:.1} s the calls and the \
         plan ({:.2} of the bound)",
        run.bound.as_secs_f64(),
        if calls > 0.0 {
            run.bound.as_secs_f64() / calls
        } else {
            0.0
        }
    )
}

/// The write's statements, slowest first, as `name 1.23 s (rows)`.
pub fn write_breakdown(run: &RunResult) -> String {
    let mut statements = run.child.write.clone();
    if statements.is_empty() {
        return "no statement timings were logged".to_owned();
    }
    statements.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
    statements
        .iter()
        .filter(|s| s.seconds >= 0.005)
        .map(|s| {
            if s.rows > 1 {
                format!(
                    "{} {:.2} s ({} rows)",
                    s.label(),
                    s.seconds,
                    thousands(s.rows)
                )
            } else {
                format!("{} {:.2} s", s.label(), s.seconds)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn calls(sizes: &[SizeResult]) -> Vec<Verdict> {
    let target = "calls within the allowance, ≤ 2% retries";
    let mut out = Vec::new();
    for size in sizes {
        for run in &size.runs {
            let check = &run.calls;
            let output = &run.child.output;
            let allowance =
                crate::bound::Allowance::for_run(output.items_listed, output.user_products_read);
            let other: u64 = output
                .api_calls
                .iter()
                .filter(|(label, _)| !crate::child::DATA_ENDPOINTS.contains(&label.as_str()))
                .map(|(_, n)| n)
                .sum();
            let mut detail = format!(
                "scan {} of {}, multiget {} of {}, UP reads {} of {}",
                thousands(output.calls("items_search")),
                thousands(allowance.scan_pages),
                thousands(output.calls("items")),
                thousands(allowance.multigets),
                thousands(output.calls("user_product_stock")),
                thousands(allowance.stock_reads)
            );
            if other > 0 {
                detail.push_str(&format!(
                    "; {other} account calls (token refresh, `/users/me`) besides"
                ));
            }
            if !check.met() {
                let over = check.first_attempts().saturating_sub(check.allowed);
                detail.push_str(&format!(
                    "; {over} calls over the allowance, retry share {:.2}% against {:.0}%",
                    check.retry_share() * 100.0,
                    MAX_RETRY_SHARE * 100.0
                ));
            }
            out.push(Verdict {
                target,
                scope: scope(size, run),
                required: format!("≤ {} first attempts", thousands(check.allowed)),
                measured: format!(
                    "{} first attempts, {} retries ({:.2}%), {} 429s",
                    thousands(check.first_attempts()),
                    check.retries,
                    check.retry_share() * 100.0,
                    output.rate_limited
                ),
                status: if check.met() {
                    Status::Met
                } else {
                    Status::Missed
                },
                detail,
            });
        }
    }
    out
}

fn write_and_memory(sizes: &[SizeResult]) -> Vec<Verdict> {
    let write_target = "100k rows written in ≤ 3 s";
    let rss_target = "peak RSS ≤ 200 MB at 100k";
    let Some(size) = sizes.iter().find(|s| s.plan.listings >= LARGE) else {
        return vec![
            not_measured(write_target, "100,000 listings", "≤ 3 s".to_owned()),
            not_measured(rss_target, "100,000 listings", "≤ 200 MB".to_owned()),
        ];
    };

    let mut out: Vec<Verdict> = size
        .runs
        .iter()
        .map(|run| write_verdict(size, run))
        .collect();

    let peak = size
        .runs
        .iter()
        .filter_map(|r| r.child.output.peak_rss_kib.map(|kib| (kib * 1024, r)))
        .max_by_key(|(bytes, _)| *bytes);
    match peak {
        Some((bytes, run)) => {
            let met = bytes <= RSS_LIMIT_BYTES;
            out.push(Verdict {
                target: rss_target,
                scope: scope(size, run),
                required: "≤ 200 MB".to_owned(),
                measured: format!(
                    "{:.1} MB ({:.1} MiB)",
                    bytes as f64 / 1e6,
                    bytes as f64 / 1_048_576.0
                ),
                status: if met { Status::Met } else { Status::Missed },
                detail: format!(
                    "highest of the {} runs at this size; {:.1} MB {} (MB = 10^6 bytes). The \
                     run holds every listing line, breakdown and planned row at once, in many \
                     small strings",
                    size.runs.len(),
                    (RSS_LIMIT_BYTES as f64 - bytes as f64).abs() / 1e6,
                    if met { "to spare" } else { "over" }
                ),
            });
        }
        None => out.push(not_measured(
            rss_target,
            "100,000 listings",
            "≤ 200 MB".to_owned(),
        )),
    }
    out
}

/// One run's write against [`WRITE_LIMIT`], with its statements and what kind of write it
/// was.
fn write_verdict(size: &SizeResult, run: &RunResult) -> Verdict {
    let output = &run.child.output;
    let write = Duration::from_millis(output.write_ms.unwrap_or(0));
    let met = output.write_ms.is_some() && write <= WRITE_LIMIT;
    let margin = WRITE_LIMIT.as_secs_f64() - write.as_secs_f64();
    let kind = match run.kind {
        RunKind::Changed => {
            "every row updated in place (for its last_updated), ledger rows for the changed ones"
        }
        RunKind::Cold | RunKind::ColdDefaultBudget => {
            "a first run: every row inserted and checked against the foreign keys of \
             warehouse_stock, and a ledger row for each"
        }
    };
    Verdict {
        target: "100k rows written in ≤ 3 s",
        scope: scope(size, run),
        required: "≤ 3.0 s".to_owned(),
        measured: format!(
            "{} rows in {:.2} s ({} rows/s)",
            thousands(output.rows_written),
            write.as_secs_f64(),
            thousands(rows_per_second(output.rows_written, write))
        ),
        status: if met { Status::Met } else { Status::Missed },
        detail: format!(
            "{:.2} s {}; {kind}; statements: {}",
            margin.abs(),
            if met { "to spare" } else { "over" },
            write_breakdown(run)
        ),
    }
}

fn changed_reads(sizes: &[SizeResult]) -> Vec<Verdict> {
    let target = "1%-changed run reads ≤ 2% of the cold run's UPs";
    let mut out = Vec::new();
    for size in sizes {
        let (Some(cold), Some(changed)) = (size.run(RunKind::Cold), size.run(RunKind::Changed))
        else {
            continue;
        };
        let first = cold.child.output.user_products_read;
        let second = changed.child.output.user_products_read;
        let share = if first == 0 {
            1.0
        } else {
            second as f64 / first as f64
        };
        let met = share <= CHANGED_READ_SHARE;
        out.push(Verdict {
            target,
            scope: format!("{} listings", thousands(size.listings as u64)),
            required: format!("≤ {:.0}%", CHANGED_READ_SHARE * 100.0),
            measured: format!(
                "{} of {} ({:.2}%)",
                thousands(second),
                thousands(first),
                share * 100.0
            ),
            status: if met { Status::Met } else { Status::Missed },
            detail: format!(
                "{} listings changed; the cold run read every UP \
                 (MELI_STOCK_STOCK_READ_BUDGET=all), and so did the changed run's budget",
                thousands(size.changed as u64)
            ),
        });
    }
    out
}

fn not_measured(target: &'static str, scope: &str, required: String) -> Verdict {
    Verdict {
        target,
        scope: scope.to_owned(),
        required,
        measured: "-".to_owned(),
        status: Status::NotMeasured,
        detail: format!("this run had no size of {scope}"),
    }
}

/// Rows per second of a write; 0 when it took no measurable time.
pub fn rows_per_second(rows: u64, took: Duration) -> u64 {
    if took.is_zero() {
        return 0;
    }
    (rows as f64 / took.as_secs_f64()).round() as u64
}

/// `12345` as `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn rows_per_second_divides_by_the_write_time() {
        assert_eq!(
            rows_per_second(100_000, Duration::from_millis(2_500)),
            40_000
        );
        assert_eq!(rows_per_second(10, Duration::ZERO), 0);
    }
}
