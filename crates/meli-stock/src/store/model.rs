//! Plain data carried in and out of the store: run records, the write set of one sync run,
//! the state a run starts from and the reports the store hands back.
//!
//! These types hold no database handles, so the sync code and the CLI can build and read
//! them without knowing which backend is behind the [`Store`](super::Store).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::StoreError;

/// Identifier of one row in the `runs` table; every stock change and item-map row points
/// back to the run that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    /// The number, honouring width and alignment (the `runs` table pads it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// How a run ended; `Running` is what a run that never finished (a crash) still shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    Running,
    Success,
    Failed,
}

impl RunOutcome {
    /// The value stored in the `outcome` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Success => "success",
            RunOutcome::Failed => "failed",
        }
    }
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for RunOutcome {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "running" => Ok(RunOutcome::Running),
            "success" => Ok(RunOutcome::Success),
            "failed" => Ok(RunOutcome::Failed),
            other => Err(format!("unknown run outcome {other:?}")),
        }
    }
}

/// One sync run as recorded in `runs`: what it saw, what it wrote and how it ended.
/// Serialized as-is for `--json` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    pub id: RunId,
    pub seller_id: u64,
    pub started_at: DateTime<Utc>,
    /// Set by `finish_run`; `None` while the run is still going (or crashed).
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: RunOutcome,
    pub dry_run: bool,
    /// Whether the scan reached its final page, so absent items can be trusted as gone.
    pub listing_complete: bool,
    pub items_listed: u64,
    pub items_read: u64,
    pub user_products_read: u64,
    pub rows_written: u64,
    pub rows_changed: u64,
    pub rows_zeroed: u64,
    pub unmatched: u64,
    pub disagreements: u64,
    /// API calls by endpoint label (`items`, `user_product_stock`, ...).
    pub api_calls: BTreeMap<String, u64>,
    pub retries: u64,
    pub rate_limited: u64,
    /// Error text of a failed run; never holds secrets (callers pass display text of errors
    /// that redact tokens).
    pub error: Option<String>,
}

impl RunRecord {
    /// A record in the state `start_run` leaves behind, for the caller to fill in and hand
    /// to `finish_run`.
    pub fn started(id: RunId, seller_id: u64, started_at: DateTime<Utc>, dry_run: bool) -> Self {
        RunRecord {
            id,
            seller_id,
            started_at,
            finished_at: None,
            outcome: RunOutcome::Running,
            dry_run,
            listing_complete: false,
            items_listed: 0,
            items_read: 0,
            user_products_read: 0,
            rows_written: 0,
            rows_changed: 0,
            rows_zeroed: 0,
            unmatched: 0,
            disagreements: 0,
            api_calls: BTreeMap::new(),
            retries: 0,
            rate_limited: 0,
            error: None,
        }
    }
}

/// One product's desired quantity in the ML warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredStock {
    /// The seller's `products.id`, as text (cast back to the column's type in SQL).
    pub product_id: String,
    pub quantity: i64,
    /// The ML item the quantity comes from, kept in the stock-change ledger.
    pub item_id: String,
}

/// How one ML item (or one of its variations) maps to a user product and a seller product.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ItemMapRow {
    pub item_id: String,
    /// 0 for an item without variations.
    pub variation_id: u64,
    pub user_product_id: Option<String>,
    pub status: String,
    /// ML's `sub_status` array; stored comma-joined (ML's values hold no commas).
    pub sub_status: Vec<String>,
    pub available_quantity: Option<i64>,
    pub inventory_id: Option<String>,
    pub seller_sku: Option<String>,
    /// The value matched against the configured products column (item id or SKU).
    pub product_key: Option<String>,
    /// The matched `products.id` as text; `None` when unmatched.
    pub product_id: Option<String>,
}

/// Key of the item map: (item id, variation id or 0).
pub type ItemKey = (String, u64);

/// One location of a user product's stock as read from `/user-products/{id}/stock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocationStock {
    /// ML's location `type`: `selling_address`, `meli_facility` or `seller_warehouse`.
    pub kind: String,
    pub store_id: Option<String>,
    pub network_node_id: Option<String>,
    pub quantity: i64,
}

impl LocationStock {
    /// The key that makes a location unique within its user product: the type, plus the
    /// store and node for multi-origin warehouses.
    pub fn location_key(&self) -> String {
        let mut key = self.kind.clone();
        for part in [&self.store_id, &self.network_node_id]
            .into_iter()
            .flatten()
        {
            key.push(':');
            key.push_str(part);
        }
        key
    }
}

/// A user product whose stock was read in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserProductRead {
    pub user_product_id: String,
    /// The item's `available_quantity` when the stock was read; a later run compares it to
    /// decide whether the user product needs reading again.
    pub item_quantity_at_read: Option<i64>,
    /// ML's `x-version` header.
    pub version: Option<i64>,
    pub read_at: DateTime<Utc>,
    pub locations: Vec<LocationStock>,
}

impl UserProductRead {
    /// Sum over every location, which is what ML sells from.
    pub fn total(&self) -> i64 {
        self.locations.iter().map(|l| l.quantity).sum()
    }
}

/// An ML item (or variation) no seller product matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedRow {
    pub item_id: String,
    pub variation_id: u64,
    /// The value looked up in the products table, when the item had one.
    pub match_key: Option<String>,
    pub status: String,
    pub available_quantity: Option<i64>,
}

/// An unmatched item as reported by `meli-stock report unmatched`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedItem {
    #[serde(flatten)]
    pub row: UnmatchedRow,
    /// First run time at which the item was seen unmatched (kept across runs).
    pub first_seen: DateTime<Utc>,
    pub last_seen_run: RunId,
}

/// Everything one sync run writes, applied in one transaction by `Store::apply`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSet {
    pub run_id: RunId,
    pub seller_id: u64,
    /// Written to `warehouse_stock.last_updated` on every desired row.
    pub run_at: DateTime<Utc>,
    /// Written to `warehouse_stock.updated_by`.
    pub updated_by: String,
    /// Rows to upsert into the ML warehouse; each product at most once.
    pub desired: Vec<DesiredStock>,
    /// Item-map rows that are new or changed since the previous run; rows not named here or
    /// in `item_map_removed` are left as they are.
    pub item_map: Vec<ItemMapRow>,
    /// Item-map rows of listings (or variations) that are gone.
    pub item_map_removed: Vec<ItemKey>,
    /// User products read in this run; their location rows are replaced.
    pub user_products: Vec<UserProductRead>,
    /// The seller's complete list of unmatched items: rows missing here are deleted.
    pub unmatched: Vec<UnmatchedRow>,
}

impl WriteSet {
    /// Rejects input the database would refuse halfway (a product or item twice), before
    /// anything is written.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        let mut products = HashSet::with_capacity(self.desired.len());
        for row in &self.desired {
            if !products.insert(row.product_id.as_str()) {
                return Err(StoreError::InvalidInput(format!(
                    "product {} appears twice in the desired stock (items sharing a product \
                     must be merged first)",
                    row.product_id
                )));
            }
        }

        let mut items = HashSet::with_capacity(self.item_map.len());
        for row in &self.item_map {
            if !items.insert((row.item_id.as_str(), row.variation_id)) {
                return Err(StoreError::InvalidInput(format!(
                    "item {} variation {} appears twice in the item map",
                    row.item_id, row.variation_id
                )));
            }
        }

        for (item_id, variation_id) in &self.item_map_removed {
            if items.contains(&(item_id.as_str(), *variation_id)) {
                return Err(StoreError::InvalidInput(format!(
                    "item {item_id} variation {variation_id} is both written and removed"
                )));
            }
        }

        let mut unmatched = HashSet::with_capacity(self.unmatched.len());
        for row in &self.unmatched {
            if !unmatched.insert((row.item_id.as_str(), row.variation_id)) {
                return Err(StoreError::InvalidInput(format!(
                    "item {} variation {} appears twice in the unmatched items",
                    row.item_id, row.variation_id
                )));
            }
        }

        let mut ups = HashSet::with_capacity(self.user_products.len());
        for up in &self.user_products {
            if !ups.insert(up.user_product_id.as_str()) {
                return Err(StoreError::InvalidInput(format!(
                    "user product {} appears twice",
                    up.user_product_id
                )));
            }
            let mut keys = HashSet::new();
            for location in &up.locations {
                if !keys.insert(location.location_key()) {
                    return Err(StoreError::InvalidInput(format!(
                        "user product {} lists location {} twice",
                        up.user_product_id,
                        location.location_key()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// What `apply` did to the seller's `warehouse_stock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteReport {
    /// The ML warehouse id, as text.
    pub warehouse_id: String,
    /// Whether `apply` had to insert the ML warehouse row.
    pub warehouse_created: bool,
    /// Rows inserted or updated (every desired row).
    pub rows_written: u64,
    /// Rows whose quantity differs from before, new rows included; one ledger row each.
    pub rows_changed: u64,
    /// Changed rows that went from a non-zero quantity to 0.
    pub rows_zeroed: u64,
}

/// What the previous run of a user product left behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserProductState {
    pub total: i64,
    pub item_quantity_at_read: Option<i64>,
    pub version: Option<i64>,
    pub read_at: DateTime<Utc>,
}

/// The state a sync run starts from: the previous item map and user-product reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    pub items: HashMap<ItemKey, ItemMapRow>,
    pub user_products: HashMap<String, UserProductState>,
    /// Products (ids as text) that other sellers' listings matched in their latest runs:
    /// their rows of the shared ML warehouse are not this seller's to zero.
    pub claimed_by_others: HashSet<String>,
}

/// What `init_inventory` created; tables that already existed were left untouched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InitReport {
    /// Qualified names of the tables this call created.
    pub created_tables: Vec<String>,
    /// Qualified names of the tables that already existed (not altered).
    pub existing_tables: Vec<String>,
    /// Whether the ML warehouse row was inserted.
    pub warehouse_created: bool,
    /// Notes for the operator, e.g. a foreign key left out because its target pre-existed.
    pub notes: Vec<String>,
}

impl fmt::Display for InitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for table in &self.created_tables {
            writeln!(f, "created table {table}")?;
        }
        for table in &self.existing_tables {
            writeln!(f, "kept existing table {table} as it is")?;
        }
        if self.warehouse_created {
            writeln!(f, "inserted the Mercado Libre warehouse row")?;
        } else {
            writeln!(f, "the Mercado Libre warehouse row already existed")?;
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        Ok(())
    }
}

/// One row of the ML warehouse as `Store::ml_stock_sample` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockSample {
    pub product_id: String,
    /// The product's match key (item id or SKU); `None` when the product row is gone.
    pub match_key: Option<String>,
    pub quantity: i64,
    /// `last_updated` as the database prints it.
    pub last_updated: Option<String>,
    pub updated_by: Option<String>,
}

/// What the monitoring query reports: the newest write to the ML warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Freshness {
    /// The ML warehouse's name.
    pub warehouse: String,
    /// The newest `last_updated`, as the database prints it.
    pub last_updated: Option<String>,
    pub updated_by: Option<String>,
    /// Rows written with that `last_updated`.
    pub rows: i64,
}
