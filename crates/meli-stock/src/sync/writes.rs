//! What a run writes, in the store's terms: the desired rows of the ML warehouse (with the
//! listing each comes from, for the ledger), the item map, the breakdowns read and the
//! unmatched listings.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

use super::fetch::{Fetched, StockRead};
use super::plan::{Line, Plan, Unit, match_key};
use super::select::PriorKey;
use crate::store::{
    DesiredStock, ItemMapRow, LocationStock, RunRecord, SyncState, UnmatchedRow, UserProductRead,
    WriteSet,
};

/// What a run keeps of the previous item map to write only its delta: a hash of every row
/// (far smaller than the rows), and the listing each product last came from.
#[derive(Debug, Default)]
pub(super) struct PriorItems {
    hasher: RandomState,
    rows: HashMap<PriorKey, u64>,
    /// Product id -> the item it was last matched by, for the ledger of a product whose
    /// listing is gone.
    last_item: HashMap<String, String>,
}

impl PriorItems {
    /// The summary of `state`'s item map.
    pub(super) fn of(state: &SyncState) -> Self {
        let hasher = RandomState::new();
        let rows = state
            .items
            .iter()
            .map(|(key, row)| (key.clone(), hasher.hash_one(row)))
            .collect();
        let mut last_item = HashMap::new();
        for row in state.items.values() {
            if let Some(product) = &row.product_id {
                last_item
                    .entry(product.clone())
                    .or_insert_with(|| row.item_id.clone());
            }
        }
        Self {
            hasher,
            rows,
            last_item,
        }
    }

    /// Whether `row` is new or differs from the stored one.
    fn changed(&self, row: &ItemMapRow) -> bool {
        let key = (row.item_id.clone(), row.variation_id);
        self.rows.get(&key) != Some(&self.hasher.hash_one(row))
    }
}

/// Everything the run writes, in the store's terms.
pub(super) fn write_set(
    record: &RunRecord,
    updated_by: &str,
    plan: &Plan,
    fetched: Fetched,
    prior: &PriorItems,
) -> WriteSet {
    let desired = plan
        .desired
        .iter()
        .map(|(product_id, quantity)| {
            let item_id = plan
                .product_items
                .get(product_id)
                .map(String::as_str)
                .or_else(|| prior.last_item.get(product_id).map(String::as_str))
                .unwrap_or_default();
            DesiredStock {
                product_id: product_id.clone(),
                quantity: *quantity,
                item_id: item_id.to_owned(),
            }
        })
        .collect();

    let item_map_removed = removed_items(&fetched, prior);
    let user_products = user_product_reads(&fetched.lines, fetched.reads);
    let item_map = item_map_rows(plan, fetched.lines)
        .into_iter()
        .filter(|row| prior.changed(row))
        .collect();
    WriteSet {
        run_id: record.id,
        seller_id: record.seller_id,
        run_at: record.started_at,
        updated_by: updated_by.to_owned(),
        desired,
        item_map,
        item_map_removed,
        user_products,
        unmatched: plan
            .unmatched
            .iter()
            .map(|u| UnmatchedRow {
                item_id: u.item_id.clone(),
                variation_id: u.variation_id.unwrap_or(0),
                match_key: Some(u.match_key.clone()).filter(|k| !k.is_empty()),
                status: u.status.clone(),
                available_quantity: Some(u.quantity),
            })
            .collect(),
    }
}

/// Keys of the previous item map that no line of this run has.
fn removed_items(fetched: &Fetched, prior: &PriorItems) -> Vec<PriorKey> {
    let current: HashSet<PriorKey> = fetched.lines.iter().map(|l| l.prior_key()).collect();
    let mut removed: Vec<PriorKey> = prior
        .rows
        .keys()
        .filter(|key| !current.contains(*key))
        .cloned()
        .collect();
    removed.sort();
    removed
}

fn item_map_rows(plan: &Plan, lines: Vec<Line>) -> Vec<ItemMapRow> {
    lines
        .into_iter()
        .zip(plan.line_products.iter())
        .map(|(line, product_id)| {
            let product_key = match_key(&line, plan.mode);
            let user_product_id = match line.unit {
                Unit::UserProduct(id) => Some(id),
                Unit::Line { .. } => None,
            };
            ItemMapRow {
                item_id: line.item_id,
                variation_id: line.variation_id.unwrap_or(0),
                user_product_id,
                status: line.status,
                sub_status: line.sub_status,
                available_quantity: Some(line.reported),
                inventory_id: line.inventory_id,
                seller_sku: line.seller_sku,
                product_key,
                product_id: product_id.clone(),
            }
        })
        .collect()
}

fn user_product_reads(lines: &[Line], reads: BTreeMap<String, StockRead>) -> Vec<UserProductRead> {
    let mut reported: HashMap<&str, i64> = HashMap::new();
    for line in lines {
        if let Some(up) = line.user_product_id() {
            let slot = reported.entry(up).or_insert(line.reported);
            *slot = (*slot).max(line.reported);
        }
    }

    reads
        .into_iter()
        .map(|(up, read)| UserProductRead {
            item_quantity_at_read: reported.get(up.as_str()).copied(),
            user_product_id: up,
            version: read.stock.version,
            read_at: read.read_at,
            locations: merged_locations(read.stock.locations),
        })
        .collect()
}

/// The locations of one read, one entry per location key (ML lists each once; a repeat
/// would be summed rather than refused).
fn merged_locations(locations: Vec<meli_api::StockLocation>) -> Vec<LocationStock> {
    let mut out: Vec<LocationStock> = Vec::with_capacity(locations.len());
    for location in locations {
        let entry = LocationStock {
            kind: location.kind,
            store_id: location.store_id,
            network_node_id: location.network_node_id,
            quantity: location.quantity,
        };
        match out
            .iter_mut()
            .find(|l| l.location_key() == entry.location_key())
        {
            Some(existing) => existing.quantity += entry.quantity,
            None => out.push(entry),
        }
    }
    out
}
