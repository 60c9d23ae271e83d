//! The arithmetic of a run, free of I/O: how listings become lines, what each product's
//! quantity becomes, and what changes.
//!
//! # How quantities are counted
//! ML counts stock on the *user product* (UP): one physical product, which can back several
//! listings (a classic and a premium listing of the same thing, say). A listing line (an item,
//! or one variation of a legacy item) points at a UP, or at nothing on accounts not yet on the
//! UP model; such a line is its own stock unit. A product's quantity is the sum over the
//! distinct stock units of the lines mapped to it, so a UP shared by two listings counts fully
//! for each of their products and never twice for one product.
//!
//! # The two sources, reconciled
//! The multiget gives every line's `available_quantity` cheaply; the user-product stock call
//! gives the per-location breakdown (own address, Full, seller warehouses) at 100 calls a
//! minute. ML derives `available_quantity` from the locations, so both should agree (an
//! assumption of ours: the documentation says the item value is derived from the locations,
//! not that the two are always equal). When a UP was read in this run its location sum is the
//! truth for that UP, because it is the versioned, authoritative record; every line whose
//! reported quantity differs from it is counted as a disagreement. UPs not read in the run take
//! the multiget value; when the lines of one UP report different values (ML copies a change to
//! sibling listings asynchronously), that also counts as a disagreement, the UP is chosen for
//! reading first, and until it is read the highest reported value is used: the quantity that
//! most recently arrived on some listing is more likely than not the newer one.
//!
//! Closed listings count 0. Sold-out listings report 0 themselves. A listing paused by the
//! seller keeps its quantity: the stock still exists on ML.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::select::PriorKey;

/// How listings are matched to the seller's `products`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    /// The match column holds the item id (`MLC123`); variations add up into their item.
    #[default]
    Item,
    /// The match column holds the SELLER_SKU of the item or of each variation.
    Sku,
    /// The match column holds `{item_id}-{variation_id}` per variation (the item id for items
    /// without variations).
    Variation,
}

impl MatchMode {
    /// Parses the configuration value (`item`, `sku`, `variation`).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "item" => Some(Self::Item),
            "sku" | "seller_sku" => Some(Self::Sku),
            "variation" => Some(Self::Variation),
            _ => None,
        }
    }

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Item => "item",
            Self::Sku => "sku",
            Self::Variation => "variation",
        }
    }
}

/// What ML counts stock on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// A user product, shared by every line that points at it.
    UserProduct(String),
    /// A line with no user product: its own quantity is the stock.
    Line {
        item_id: String,
        variation_id: Option<u64>,
    },
}

/// One listing line: an item without variations, or one variation of an item.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub item_id: String,
    pub variation_id: Option<u64>,
    pub status: String,
    pub sub_status: Vec<String>,
    /// The multiget's `available_quantity` for this line.
    pub reported: i64,
    pub unit: Unit,
    pub seller_sku: Option<String>,
    pub inventory_id: Option<String>,
}

impl Line {
    /// Closed listings hold no sellable stock whatever their last quantity.
    pub fn is_closed(&self) -> bool {
        self.status == "closed"
    }

    /// The user product this line points at, if any.
    pub fn user_product_id(&self) -> Option<&str> {
        match &self.unit {
            Unit::UserProduct(id) => Some(id),
            Unit::Line { .. } => None,
        }
    }

    /// This line's key in the previous run's item map.
    pub fn prior_key(&self) -> PriorKey {
        (self.item_id.clone(), self.variation_id.unwrap_or(0))
    }
}

/// Flattens a multiget item into its lines.
pub fn lines_of(item: &meli_api::Item) -> Vec<Line> {
    let sub_status = item.sub_status.clone();
    let item_sku = item.seller_sku().map(str::to_owned);

    if item.variations.is_empty() {
        let unit = match &item.user_product_id {
            Some(up) => Unit::UserProduct(up.clone()),
            None => Unit::Line {
                item_id: item.id.clone(),
                variation_id: None,
            },
        };
        return vec![Line {
            item_id: item.id.clone(),
            variation_id: None,
            status: item.status.clone(),
            sub_status,
            reported: item.available_quantity.unwrap_or(0),
            unit,
            seller_sku: item_sku,
            inventory_id: item.inventory_id.clone(),
        }];
    }

    item.variations
        .iter()
        .map(|variation| {
            let up = variation
                .user_product_id
                .as_ref()
                .or(item.user_product_id.as_ref());
            let unit = match up {
                Some(up) => Unit::UserProduct(up.clone()),
                None => Unit::Line {
                    item_id: item.id.clone(),
                    variation_id: Some(variation.id),
                },
            };
            Line {
                item_id: item.id.clone(),
                variation_id: Some(variation.id),
                status: item.status.clone(),
                sub_status: sub_status.clone(),
                reported: variation.available_quantity.unwrap_or(0),
                unit,
                seller_sku: variation
                    .seller_sku()
                    .map(str::to_owned)
                    .or(item_sku.clone()),
                inventory_id: variation.inventory_id.clone().or(item.inventory_id.clone()),
            }
        })
        .collect()
}

/// A line whose match key has no product.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Unmatched {
    pub item_id: String,
    pub variation_id: Option<u64>,
    pub match_key: String,
    pub status: String,
    pub quantity: i64,
}

/// A reported quantity that differs from the user product's location sum (or from a sibling).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Disagreement {
    pub user_product_id: String,
    pub item_id: String,
    pub variation_id: Option<u64>,
    pub reported: i64,
    pub used: i64,
}

/// One product whose quantity the run changes.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Change {
    pub product_id: String,
    /// The first listing mapped to the product, or none when its listing is gone.
    pub item_id: Option<String>,
    pub old: Option<i64>,
    pub new: i64,
}

/// Everything a run writes, decided before any write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Every managed row's quantity: matched products plus existing rows whose listing is gone.
    pub desired: BTreeMap<String, i64>,
    /// The first listing each matched product takes its quantity from (ledger, dry runs).
    pub product_items: BTreeMap<String, String>,
    /// The product each input line matched, in the order of the lines (`None` = unmatched),
    /// for the item map.
    pub line_products: Vec<Option<String>>,
    /// How the lines were matched, so the item map can show each line's match key.
    pub mode: MatchMode,
    pub changes: Vec<Change>,
    pub unmatched: Vec<Unmatched>,
    pub disagreements: Vec<Disagreement>,
    /// Existing rows that held stock and would become 0.
    pub zeroed: usize,
    /// Existing rows of the ML warehouse this seller manages: every row but those of products
    /// only other sellers' listings match.
    pub managed: usize,
}

/// The inputs of [`build_plan`].
pub struct PlanInput<'a> {
    pub lines: &'a [Line],
    /// Location sums of the user products read in this run.
    pub read_totals: &'a HashMap<String, i64>,
    /// Match key -> product id (as text) for the seller's ML products.
    pub products: &'a HashMap<String, String>,
    /// Product id -> quantity of the ML warehouse's current rows.
    pub current: &'a HashMap<String, i64>,
    /// Products other sellers sharing the database matched: their rows are left alone
    /// unless this seller's listings match them too.
    pub claimed_by_others: &'a HashSet<String>,
    pub mode: MatchMode,
}

/// Computes every managed row's quantity and the differences with the current rows.
pub fn build_plan(input: &PlanInput<'_>) -> Plan {
    let mut plan = Plan {
        mode: input.mode,
        line_products: Vec::with_capacity(input.lines.len()),
        ..Plan::default()
    };
    let units = unit_quantities(input, &mut plan.disagreements);

    let mut per_product: BTreeMap<&str, (BTreeMap<&Unit, i64>, &str)> = BTreeMap::new();
    let mut unmatched: BTreeMap<(String, Option<u64>), Unmatched> = BTreeMap::new();
    for line in input.lines {
        let key = match_key(line, input.mode);
        let product = key.as_deref().and_then(|k| input.products.get(k));
        plan.line_products.push(product.cloned());

        let Some(product) = product else {
            let variation_id = match input.mode {
                MatchMode::Item => None,
                _ => line.variation_id,
            };
            let entry = unmatched
                .entry((line.item_id.clone(), variation_id))
                .or_insert(Unmatched {
                    item_id: line.item_id.clone(),
                    variation_id,
                    match_key: key.unwrap_or_default(),
                    status: line.status.clone(),
                    quantity: 0,
                });
            entry.quantity += units.get(&line.unit).copied().unwrap_or(line.reported);
            continue;
        };

        let (product_units, _) = per_product
            .entry(product.as_str())
            .or_insert((BTreeMap::new(), &line.item_id));
        let quantity = if line.is_closed() {
            0
        } else {
            units[&line.unit]
        };
        let slot = product_units.entry(&line.unit).or_insert(0);
        *slot = (*slot).max(quantity);
    }
    plan.unmatched = unmatched.into_values().collect();

    for (product, (product_units, item_id)) in per_product {
        let quantity: i64 = product_units.values().sum();
        plan.desired.insert(product.to_owned(), quantity.max(0));
        plan.product_items
            .insert(product.to_owned(), item_id.to_owned());
        record_change(
            &mut plan,
            input.current,
            product,
            Some(item_id),
            quantity.max(0),
        );
    }

    // Rows of the ML warehouse whose listing no longer exists go to zero, unless another
    // seller's listing holds them.
    let mut gone: Vec<&String> = input
        .current
        .keys()
        .filter(|p| !plan.desired.contains_key(p.as_str()))
        .filter(|p| !input.claimed_by_others.contains(p.as_str()))
        .collect();
    plan.managed = input
        .current
        .keys()
        .filter(|p| {
            plan.desired.contains_key(p.as_str()) || !input.claimed_by_others.contains(p.as_str())
        })
        .count();
    gone.sort();
    for product in gone {
        plan.desired.insert(product.clone(), 0);
        record_change(&mut plan, input.current, product, None, 0);
    }

    plan
}

fn record_change(
    plan: &mut Plan,
    current: &HashMap<String, i64>,
    product: &str,
    item_id: Option<&str>,
    new: i64,
) {
    let old = current.get(product).copied();
    if old == Some(new) {
        return;
    }
    if old.is_some_and(|o| o > 0) && new == 0 {
        plan.zeroed += 1;
    }
    plan.changes.push(Change {
        product_id: product.to_owned(),
        item_id: item_id.map(str::to_owned),
        old,
        new,
    });
}

/// Each unit's quantity: the location sum when read in this run, else the multiget value.
fn unit_quantities<'a>(
    input: &PlanInput<'a>,
    disagreements: &mut Vec<Disagreement>,
) -> HashMap<Unit, i64> {
    let mut reported: HashMap<&Unit, Vec<&Line>> = HashMap::new();
    for line in input.lines {
        reported.entry(&line.unit).or_default().push(line);
    }

    let mut units = HashMap::with_capacity(reported.len());
    let mut ordered: Vec<_> = reported.into_iter().collect();
    ordered.sort_by(|a, b| a.0.cmp(b.0));
    for (unit, lines) in ordered {
        let highest = lines.iter().map(|l| l.reported).max().unwrap_or(0);
        let read = match unit {
            Unit::UserProduct(up) => input.read_totals.get(up).copied(),
            Unit::Line { .. } => None,
        };
        let used = read.unwrap_or(highest);
        if let Unit::UserProduct(up) = unit {
            for line in lines.iter().filter(|l| l.reported != used) {
                disagreements.push(Disagreement {
                    user_product_id: up.clone(),
                    item_id: line.item_id.clone(),
                    variation_id: line.variation_id,
                    reported: line.reported,
                    used,
                });
            }
        }
        units.insert(unit.clone(), used);
    }
    units
}

/// The value a line is looked up by in the products' match column.
pub fn match_key(line: &Line, mode: MatchMode) -> Option<String> {
    match mode {
        MatchMode::Item => Some(line.item_id.clone()),
        MatchMode::Variation => Some(match line.variation_id {
            Some(v) => format!("{}-{v}", line.item_id),
            None => line.item_id.clone(),
        }),
        MatchMode::Sku => line.seller_sku.clone().filter(|s| !s.trim().is_empty()),
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
