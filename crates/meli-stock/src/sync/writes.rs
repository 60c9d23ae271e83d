//! What a run writes, in the store's terms: the desired rows of the ML warehouse (with the
//! listing each comes from, for the ledger), the item map, the breakdowns read and the
//! unmatched listings.

use std::collections::HashMap;

use super::fetch::Fetched;
use super::plan::Plan;
use crate::store::{
    DesiredStock, ItemMapRow, LocationStock, RunRecord, SyncState, UnmatchedRow, UserProductRead,
    WriteSet,
};

/// Everything the run writes, in the store's terms.
pub(super) fn write_set(
    record: &RunRecord,
    updated_by: &str,
    plan: &Plan,
    fetched: &Fetched,
    state: &SyncState,
) -> WriteSet {
    // A product whose listing is gone keeps the item it last came from in the ledger.
    let mut last_item: HashMap<&str, &str> = HashMap::new();
    for row in state.items.values() {
        if let Some(product) = row.product_id.as_deref() {
            last_item.entry(product).or_insert(row.item_id.as_str());
        }
    }
    let desired = plan
        .desired
        .iter()
        .map(|(product_id, quantity)| {
            let item_id = plan
                .product_items
                .get(product_id)
                .map(String::as_str)
                .or_else(|| last_item.get(product_id.as_str()).copied())
                .unwrap_or_default();
            DesiredStock {
                product_id: product_id.clone(),
                quantity: *quantity,
                item_id: item_id.to_owned(),
            }
        })
        .collect();

    WriteSet {
        run_id: record.id,
        seller_id: record.seller_id,
        run_at: record.started_at,
        updated_by: updated_by.to_owned(),
        desired,
        item_map: item_map_rows(plan, fetched),
        user_products: user_product_reads(fetched),
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

fn item_map_rows(plan: &Plan, fetched: &Fetched) -> Vec<ItemMapRow> {
    fetched
        .lines
        .iter()
        .map(|line| {
            let key = (line.item_id.clone(), line.variation_id);
            let (match_key, product_id) = plan.line_products.get(&key).cloned().unwrap_or_default();
            ItemMapRow {
                item_id: line.item_id.clone(),
                variation_id: line.variation_id.unwrap_or(0),
                user_product_id: line.user_product_id().map(str::to_owned),
                status: line.status.clone(),
                sub_status: line.sub_status.clone(),
                available_quantity: Some(line.reported),
                inventory_id: line.inventory_id.clone(),
                seller_sku: line.seller_sku.clone(),
                product_key: Some(match_key).filter(|k| !k.is_empty()),
                product_id,
            }
        })
        .collect()
}

fn user_product_reads(fetched: &Fetched) -> Vec<UserProductRead> {
    let mut reported: HashMap<&str, i64> = HashMap::new();
    for line in &fetched.lines {
        if let Some(up) = line.user_product_id() {
            let slot = reported.entry(up).or_insert(line.reported);
            *slot = (*slot).max(line.reported);
        }
    }

    fetched
        .reads
        .iter()
        .map(|(up, read)| UserProductRead {
            user_product_id: up.clone(),
            item_quantity_at_read: reported.get(up.as_str()).copied(),
            version: read.stock.version,
            read_at: read.read_at,
            locations: merged_locations(&read.stock),
        })
        .collect()
}

/// The locations of one read, one entry per location key (ML lists each once; a repeat
/// would be summed rather than refused).
fn merged_locations(stock: &meli_api::UserProductStock) -> Vec<LocationStock> {
    let mut out: Vec<LocationStock> = Vec::with_capacity(stock.locations.len());
    for location in &stock.locations {
        let entry = LocationStock {
            kind: location.kind.clone(),
            store_id: location.store_id.clone(),
            network_node_id: location.network_node_id.clone(),
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
