//! What a run tells its caller: the short human summary, the list of changed rows (what a
//! dry run would write) and the run record for `--json`.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::plan::Change;
use crate::store::RunRecord;

/// Rows listed one by one in the summary; the rest are counted.
const CHANGES_SHOWN: usize = 200;

/// One row the run changes (or, in a dry run, would change).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeLine {
    pub product_id: String,
    /// The listing the quantity comes from; `None` when the listing is gone.
    pub item_id: Option<String>,
    /// `None` when the product had no row in the ML warehouse yet.
    pub old: Option<i64>,
    pub new: i64,
}

/// The result of a finished run.
#[derive(Clone, Debug)]
pub struct SyncReport {
    pub record: RunRecord,
    /// What would change in a dry run, product by product; in a real run, the first 1,000
    /// rows that changed (the stock-change ledger has every one, and the record the count).
    pub changes: Vec<ChangeLine>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// Time spent in the write transaction; `None` for dry runs.
    pub write_time: Option<Duration>,
}

/// The plan's changes, numeric product ids in numeric order (1, 2, 10 rather than 1, 10,
/// 2), at most `limit` of them.
pub(super) fn change_lines(changes: Vec<Change>, limit: Option<usize>) -> Vec<ChangeLine> {
    let mut lines: Vec<ChangeLine> = changes
        .into_iter()
        .map(|c| ChangeLine {
            product_id: c.product_id,
            item_id: c.item_id,
            old: c.old,
            new: c.new,
        })
        .collect();
    lines.sort_by_cached_key(|line| match line.product_id.parse::<i128>() {
        Ok(n) => (0, n, String::new()),
        Err(_) => (1, 0, line.product_id.clone()),
    });
    if let Some(limit) = limit {
        lines.truncate(limit);
        lines.shrink_to_fit();
    }
    lines
}

/// `meli-stock sync --json`: the run record plus the timings and memory of the process.
#[derive(Clone, Debug, Serialize)]
pub struct RunJson<'a> {
    #[serde(flatten)]
    pub record: &'a RunRecord,
    pub elapsed_ms: u64,
    /// Time in the write transaction; absent for dry runs.
    pub write_ms: Option<u64>,
    /// Peak resident memory of this process so far (Linux `VmHWM`), when readable.
    pub peak_rss_kib: Option<u64>,
    /// The rows a dry run would change; the first 1,000 a real run changed.
    pub changes: &'a [ChangeLine],
}

impl SyncReport {
    /// The JSON document `--json` prints.
    pub fn json(&self) -> RunJson<'_> {
        RunJson {
            record: &self.record,
            elapsed_ms: self.elapsed.as_millis() as u64,
            write_ms: self.write_time.map(|d| d.as_millis() as u64),
            peak_rss_kib: peak_rss_kib(),
            changes: &self.changes,
        }
    }

    /// The few lines printed at the end of a run; a dry run adds what it would change.
    pub fn summary(&self) -> String {
        let r = &self.record;
        let mut out = String::new();
        let verb = if r.dry_run { "dry run" } else { "sync" };
        let _ = writeln!(
            out,
            "{verb} of seller {} finished in {:.1}s: {} listings, {} user products read",
            r.seller_id,
            self.elapsed.as_secs_f64(),
            r.items_listed,
            r.user_products_read
        );

        if r.dry_run {
            let _ = writeln!(
                out,
                "would change {} rows (nothing was written):",
                self.changes.len()
            );
            for line in self.changes.iter().take(CHANGES_SHOWN) {
                let old = line
                    .old
                    .map_or_else(|| "none".to_owned(), |o| o.to_string());
                let item = line.item_id.as_deref().unwrap_or("(listing gone)");
                let _ = writeln!(
                    out,
                    "  product {:<14} item {:<16} {:>6} -> {}",
                    line.product_id, item, old, line.new
                );
            }
            if self.changes.len() > CHANGES_SHOWN {
                let _ = writeln!(out, "  ... and {} more", self.changes.len() - CHANGES_SHOWN);
            }
        } else {
            let _ = writeln!(
                out,
                "rows written {}, changed {}, set to zero {}",
                r.rows_written, r.rows_changed, r.rows_zeroed
            );
        }

        let calls: u64 = r.api_calls.values().sum();
        let _ = writeln!(
            out,
            "unmatched listings {}, disagreements {}, API calls {} (429s {}, retries {})",
            r.unmatched, r.disagreements, calls, r.rate_limited, r.retries
        );
        if r.unmatched > 0 {
            let _ = writeln!(out, "list them with: meli-stock report unmatched");
        }
        out
    }
}

/// The process's peak resident set size, from `/proc/self/status` (Linux only).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}
