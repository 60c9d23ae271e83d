//! One builder per listing kind: locations, logistics, inventories and SKUs.

use rand::Rng;

use super::{COLORS, Generator};
use crate::catalogue::{Listing, ListingKind, Location, LocationType, Variation};

impl Generator {
    pub(super) fn single(&mut self, kind: ListingKind, seller_id: u64) {
        let title = self.title();
        let mut listing = self.base_listing(kind, seller_id, title.clone());
        listing.seller_sku = Some(self.sku());
        listing.family_name = Some(title);

        let locations = match kind {
            ListingKind::Plain | ListingKind::Foreign => {
                self.plain_shape(&mut listing);
                vec![Self::location(
                    LocationType::SellingAddress,
                    self.rng.random_range(1..=60),
                )]
            }
            ListingKind::Full => {
                listing.logistic_type = "fulfillment".to_owned();
                vec![Self::location(
                    LocationType::MeliFacility,
                    self.rng.random_range(1..=80),
                )]
            }
            ListingKind::FullAndOwn => {
                listing.logistic_type = "fulfillment".to_owned();
                listing.shipping_tags = vec!["self_service_in".to_owned()];
                vec![
                    Self::location(LocationType::SellingAddress, self.rng.random_range(1..=30)),
                    Self::location(LocationType::MeliFacility, self.rng.random_range(0..=50)),
                ]
            }
            ListingKind::MultiOrigin => self.multi_origin_locations(),
            ListingKind::SoldOut => {
                self.sold_out_built += 1;
                if self.sold_out_built % 2 == 1 {
                    Vec::new()
                } else {
                    vec![Self::location(LocationType::SellingAddress, 0)]
                }
            }
            ListingKind::PausedBySeller => {
                vec![Self::location(
                    LocationType::SellingAddress,
                    self.rng.random_range(1..=30),
                )]
            }
            ListingKind::Closed => {
                vec![Self::location(
                    LocationType::SellingAddress,
                    self.rng.random_range(0..=10),
                )]
            }
            ListingKind::LegacyNoUp => {
                listing.family_name = None;
                listing.seller_custom_field = listing.seller_sku.clone();
                listing.own_quantity = self.rng.random_range(1..=40);
                self.world.insert_listing(listing);
                return;
            }
            ListingKind::LegacyVariations => {
                self.legacy_variations(listing);
                return;
            }
            ListingKind::SharedClassic | ListingKind::SharedPremium => {
                self.shared_pair();
                return;
            }
        };

        let has_facility = locations
            .iter()
            .any(|l| l.kind == LocationType::MeliFacility);
        let up = self.user_product(seller_id, locations);
        if has_facility {
            listing.inventory_id = Some(self.inventory(&up));
        }
        listing.user_product_id = Some(up);
        self.world.insert_listing(listing);
    }

    fn plain_shape(&mut self, listing: &mut Listing) {
        let roll = self.rng.random_range(0..100);
        listing.listing_type_id = match roll {
            0..65 => "gold_special",
            65..95 => "gold_pro",
            _ => "free",
        }
        .to_owned();
        if self.rng.random_range(0..100) < 5 {
            listing.condition = "used".to_owned();
        }
        let (logistic, tags): (&str, &[&str]) = match self.rng.random_range(0..10) {
            0..5 => ("cross_docking", &[]),
            5..7 => ("xd_drop_off", &[]),
            7..9 => ("drop_off", &[]),
            _ => ("self_service", &["self_service_in"]),
        };
        listing.logistic_type = logistic.to_owned();
        listing.shipping_tags = tags.iter().map(|t| (*t).to_owned()).collect();
    }

    fn multi_origin_locations(&mut self) -> Vec<Location> {
        let mut locations: Vec<Location> = self
            .stock_stores
            .clone()
            .into_iter()
            .map(|(store, node)| Location {
                kind: LocationType::SellerWarehouse,
                quantity: self.rng.random_range(0..=40),
                store_id: Some(store),
                network_node_id: Some(node),
            })
            .collect();
        if let Some(first) = locations.first_mut() {
            first.quantity = first.quantity.max(1);
        }
        if self.rng.random_bool(0.5) {
            locations.push(Self::location(
                LocationType::MeliFacility,
                self.rng.random_range(1..=20),
            ));
        }
        locations
    }

    pub(super) fn shared_pair(&mut self) {
        let seller = self.world.seller_id;
        let title = self.title();
        let sku = self.sku();
        let full = self.rng.random_bool(0.3);
        let location = if full {
            Self::location(LocationType::MeliFacility, self.rng.random_range(1..=50))
        } else {
            Self::location(LocationType::SellingAddress, self.rng.random_range(1..=50))
        };
        let up = self.user_product(seller, vec![location]);
        let inventory = full.then(|| self.inventory(&up));

        for (kind, listing_type) in [
            (ListingKind::SharedClassic, "gold_special"),
            (ListingKind::SharedPremium, "gold_pro"),
        ] {
            let mut listing = self.base_listing(kind, seller, title.clone());
            listing.listing_type_id = listing_type.to_owned();
            listing.seller_sku = Some(sku.clone());
            listing.family_name = Some(title.clone());
            listing.user_product_id = Some(up.clone());
            listing.inventory_id = inventory.clone();
            if full {
                listing.logistic_type = "fulfillment".to_owned();
            }
            if kind == ListingKind::SharedPremium {
                listing.price = listing.price * 11 / 10;
            }
            self.world.insert_listing(listing);
        }
    }

    fn legacy_variations(&mut self, mut listing: Listing) {
        listing.seller_sku = None;
        listing.family_name = None;
        let base_sku = self.sku();
        let count = self.rng.random_range(2..=4);

        for (i, color) in COLORS.iter().take(count).enumerate() {
            let mut quantity = self.rng.random_range(0..=20);
            if i == 0 {
                quantity = quantity.max(1);
            }
            let up = self.user_product(
                listing.seller_id,
                vec![Self::location(LocationType::SellingAddress, quantity)],
            );
            self.next_variation += self.rng.random_range(1..=9);
            let sku = format!("{base_sku}-{}", color.to_uppercase());
            listing.variations.push(Variation {
                id: self.next_variation,
                combination: ("COLOR".to_owned(), (*color).to_owned()),
                user_product_id: Some(up),
                inventory_id: None,
                seller_sku: Some(sku.clone()),
                seller_custom_field: Some(sku),
                own_quantity: 0,
                available_quantity: 0,
                sold_quantity: self.rng.random_range(0..10),
            });
        }
        self.world.insert_listing(listing);
    }
}
