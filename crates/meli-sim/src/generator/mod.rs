//! Deterministic scenario generator: the same `(seed, items, site, seller_id)` always builds
//! the same catalogue.
//!
//! Proportions per ~100 listings \[A\] (real mixes are unpublished; most listings are plain):
//! 55 plain, 10 Full, 5 Full + own origin (Full + Flex), 5 multi-origin, 8 shared
//! classic/premium (4 UPs), 5 legacy with per-variation UPs, 5 legacy without UP, 3 sold out,
//! 2 paused by the seller, 2 closed. Catalogues of 11 or more listings hold at least one of
//! each. Three listings of another seller are added for 403 answers. The seller has two
//! stock-location stores and one store that is not a stock location; one store belongs to
//! another seller (doc §4.3 validation cases). Every other sold-out listing, starting with
//! the first, has a UP whose stock was never initialised (no locations, so its stock read
//! answers 404 `stock-locations not found`, doc §4.2); the rest hold `selling_address: 0`.
//!
//! Ids \[A\] (doc §8): items `MLC` + 10 digits ascending, UPs `MLCU` + 10 digits, variations
//! 12-digit integers, inventories 4 letters + 5 digits, stores numeric strings.

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::catalogue::{
    Inventory, Listing, ListingKind, Location, LocationType, StoreInfo, UserProduct, World,
};
use crate::config::SimConfig;

mod kinds;

/// Generation units: a shared pair yields two listings.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Single(ListingKind),
    SharedPair,
}

const WEIGHTS: [(Unit, u32); 10] = [
    (Unit::Single(ListingKind::Plain), 55),
    (Unit::Single(ListingKind::Full), 10),
    (Unit::Single(ListingKind::FullAndOwn), 5),
    (Unit::Single(ListingKind::MultiOrigin), 5),
    (Unit::SharedPair, 4),
    (Unit::Single(ListingKind::LegacyVariations), 5),
    (Unit::Single(ListingKind::LegacyNoUp), 5),
    (Unit::Single(ListingKind::SoldOut), 3),
    (Unit::Single(ListingKind::PausedBySeller), 2),
    (Unit::Single(ListingKind::Closed), 2),
];

const NOUNS: [&str; 10] = [
    "Polera",
    "Zapatilla",
    "Mochila",
    "Lámpara",
    "Taza",
    "Audífonos",
    "Cargador",
    "Chaqueta",
    "Botella",
    "Cojín",
];
const ADJECTIVES: [&str; 6] = [
    "Clásica",
    "Deportiva",
    "Premium",
    "Compacta",
    "Urbana",
    "Pro",
];
const COLORS: [&str; 5] = ["Rojo", "Azul", "Negro", "Blanco", "Verde"];
const NOT_AVAILABLE: [&str; 4] = ["damaged", "transfer", "lost", "internal_process"];

/// Builds the whole simulated account.
pub(crate) fn generate(config: &SimConfig) -> World {
    let mut generator = Generator::new(config);
    generator.stores();

    for unit in generator.plan(config.items) {
        match unit {
            Unit::Single(kind) => generator.single(kind, config.seller_id),
            Unit::SharedPair => generator.shared_pair(),
        }
    }
    for _ in 0..3 {
        generator.single(ListingKind::Foreign, foreign_seller(config.seller_id));
    }
    generator.world
}

/// The other seller owning the 403 listings and store.
pub(crate) fn foreign_seller(seller_id: u64) -> u64 {
    seller_id.wrapping_add(1)
}

struct Generator {
    rng: StdRng,
    world: World,
    site: String,
    next_item: u64,
    next_up: u64,
    next_variation: u64,
    next_sku: u64,
    inventory_ids: HashSet<String>,
    stock_stores: Vec<(String, String)>,
    sold_out_built: usize,
    base: DateTime<Utc>,
}

impl Generator {
    fn new(config: &SimConfig) -> Self {
        let base = Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        Self {
            rng: StdRng::seed_from_u64(config.seed),
            world: World::new(config.site.clone(), config.seller_id),
            site: config.site.clone(),
            next_item: 1_500_000_000,
            next_up: 2_300_000_000,
            next_variation: 180_000_000_000,
            next_sku: 0,
            inventory_ids: HashSet::new(),
            stock_stores: Vec::new(),
            sold_out_built: 0,
            base,
        }
    }

    fn plan(&mut self, size: usize) -> Vec<Unit> {
        let mut units = Vec::new();
        let mut count = 0;
        if size >= 11 {
            for (unit, _) in WEIGHTS {
                units.push(unit);
                count += if unit == Unit::SharedPair { 2 } else { 1 };
            }
        }

        let total: u32 = WEIGHTS.iter().map(|(_, w)| w).sum();
        while count < size {
            let mut pick = self.rng.random_range(0..total);
            let mut unit = Unit::Single(ListingKind::Plain);
            for (candidate, weight) in WEIGHTS {
                if pick < weight {
                    unit = candidate;
                    break;
                }
                pick -= weight;
            }
            if unit == Unit::SharedPair && count + 2 > size {
                unit = Unit::Single(ListingKind::Plain);
            }
            count += if unit == Unit::SharedPair { 2 } else { 1 };
            units.push(unit);
        }

        units.shuffle(&mut self.rng);
        units
    }

    fn stores(&mut self) {
        let seller = self.world.seller_id;
        let stores = [
            ("73001", seller, "Bodega Centro", true),
            ("73002", seller, "Bodega Norte", true),
            ("73003", seller, "Tienda Mall (sin stock)", false),
            (
                "99001",
                foreign_seller(seller),
                "Bodega de otro vendedor",
                true,
            ),
        ];
        for (id, user_id, description, stock_location) in stores {
            let node = format!("{}P{id}", self.site);
            if user_id == seller && stock_location {
                self.stock_stores.push((id.to_owned(), node.clone()));
            }
            self.world.stores.insert(
                id.to_owned(),
                StoreInfo {
                    id: id.to_owned(),
                    user_id,
                    description: description.to_owned(),
                    network_node_id: node,
                    stock_location,
                },
            );
        }
    }

    fn item_key(&mut self) -> u64 {
        self.next_item += self.rng.random_range(1..=7);
        self.next_item
    }

    fn sku(&mut self) -> String {
        self.next_sku += 1;
        format!("SKU-{:06}", self.next_sku)
    }

    fn user_product(&mut self, user_id: u64, locations: Vec<Location>) -> String {
        self.next_up += self.rng.random_range(1..=5);
        let id = format!("{}U{}", self.site, self.next_up);
        let version = self.rng.random_range(1..=9);
        let up = UserProduct {
            id: id.clone(),
            user_id,
            locations,
            version,
            listings: Vec::new(),
        };
        self.world.user_products.insert(id.clone(), up);
        id
    }

    fn inventory(&mut self, user_product_id: &str) -> String {
        let id = loop {
            let letters: String = (0..4)
                .map(|_| char::from(self.rng.random_range(b'A'..=b'Z')))
                .collect();
            let candidate = format!("{letters}{:05}", self.rng.random_range(0..100_000));
            if self.inventory_ids.insert(candidate.clone()) {
                break candidate;
            }
        };

        let mut not_available = Vec::new();
        if self.rng.random_bool(0.4) {
            let status = NOT_AVAILABLE[self.rng.random_range(0..NOT_AVAILABLE.len())];
            not_available.push((status.to_owned(), self.rng.random_range(1..=5)));
        }
        self.world.inventories.insert(
            id.clone(),
            Inventory {
                id: id.clone(),
                user_product_id: user_product_id.to_owned(),
                not_available,
            },
        );
        id
    }

    fn location(kind: LocationType, quantity: i64) -> Location {
        Location {
            kind,
            quantity,
            store_id: None,
            network_node_id: None,
        }
    }

    /// A listing with the fields every kind shares; the caller adjusts the rest.
    fn base_listing(&mut self, kind: ListingKind, seller_id: u64, title: String) -> Listing {
        let key = self.item_key();
        let created = self.base + TimeDelta::seconds(self.rng.random_range(0..400 * 86_400));
        let updated = created + TimeDelta::seconds(self.rng.random_range(0..30 * 86_400));
        let price = i64::from(self.rng.random_range(2u32..200)) * 1000 - 10;
        Listing {
            key,
            id: format!("{}{key}", self.site),
            kind,
            seller_id,
            title,
            category_id: format!("{}{}", self.site, self.rng.random_range(1000..9999)),
            price,
            listing_type_id: "gold_special".to_owned(),
            condition: "new".to_owned(),
            user_product_id: None,
            family_name: None,
            inventory_id: None,
            seller_custom_field: None,
            seller_sku: None,
            logistic_type: "cross_docking".to_owned(),
            shipping_tags: Vec::new(),
            own_quantity: 0,
            available_quantity: 0,
            sold_quantity: self.rng.random_range(0..40),
            variations: Vec::new(),
            paused_by_seller: kind == ListingKind::PausedBySeller,
            closed: kind == ListingKind::Closed,
            deleted: false,
            status: "active",
            sub_status: Vec::new(),
            date_created: created,
            start_time: created,
            stop_time: created + TimeDelta::days(7300),
            last_updated: updated,
            last_write: None,
        }
    }

    fn title(&mut self) -> String {
        let noun = NOUNS[self.rng.random_range(0..NOUNS.len())];
        let adjective = ADJECTIVES[self.rng.random_range(0..ADJECTIVES.len())];
        format!("{noun} {adjective} {}", self.rng.random_range(100..999))
    }
}
