//! Search index over the seller's listings: filter sets and sorted orders, kept up to date
//! on every refresh so `items/search` pages without scanning the whole catalogue.
//!
//! A query picks its smallest filter set, checks the other filters per listing, and pages
//! either in id order or along a sorted order index. `paging.total` with two or more
//! filters is counted over the smallest set. Known limitation: a query combining several
//! broad filters (e.g. `status=active&logistic_type=cross_docking`) walks its smallest
//! set, which can be most of the catalogue.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use super::Listing;

/// Index-relevant fields of one listing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IndexEntry {
    status: &'static str,
    seller_skus: Vec<String>,
    custom_fields: Vec<String>,
    user_products: Vec<String>,
    logistic_type: String,
    quantity: i64,
    updated: i64,
    stop: i64,
    start: i64,
    price: i64,
    inventory_id: Option<String>,
}

impl IndexEntry {
    pub(crate) fn of(listing: &Listing) -> Self {
        let mut seller_skus: Vec<String> = listing.seller_sku.iter().cloned().collect();
        seller_skus.extend(
            listing
                .variations
                .iter()
                .filter_map(|v| v.seller_sku.clone()),
        );
        let mut custom_fields: Vec<String> = listing.seller_custom_field.iter().cloned().collect();
        custom_fields.extend(
            listing
                .variations
                .iter()
                .filter_map(|v| v.seller_custom_field.clone()),
        );

        Self {
            status: listing.status,
            seller_skus,
            custom_fields,
            user_products: listing.user_product_ids(),
            logistic_type: listing.logistic_type.clone(),
            quantity: listing.available_quantity,
            updated: listing.last_updated.timestamp_millis(),
            stop: listing.stop_time.timestamp(),
            start: listing.start_time.timestamp(),
            price: listing.price,
            inventory_id: listing.inventory_id.clone(),
        }
    }
}

/// Sortable fields of `orders=` (doc §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortField {
    StopTime,
    StartTime,
    AvailableQuantity,
    Price,
    LastUpdated,
    InventoryId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SortOrder {
    pub(crate) field: SortField,
    pub(crate) descending: bool,
}

impl SortOrder {
    /// Parses an `orders=` value such as `stop_time_asc` or `inventory_id_asc`.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        if value == "inventory_id_asc" {
            return Some(Self {
                field: SortField::InventoryId,
                descending: false,
            });
        }
        let (field, descending) = if let Some(f) = value.strip_suffix("_asc") {
            (f, false)
        } else {
            (value.strip_suffix("_desc")?, true)
        };
        let field = match field {
            "stop_time" => SortField::StopTime,
            "start_time" => SortField::StartTime,
            "available_quantity" => SortField::AvailableQuantity,
            "price" => SortField::Price,
            "last_updated" => SortField::LastUpdated,
            _ => return None,
        };
        Some(Self { field, descending })
    }
}

/// The filters and order of one search.
#[derive(Debug, Clone, Default)]
pub(crate) struct SearchQuery {
    pub(crate) statuses: Option<Vec<String>>,
    pub(crate) seller_sku: Option<String>,
    pub(crate) sku: Option<String>,
    pub(crate) user_products: Option<Vec<String>>,
    pub(crate) without_stock: bool,
    pub(crate) logistic_type: Option<String>,
    pub(crate) order: Option<SortOrder>,
}

impl SearchQuery {
    fn matches(&self, e: &IndexEntry) -> bool {
        self.statuses
            .as_ref()
            .is_none_or(|s| s.iter().any(|s| s == e.status))
            && self
                .seller_sku
                .as_ref()
                .is_none_or(|s| e.seller_skus.contains(s))
            && self
                .sku
                .as_ref()
                .is_none_or(|s| e.custom_fields.contains(s))
            && self
                .user_products
                .as_ref()
                .is_none_or(|ups| ups.iter().any(|u| e.user_products.contains(u)))
            && (!self.without_stock || e.quantity <= 0)
            && self
                .logistic_type
                .as_ref()
                .is_none_or(|l| *l == e.logistic_type)
    }
}

type Sorted = BTreeSet<(i64, u64)>;

/// Sets and orders over the searchable (own, not deleted) listings.
#[derive(Debug, Default)]
pub(crate) struct SearchIndex {
    entries: HashMap<u64, IndexEntry>,
    all: BTreeSet<u64>,
    by_status: HashMap<&'static str, BTreeSet<u64>>,
    without_stock: BTreeSet<u64>,
    by_seller_sku: HashMap<String, BTreeSet<u64>>,
    by_sku: HashMap<String, BTreeSet<u64>>,
    by_user_product: HashMap<String, BTreeSet<u64>>,
    by_logistic: HashMap<String, BTreeSet<u64>>,
    by_quantity: Sorted,
    by_updated: Sorted,
    by_stop: Sorted,
    by_start: Sorted,
    by_price: Sorted,
    by_inventory: BTreeSet<(bool, String, u64)>,
}

fn add<K: std::hash::Hash + Eq>(map: &mut HashMap<K, BTreeSet<u64>>, k: K, key: u64) {
    map.entry(k).or_default().insert(key);
}

fn drop_from<K, Q>(map: &mut HashMap<K, BTreeSet<u64>>, k: &Q, key: u64)
where
    K: std::hash::Hash + Eq + std::borrow::Borrow<Q>,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(set) = map.get_mut(k) {
        set.remove(&key);
        if set.is_empty() {
            map.remove(k);
        }
    }
}

impl SearchIndex {
    pub(crate) fn upsert(&mut self, key: u64, entry: IndexEntry) {
        if self.entries.get(&key) == Some(&entry) {
            return;
        }
        self.remove(key);

        self.all.insert(key);
        add(&mut self.by_status, entry.status, key);
        if entry.quantity <= 0 {
            self.without_stock.insert(key);
        }
        for sku in &entry.seller_skus {
            add(&mut self.by_seller_sku, sku.clone(), key);
        }
        for sku in &entry.custom_fields {
            add(&mut self.by_sku, sku.clone(), key);
        }
        for up in &entry.user_products {
            add(&mut self.by_user_product, up.clone(), key);
        }
        add(&mut self.by_logistic, entry.logistic_type.clone(), key);
        self.by_quantity.insert((entry.quantity, key));
        self.by_updated.insert((entry.updated, key));
        self.by_stop.insert((entry.stop, key));
        self.by_start.insert((entry.start, key));
        self.by_price.insert((entry.price, key));
        self.by_inventory.insert(inventory_key(&entry, key));
        self.entries.insert(key, entry);
    }

    pub(crate) fn remove(&mut self, key: u64) {
        let Some(entry) = self.entries.remove(&key) else {
            return;
        };

        self.all.remove(&key);
        drop_from(&mut self.by_status, entry.status, key);
        self.without_stock.remove(&key);
        for sku in &entry.seller_skus {
            drop_from(&mut self.by_seller_sku, sku.as_str(), key);
        }
        for sku in &entry.custom_fields {
            drop_from(&mut self.by_sku, sku.as_str(), key);
        }
        for up in &entry.user_products {
            drop_from(&mut self.by_user_product, up.as_str(), key);
        }
        drop_from(&mut self.by_logistic, entry.logistic_type.as_str(), key);
        self.by_quantity.remove(&(entry.quantity, key));
        self.by_updated.remove(&(entry.updated, key));
        self.by_stop.remove(&(entry.stop, key));
        self.by_start.remove(&(entry.start, key));
        self.by_price.remove(&(entry.price, key));
        self.by_inventory.remove(&inventory_key(&entry, key));
    }

    /// The candidate sets of each active filter.
    fn filter_sets(&self, q: &SearchQuery) -> Vec<Cow<'_, BTreeSet<u64>>> {
        let empty = || Cow::Owned(BTreeSet::new());

        let mut sets = Vec::new();
        if let Some(statuses) = &q.statuses {
            sets.push(Self::union(
                statuses
                    .iter()
                    .map(|s| self.by_status.get(s.as_str()))
                    .collect(),
            ));
        }
        if let Some(sku) = &q.seller_sku {
            sets.push(
                self.by_seller_sku
                    .get(sku)
                    .map_or_else(empty, Cow::Borrowed),
            );
        }
        if let Some(sku) = &q.sku {
            sets.push(self.by_sku.get(sku).map_or_else(empty, Cow::Borrowed));
        }
        if let Some(ups) = &q.user_products {
            sets.push(Self::union(
                ups.iter().map(|u| self.by_user_product.get(u)).collect(),
            ));
        }
        if q.without_stock {
            sets.push(Cow::Borrowed(&self.without_stock));
        }
        if let Some(logistic) = &q.logistic_type {
            sets.push(
                self.by_logistic
                    .get(logistic)
                    .map_or_else(empty, Cow::Borrowed),
            );
        }
        sets
    }

    fn union(sets: Vec<Option<&BTreeSet<u64>>>) -> Cow<'_, BTreeSet<u64>> {
        let present: Vec<&BTreeSet<u64>> = sets.into_iter().flatten().collect();
        match present.as_slice() {
            [] => Cow::Owned(BTreeSet::new()),
            [one] => Cow::Borrowed(*one),
            many => Cow::Owned(many.iter().flat_map(|s| s.iter().copied()).collect()),
        }
    }

    fn entry_matches(&self, q: &SearchQuery, key: u64) -> bool {
        self.entries.get(&key).is_some_and(|e| q.matches(e))
    }

    /// `(total, page)` of `q` with offset paging; `limit = usize::MAX` returns everything.
    pub(crate) fn query(&self, q: &SearchQuery, offset: usize, limit: usize) -> (usize, Vec<u64>) {
        let sets = self.filter_sets(q);
        let smallest = sets.iter().min_by_key(|s| s.len()).map(|s| s.as_ref());
        let base = smallest.unwrap_or(&self.all);

        let total = if sets.len() <= 1 {
            base.len()
        } else {
            base.iter().filter(|k| self.entry_matches(q, **k)).count()
        };

        let page = match q.order {
            None => base
                .iter()
                .copied()
                .filter(|k| sets.len() <= 1 || self.entry_matches(q, *k))
                .skip(offset)
                .take(limit)
                .collect(),
            Some(order) if sets.is_empty() || base.len() > SORT_IN_MEMORY_BELOW => {
                self.walk_order(order, q, offset, limit)
            }
            Some(order) => self.sort_subset(order, q, base, offset, limit),
        };
        (total, page)
    }

    fn walk_order(
        &self,
        order: SortOrder,
        q: &SearchQuery,
        offset: usize,
        limit: usize,
    ) -> Vec<u64> {
        let keys: Box<dyn DoubleEndedIterator<Item = u64> + '_> = match order.field {
            SortField::InventoryId => Box::new(self.by_inventory.iter().map(|(_, _, k)| *k)),
            field => Box::new(self.sorted(field).iter().map(|(_, k)| *k)),
        };
        let keys: Box<dyn Iterator<Item = u64> + '_> = if order.descending {
            Box::new(keys.rev())
        } else {
            keys
        };
        keys.filter(|k| self.entry_matches(q, *k))
            .skip(offset)
            .take(limit)
            .collect()
    }

    fn sort_subset(
        &self,
        order: SortOrder,
        q: &SearchQuery,
        base: &BTreeSet<u64>,
        offset: usize,
        limit: usize,
    ) -> Vec<u64> {
        let mut keys: Vec<u64> = base
            .iter()
            .copied()
            .filter(|k| self.entry_matches(q, *k))
            .collect();
        let sort_key = |k: &u64| -> (bool, String, i64, u64) {
            let Some(e) = self.entries.get(k) else {
                return (true, String::new(), 0, *k);
            };
            let value = match order.field {
                SortField::StopTime => e.stop,
                SortField::StartTime => e.start,
                SortField::AvailableQuantity => e.quantity,
                SortField::Price => e.price,
                SortField::LastUpdated => e.updated,
                SortField::InventoryId => {
                    let (missing, id, _) = inventory_key(e, *k);
                    return (missing, id, 0, *k);
                }
            };
            (false, String::new(), value, *k)
        };
        keys.sort_by_cached_key(sort_key);
        if order.descending {
            keys.reverse();
        }
        keys.into_iter().skip(offset).take(limit).collect()
    }

    fn sorted(&self, field: SortField) -> &Sorted {
        match field {
            SortField::StopTime => &self.by_stop,
            SortField::StartTime => &self.by_start,
            SortField::AvailableQuantity => &self.by_quantity,
            SortField::Price => &self.by_price,
            SortField::LastUpdated | SortField::InventoryId => &self.by_updated,
        }
    }
}

/// Below this many candidates a filtered, ordered search sorts the candidates directly.
const SORT_IN_MEMORY_BELOW: usize = 20_000;

/// Listings without an inventory sort after those with one \[A\].
fn inventory_key(entry: &IndexEntry, key: u64) -> (bool, String, u64) {
    (
        entry.inventory_id.is_none(),
        entry.inventory_id.clone().unwrap_or_default(),
        key,
    )
}
