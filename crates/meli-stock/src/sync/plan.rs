//! The arithmetic of a run, free of I/O: which user products to read, what each product's
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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

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

    fn key(&self) -> (String, Option<u64>) {
        (self.item_id.clone(), self.variation_id)
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

/// What the previous runs left about a user product.
#[derive(Clone, Debug, PartialEq)]
pub struct PriorUserProduct {
    /// The location sum at the last read.
    pub total: i64,
    pub read_at: DateTime<Utc>,
}

/// Why a user product was chosen for a breakdown read, in priority order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadReason {
    /// A line's quantity moved since the last run, or sibling lines disagree.
    Changed,
    /// Never read before.
    New,
    /// Read longer ago than the configured age.
    Stale,
}

impl ReadReason {
    /// The label used in logs and run figures.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadReason::Changed => "changed",
            ReadReason::New => "new",
            ReadReason::Stale => "stale",
        }
    }
}

/// Key of a line in the previous run's item map: (item id, variation id or 0).
pub type PriorKey = (String, u64);

/// Chooses the user products whose breakdown a run reads, at most `budget` of them.
///
/// Reads start while the listing is still going, so the choice is made line by line:
/// [`ReadSelector::consider`] picks a user product as soon as one of its lines shows it is
/// new or changed. [`ReadSelector::finish`] then adds, within what is left of the budget,
/// the user products whose sibling lines disagree (only visible once every line is in) and
/// the stale ones, oldest first. Changed and new user products therefore share the budget
/// in the order ML lists them; stale ones only get what they leave.
#[derive(Debug)]
pub struct ReadSelector<'a> {
    prior_lines: &'a HashMap<PriorKey, i64>,
    prior_ups: &'a HashMap<String, PriorUserProduct>,
    max_age: Duration,
    now: DateTime<Utc>,
    budget: usize,
    chosen: HashSet<String>,
    deferred: HashSet<String>,
}

impl<'a> ReadSelector<'a> {
    /// A selector over what the previous runs left.
    pub fn new(
        prior_lines: &'a HashMap<PriorKey, i64>,
        prior_ups: &'a HashMap<String, PriorUserProduct>,
        max_age: Duration,
        now: DateTime<Utc>,
        budget: usize,
    ) -> Self {
        Self {
            prior_lines,
            prior_ups,
            max_age,
            now,
            budget,
            chosen: HashSet::new(),
            deferred: HashSet::new(),
        }
    }

    /// The read `line` calls for right away, if any and if the budget allows.
    pub fn consider(&mut self, line: &Line) -> Option<(String, ReadReason)> {
        let up = line.user_product_id()?;
        if self.chosen.contains(up) {
            return None;
        }

        let prior_line = self.prior_lines.get(&line.prior_key());
        let prior_up = self.prior_ups.get(up);
        let moved = prior_line.is_some_and(|before| *before != line.reported);
        let differs_from_read = prior_up.is_some_and(|p| p.total != line.reported);
        let reason = if moved || differs_from_read {
            ReadReason::Changed
        } else if prior_up.is_none() {
            ReadReason::New
        } else {
            return None;
        };
        self.take(up, reason)
    }

    /// The reads that needed every line: disagreeing siblings, then stale breakdowns.
    pub fn finish(&mut self, lines: &[Line]) -> Vec<(String, ReadReason)> {
        let mut reported: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
        for line in lines {
            if let Some(up) = line.user_product_id() {
                reported.entry(up).or_default().insert(line.reported);
            }
        }

        let mut out = Vec::new();
        let disagreeing: Vec<&str> = reported
            .iter()
            .filter(|(up, values)| values.len() > 1 && !self.chosen.contains(**up))
            .map(|(up, _)| *up)
            .collect();
        for up in disagreeing {
            out.extend(self.take(up, ReadReason::Changed));
        }

        let mut stale: Vec<(DateTime<Utc>, &str)> = reported
            .keys()
            .filter(|up| !self.chosen.contains(**up))
            .filter_map(|up| {
                let prior = self.prior_ups.get(*up)?;
                (self.now - prior.read_at >= self.max_age).then_some((prior.read_at, *up))
            })
            .collect();
        stale.sort();
        for (_, up) in stale {
            out.extend(self.take(up, ReadReason::Stale));
        }
        out
    }

    /// User products that called for a read the budget did not allow.
    pub fn deferred(&self) -> usize {
        self.deferred.len()
    }

    fn take(&mut self, up: &str, reason: ReadReason) -> Option<(String, ReadReason)> {
        if self.chosen.len() >= self.budget {
            self.deferred.insert(up.to_owned());
            return None;
        }
        self.deferred.remove(up);
        self.chosen.insert(up.to_owned());
        Some((up.to_owned(), reason))
    }
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
    /// The product each line matched, for the item map (`None` = unmatched).
    pub line_products: HashMap<(String, Option<u64>), (String, Option<String>)>,
    pub changes: Vec<Change>,
    pub unmatched: Vec<Unmatched>,
    pub disagreements: Vec<Disagreement>,
    /// Existing rows that held stock and would become 0.
    pub zeroed: usize,
    /// Existing rows of the ML warehouse before the run.
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
    pub mode: MatchMode,
}

/// Computes every managed row's quantity and the differences with the current rows.
pub fn build_plan(input: &PlanInput<'_>) -> Plan {
    let mut plan = Plan {
        managed: input.current.len(),
        ..Plan::default()
    };
    let units = unit_quantities(input, &mut plan.disagreements);

    let mut per_product: BTreeMap<&str, (BTreeMap<&Unit, i64>, &str)> = BTreeMap::new();
    let mut unmatched: BTreeMap<(String, Option<u64>), Unmatched> = BTreeMap::new();
    for line in input.lines {
        let key = match_key(line, input.mode);
        let product = key.as_deref().and_then(|k| input.products.get(k));
        plan.line_products.insert(
            line.key(),
            (key.clone().unwrap_or_default(), product.cloned()),
        );

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

    // Rows of the ML warehouse whose listing no longer exists go to zero.
    let mut gone: Vec<&String> = input
        .current
        .keys()
        .filter(|p| !plan.desired.contains_key(p.as_str()))
        .collect();
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

fn match_key(line: &Line, mode: MatchMode) -> Option<String> {
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
