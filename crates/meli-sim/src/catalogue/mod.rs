//! The seller's catalogue as ML holds it: listings (items), user products (UPs) that own the
//! stock, Full inventories and multi-origin stores, plus the search index over listings.
//!
//! Model (doc §4.1, §4.2):
//! - Stock belongs to the UP as a list of locations (`selling_address`, `meli_facility`,
//!   `seller_warehouse` per store) [D:dist]. An item's `available_quantity` is the sum of its
//!   UP's locations [R:crm]\[A\]; with variations each variation reads its own UP and the item
//!   shows the sum over variations \[A\]. Legacy listings without any UP keep their own number.
//! - Several items may share one UP (classic + premium) [D:up]; several items may share one
//!   Full inventory [R:crm]. The Full `available_quantity` equals the UP's `meli_facility`
//!   quantity \[A\].
//! - `available_quantity`, `status` and `sub_status` are stored as ML shows them and
//!   recomputed by [`World::refresh`] after each stock change; a change made through
//!   `PUT /items` reaches the other items of the UP only when its scheduled refresh is due,
//!   which models the asynchronous copy of doc §4.1.

mod index;
mod lifecycle;
mod render;
mod snapshot;
mod stock;
mod writes;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use chrono::{DateTime, Utc};

pub(crate) use index::{SearchIndex, SearchQuery, SortOrder};
pub(crate) use render::{store_json, timestamp, trim};
pub use snapshot::{Catalogue, CatalogueListing, CatalogueStore, CatalogueVariation};
pub use stock::StockError;
pub use writes::ITEM_WRITE_WINDOW;
pub(crate) use writes::{ItemStockWrite, WarehouseWrite};

/// The listing kinds the scenario generator mixes (see the crate docs for proportions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingKind {
    /// One UP with a `selling_address` location.
    Plain,
    /// Full only: `meli_facility` plus an `inventory_id`.
    Full,
    /// Full plus the seller's own origin (Full + Flex): `meli_facility` + `selling_address`.
    FullAndOwn,
    /// Multi-origin: one `seller_warehouse` per store, sometimes `meli_facility` too.
    MultiOrigin,
    /// The classic listing of a UP shared with a premium one.
    SharedClassic,
    /// The premium listing of a UP shared with a classic one.
    SharedPremium,
    /// No item UP; every variation carries its own UP and SELLER_SKU.
    LegacyVariations,
    /// No UP at all; the item keeps its own `available_quantity`.
    LegacyNoUp,
    /// Stock 0: paused with `sub_status ["out_of_stock"]`.
    SoldOut,
    /// Stock above 0 but paused by the seller; restocks do not reactivate it.
    PausedBySeller,
    /// Closed listing (still returned by an unfiltered search).
    Closed,
    /// A listing of another seller, used to exercise 403 answers.
    Foreign,
}

/// Where a UP holds units (doc §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocationType {
    SellingAddress,
    MeliFacility,
    SellerWarehouse,
}

impl LocationType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::SellingAddress => "selling_address",
            Self::MeliFacility => "meli_facility",
            Self::SellerWarehouse => "seller_warehouse",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Location {
    pub(crate) kind: LocationType,
    pub(crate) quantity: i64,
    pub(crate) store_id: Option<String>,
    pub(crate) network_node_id: Option<String>,
}

/// A user product: owner of the stock of every item that points at it.
#[derive(Debug, Clone)]
pub(crate) struct UserProduct {
    pub(crate) id: String,
    pub(crate) user_id: u64,
    pub(crate) locations: Vec<Location>,
    /// The `x-version` header value; incremented on every stock write.
    pub(crate) version: i64,
    /// Listings that read this UP (item-level or through a variation).
    pub(crate) listings: Vec<u64>,
}

impl UserProduct {
    pub(crate) fn total(&self) -> i64 {
        self.locations.iter().map(|l| l.quantity).sum()
    }

    pub(crate) fn quantity_of(&self, kind: LocationType) -> Option<i64> {
        let mut found = self.locations.iter().filter(|l| l.kind == kind).peekable();
        found.peek()?;
        Some(found.map(|l| l.quantity).sum())
    }

    pub(crate) fn has(&self, kind: LocationType) -> bool {
        self.locations.iter().any(|l| l.kind == kind)
    }
}

/// A Full inventory. Its sellable units are the `meli_facility` quantity of its UP.
#[derive(Debug, Clone)]
pub(crate) struct Inventory {
    pub(crate) id: String,
    pub(crate) user_product_id: String,
    /// `(status, quantity)` of units in Full that cannot be sold (doc §5).
    pub(crate) not_available: Vec<(String, i64)>,
}

/// A seller store usable as a multi-origin stock location (doc §4.4).
#[derive(Debug, Clone)]
pub(crate) struct StoreInfo {
    pub(crate) id: String,
    pub(crate) user_id: u64,
    pub(crate) description: String,
    pub(crate) network_node_id: String,
    pub(crate) stock_location: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Variation {
    pub(crate) id: u64,
    pub(crate) combination: (String, String),
    pub(crate) user_product_id: Option<String>,
    pub(crate) inventory_id: Option<String>,
    pub(crate) seller_sku: Option<String>,
    pub(crate) seller_custom_field: Option<String>,
    /// Stock of a variation without a UP.
    pub(crate) own_quantity: i64,
    /// What ML currently shows.
    pub(crate) available_quantity: i64,
    pub(crate) sold_quantity: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Listing {
    pub(crate) key: u64,
    pub(crate) id: String,
    pub(crate) kind: ListingKind,
    pub(crate) seller_id: u64,
    pub(crate) title: String,
    pub(crate) category_id: String,
    pub(crate) price: i64,
    pub(crate) listing_type_id: String,
    pub(crate) condition: String,
    pub(crate) user_product_id: Option<String>,
    pub(crate) family_name: Option<String>,
    pub(crate) inventory_id: Option<String>,
    pub(crate) seller_custom_field: Option<String>,
    pub(crate) seller_sku: Option<String>,
    pub(crate) logistic_type: String,
    pub(crate) shipping_tags: Vec<String>,
    /// Stock of a listing without any UP.
    pub(crate) own_quantity: i64,
    /// What ML currently shows (may lag the UP while a propagation is pending).
    pub(crate) available_quantity: i64,
    pub(crate) sold_quantity: i64,
    pub(crate) variations: Vec<Variation>,
    pub(crate) paused_by_seller: bool,
    pub(crate) closed: bool,
    pub(crate) deleted: bool,
    pub(crate) status: &'static str,
    pub(crate) sub_status: Vec<&'static str>,
    pub(crate) date_created: DateTime<Utc>,
    pub(crate) start_time: DateTime<Utc>,
    pub(crate) stop_time: DateTime<Utc>,
    pub(crate) last_updated: DateTime<Utc>,
    /// Time of the last accepted `PUT /items`, for the optimistic-locking window.
    pub(crate) last_write: Option<DateTime<Utc>>,
}

impl Listing {
    /// Every UP this listing reads, item-level first, without repeats.
    pub(crate) fn user_product_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        let all = self.user_product_id.iter().chain(
            self.variations
                .iter()
                .filter_map(|v| v.user_product_id.as_ref()),
        );
        for id in all {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids
    }

    /// Auto-pause applies only to new, non-free listings (doc §2.2).
    pub(crate) fn auto_pauses(&self) -> bool {
        self.condition == "new" && self.listing_type_id != "free"
    }
}

/// Everything the simulated account holds, behind one lock in [`crate::state::Sim`].
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) site: String,
    pub(crate) seller_id: u64,
    pub(crate) listings: BTreeMap<u64, Listing>,
    pub(crate) user_products: HashMap<String, UserProduct>,
    pub(crate) inventories: HashMap<String, Inventory>,
    pub(crate) stores: BTreeMap<String, StoreInfo>,
    pub(crate) index: SearchIndex,
    pending: BinaryHeap<Reverse<(DateTime<Utc>, u64, u64)>>,
    next_pending: u64,
}

impl World {
    pub(crate) fn new(site: String, seller_id: u64) -> Self {
        Self {
            site,
            seller_id,
            listings: BTreeMap::new(),
            user_products: HashMap::new(),
            inventories: HashMap::new(),
            stores: BTreeMap::new(),
            index: SearchIndex::default(),
            pending: BinaryHeap::new(),
            next_pending: 0,
        }
    }

    /// The numeric key of an item id of this site (`MLC123` -> 123), if well formed.
    pub(crate) fn key_of(&self, item_id: &str) -> Option<u64> {
        let digits = item_id.strip_prefix(self.site.as_str())?;
        let key: u64 = digits.parse().ok()?;
        (key.to_string() == digits).then_some(key)
    }

    /// The listing behind `item_id` unless it does not exist or was deleted.
    pub(crate) fn listing(&self, item_id: &str) -> Option<&Listing> {
        let key = self.key_of(item_id)?;
        self.listings.get(&key).filter(|l| !l.deleted)
    }

    /// Adds a generated listing and registers it with its UPs and the index.
    pub(crate) fn insert_listing(&mut self, listing: Listing) {
        let key = listing.key;
        for up_id in listing.user_product_ids() {
            if let Some(up) = self.user_products.get_mut(&up_id) {
                up.listings.push(key);
            }
        }
        self.listings.insert(key, listing);
        self.refresh(key, None);
    }

    /// Schedules a refresh of `key` at `due` (models ML's asynchronous copy).
    pub(crate) fn schedule(&mut self, key: u64, due: DateTime<Utc>) {
        self.next_pending += 1;
        self.pending.push(Reverse((due, self.next_pending, key)));
    }

    /// Runs every scheduled refresh that is due at `now`.
    pub(crate) fn apply_due(&mut self, now: DateTime<Utc>) {
        while let Some(Reverse((due, _, key))) = self.pending.peek().cloned() {
            if due > now {
                break;
            }
            self.pending.pop();
            self.refresh(key, Some(now));
        }
    }
}
