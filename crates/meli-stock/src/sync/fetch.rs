//! The calls of a run, as one pipeline: the scan feeds the multigets page by page, and the
//! multigets feed the user-product stock reads line by line, so every limit is in use while
//! the listing is still going.
//!
//! Three futures run side by side on the run's task and talk over unbounded channels (their
//! contents are bounded by the catalogue): the scan sends each page's new ids, the item reader
//! multigets pages a few at a time and hands the reads it chooses to the stock reader. Any
//! failure ends all three at once; nothing is written by this module.
//!
//! Pacing is the client's: it waits on the user-product limiter before taking one of its
//! in-flight slots, so slow stock reads never block the scan or the multigets.

use std::collections::{BTreeMap, HashSet};

use anyhow::anyhow;
use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use indicatif::ProgressBar;
use meli_api::{MeliClient, UserProductStock};
use tracing::{debug, warn};

use super::api_failure;
use super::plan::{Line, lines_of};
use super::select::{ReadReason, ReadSelector};
use crate::error::Failure;
use crate::progress::Progress;

/// Multiget pages (of up to 100 ids, 5 calls each) in flight at once. Two keep the
/// client's slots busy while leaving the scan near the front of the queue, well inside the
/// 5-minute scroll lifetime.
const PAGES_IN_FLIGHT: usize = 2;

/// What the listing asks ML for, and how hard.
pub(super) struct FetchSpec<'a> {
    pub seller_id: u64,
    /// `attributes=` of the multiget.
    pub attributes: &'a [&'a str],
    /// `include_attributes=all` (variation SKUs).
    pub include_all_attributes: bool,
    /// User-product stock reads in flight at once (the client paces them).
    pub stock_concurrency: usize,
}

/// A user product's stock read in this run.
#[derive(Debug, Clone)]
pub(super) struct StockRead {
    pub stock: UserProductStock,
    pub reason: ReadReason,
    pub read_at: chrono::DateTime<chrono::Utc>,
}

/// Everything the calls of a run brought back.
#[derive(Debug, Default)]
pub(super) struct Fetched {
    /// Distinct item ids the scan listed.
    pub listed: u64,
    /// Lines of every item the multiget returned.
    pub lines: Vec<Line>,
    /// Items read by the multiget (listed and still there).
    pub items_read: u64,
    /// Listed items the multiget no longer found (404): gone since the scan started.
    pub gone: Vec<String>,
    /// Breakdowns read, by user product.
    pub reads: BTreeMap<String, StockRead>,
    /// Breakdown reads that failed after the client's retries; their lines keep the
    /// multiget's value.
    pub failed_reads: u64,
    /// User products that called for a read beyond the run's budget.
    pub deferred_reads: u64,
}

/// Runs the scan, the multigets and the stock reads, and returns once all three are done.
///
/// # Errors
/// A scan that breaks off or comes back short (the listing is then incomplete), a multiget
/// that fails after retries or answers an error other than 404 for a listed item, and a
/// refused grant anywhere. Failed stock reads are not errors.
pub(super) async fn fetch(
    client: &MeliClient,
    spec: &FetchSpec<'_>,
    selector: ReadSelector<'_>,
    progress: &Progress,
) -> Result<Fetched, Failure> {
    let (page_tx, page_rx) = unbounded::<Vec<String>>();
    let (read_tx, read_rx) = unbounded::<(String, ReadReason)>();
    let bars = Bars {
        listing: progress.phase("listing", None),
        items: progress.phase("items", None),
        stock: progress.phase("stock", Some(0)),
    };

    let listing = scan(client, spec.seller_id, page_tx, &bars);
    let items = read_items(client, spec, page_rx, read_tx, selector, &bars);
    let stock = read_stock(client, spec.stock_concurrency, read_rx, &bars);
    let (listed, items, stock) = tokio::try_join!(listing, items, stock)?;

    bars.listing.finish_and_clear();
    bars.items.finish_and_clear();
    bars.stock.finish_and_clear();
    Ok(Fetched {
        listed,
        lines: items.lines,
        items_read: items.read,
        gone: items.gone,
        reads: stock.reads,
        failed_reads: stock.failed,
        deferred_reads: items.deferred,
    })
}

struct Bars {
    listing: ProgressBar,
    items: ProgressBar,
    stock: ProgressBar,
}

/// Lists every item id with one unfiltered scan (every status) and sends each page's new
/// ids on. Returns how many distinct ids it listed.
async fn scan(
    client: &MeliClient,
    seller_id: u64,
    pages_out: UnboundedSender<Vec<String>>,
    bars: &Bars,
) -> Result<u64, Failure> {
    let mut pages = client.scan_item_ids(seller_id, &[]);
    let mut seen: HashSet<String> = HashSet::new();
    let mut total = None;

    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| incomplete(seller_id, seen.len(), e))?;
        if let Some(t) = page.total {
            total = Some(t);
            bars.listing.set_length(t);
            bars.items.set_length(t);
        }

        let fresh: Vec<String> = page
            .ids
            .into_iter()
            .filter(|id| seen.insert(id.clone()))
            .collect();
        bars.listing.set_position(seen.len() as u64);
        if !fresh.is_empty() && pages_out.unbounded_send(fresh).is_err() {
            // The item reader has stopped, which only happens when it failed; its error
            // is the one reported.
            break;
        }
    }

    let listed = seen.len() as u64;
    if let Some(total) = total {
        if listed < total {
            return Err(Failure::Run(anyhow!(
                "the listing of seller {seller_id} is incomplete: the scan ended after {listed} \
                 distinct items but ML reported {total}; nothing was written (run again; if it \
                 keeps happening, the scan is being cut short by ML)"
            )));
        }
        if listed > total {
            warn!(
                listed,
                total,
                "the scan listed more items than ML reported; items were added during the scan"
            );
        }
    }
    debug!(listed, "listing complete");
    Ok(listed)
}

fn incomplete(seller_id: u64, listed: usize, e: meli_api::Error) -> Failure {
    match api_failure(e) {
        Failure::Run(e) => Failure::Run(e.context(format!(
            "the listing of seller {seller_id} broke off after {listed} items, so it is \
             incomplete; nothing was written"
        ))),
        other => other,
    }
}

struct ItemsRead {
    lines: Vec<Line>,
    read: u64,
    gone: Vec<String>,
    deferred: u64,
}

/// Multigets every page, turns items into lines and chooses stock reads as lines arrive;
/// once the listing is done, adds the reads that needed every line.
async fn read_items(
    client: &MeliClient,
    spec: &FetchSpec<'_>,
    pages_in: UnboundedReceiver<Vec<String>>,
    reads_out: UnboundedSender<(String, ReadReason)>,
    mut selector: ReadSelector<'_>,
    bars: &Bars,
) -> Result<ItemsRead, Failure> {
    let mut out = ItemsRead {
        lines: Vec::new(),
        read: 0,
        gone: Vec::new(),
        deferred: 0,
    };
    let send = |read: (String, ReadReason)| {
        bars.stock.inc_length(1);
        // A closed channel means the stock reader failed; its error is the one reported.
        let _ = reads_out.unbounded_send(read);
    };

    let mut answers = pages_in
        .map(|ids| async move {
            let results = client
                .items(&ids, spec.attributes, spec.include_all_attributes)
                .await;
            (ids.len(), results)
        })
        .buffer_unordered(PAGES_IN_FLIGHT);

    while let Some((asked, results)) = answers.next().await {
        let results = results.map_err(|e| match api_failure(e) {
            Failure::Run(e) => Failure::Run(e.context(
                "reading the listed items failed, so the run cannot know their stock; nothing \
                 was written",
            )),
            other => other,
        })?;
        for result in results {
            match result.outcome {
                Ok(item) => {
                    out.read += 1;
                    for line in lines_of(&item) {
                        if let Some(read) = selector.consider(&line) {
                            send(read);
                        }
                        out.lines.push(line);
                    }
                }
                Err(e) if e.code == 404 => {
                    warn!(
                        item_id = %result.id,
                        "listed item is gone; its product is treated as removed"
                    );
                    out.gone.push(result.id);
                }
                Err(e) => {
                    return Err(Failure::Run(anyhow!(
                        "ML answered {} for listed item {} ({}); nothing was written",
                        e.code,
                        result.id,
                        e.message
                            .or(e.error)
                            .unwrap_or_else(|| "no message".to_owned())
                    )));
                }
            }
        }
        bars.items.inc(asked as u64);
    }

    for read in selector.finish(&out.lines) {
        send(read);
    }
    out.deferred = selector.deferred() as u64;
    // The lines live until the write; growth by doubling can leave up to half the buffer
    // unused (a quarter of it at 100,000 lines).
    out.lines.shrink_to_fit();
    Ok(out)
}

struct StockReads {
    reads: BTreeMap<String, StockRead>,
    failed: u64,
}

/// Reads the chosen user products' stock as they come in. `stock-locations not found` is a
/// user product holding nothing; other failures keep the multiget's value and are counted.
async fn read_stock(
    client: &MeliClient,
    concurrency: usize,
    reads_in: UnboundedReceiver<(String, ReadReason)>,
    bars: &Bars,
) -> Result<StockReads, Failure> {
    let mut out = StockReads {
        reads: BTreeMap::new(),
        failed: 0,
    };
    let mut answers = reads_in
        .map(|(up, reason)| async move {
            let result = client.user_product_stock(&up).await;
            (up, reason, chrono::Utc::now(), result)
        })
        .buffer_unordered(concurrency.max(1));

    while let Some((up, reason, read_at, result)) = answers.next().await {
        bars.stock.inc(1);
        let stock = match result {
            Ok(stock) => stock,
            Err(meli_api::Error::NotFound { .. }) => UserProductStock::empty(&up),
            Err(e) if e.is_reauth_required() => return Err(api_failure(e)),
            Err(e) => {
                out.failed += 1;
                warn!(
                    user_product_id = %up,
                    error = %e,
                    "stock read failed; the listing's quantity is used"
                );
                continue;
            }
        };
        out.reads.insert(
            up,
            StockRead {
                stock,
                reason,
                read_at,
            },
        );
    }
    Ok(out)
}
