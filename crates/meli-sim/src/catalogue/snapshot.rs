//! Read-only copies of the catalogue for tests and benchmarks ([`crate::SimHandle::catalogue`]).

use std::collections::BTreeSet;

use super::{ListingKind, World};

/// A point-in-time copy of the simulated seller's catalogue (deleted listings left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    /// The simulated seller.
    pub seller_id: u64,
    /// Site id (also the id prefix).
    pub site: String,
    /// The seller's listings in id order.
    pub listings: Vec<CatalogueListing>,
    /// Items of another seller: reads of these answer 403.
    pub foreign_item_ids: Vec<String>,
    /// The seller's and a foreign seller's stores (multi-origin locations).
    pub stores: Vec<CatalogueStore>,
}

/// One listing as ML shows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueListing {
    /// Item id (`MLC…`).
    pub id: String,
    /// Which generated scenario this listing is.
    pub kind: ListingKind,
    /// `active`, `paused` or `closed`, as the item shows it.
    pub status: String,
    /// e.g. `["out_of_stock"]` or `["paused_by_seller"]`.
    pub sub_status: Vec<String>,
    /// `gold_special` (classic), `gold_pro` (premium) or `free`.
    pub listing_type_id: String,
    /// `shipping.logistic_type`, e.g. `fulfillment` or `cross_docking`.
    pub logistic_type: String,
    /// Item-level UP; `None` for legacy listings.
    pub user_product_id: Option<String>,
    /// Full inventory, when the listing is in Full.
    pub inventory_id: Option<String>,
    /// Item-level SELLER_SKU attribute.
    pub seller_sku: Option<String>,
    /// Free-text `seller_custom_field` (the `sku=` search filter).
    pub seller_custom_field: Option<String>,
    /// The quantity the item shows (may lag its UP while a propagation is pending).
    pub available_quantity: i64,
    /// Variations (legacy listings), each with its own UP and SKU.
    pub variations: Vec<CatalogueVariation>,
}

/// One variation of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueVariation {
    /// Numeric variation id.
    pub id: u64,
    /// The variation's own UP.
    pub user_product_id: Option<String>,
    /// Full inventory of the variation, if any.
    pub inventory_id: Option<String>,
    /// The variation's SELLER_SKU (shown with `include_attributes=all`).
    pub seller_sku: Option<String>,
    /// The quantity the variation shows.
    pub available_quantity: i64,
}

/// A store usable (or not) as a multi-origin stock location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueStore {
    /// Numeric string id (the `store_id` of `seller_warehouse` writes).
    pub id: String,
    /// Owner; stores of another seller fail writes with `store does not belong to seller`.
    pub user_id: u64,
    /// Logistics node of the store.
    pub network_node_id: String,
    /// Tagged `stock_location`; untagged stores fail writes with a 400.
    pub stock_location: bool,
}

impl Catalogue {
    /// Listings of one kind, in id order.
    pub fn of_kind(&self, kind: ListingKind) -> impl Iterator<Item = &CatalogueListing> {
        self.listings.iter().filter(move |l| l.kind == kind)
    }

    /// The first listing of `kind`, if the catalogue has one.
    pub fn first_of(&self, kind: ListingKind) -> Option<&CatalogueListing> {
        self.of_kind(kind).next()
    }

    /// The listing with this id.
    pub fn get(&self, item_id: &str) -> Option<&CatalogueListing> {
        self.listings.iter().find(|l| l.id == item_id)
    }

    /// Every UP id the listings read (item-level and per variation).
    pub fn user_product_ids(&self) -> BTreeSet<String> {
        self.listings
            .iter()
            .flat_map(|l| {
                l.user_product_id
                    .iter()
                    .chain(
                        l.variations
                            .iter()
                            .filter_map(|v| v.user_product_id.as_ref()),
                    )
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

impl World {
    pub(crate) fn snapshot(&self) -> Catalogue {
        let mut listings = Vec::new();
        let mut foreign_item_ids = Vec::new();
        for listing in self.listings.values().filter(|l| !l.deleted) {
            if listing.seller_id != self.seller_id {
                foreign_item_ids.push(listing.id.clone());
                continue;
            }
            listings.push(CatalogueListing {
                id: listing.id.clone(),
                kind: listing.kind,
                status: listing.status.to_owned(),
                sub_status: listing.sub_status.iter().map(|s| (*s).to_owned()).collect(),
                listing_type_id: listing.listing_type_id.clone(),
                logistic_type: listing.logistic_type.clone(),
                user_product_id: listing.user_product_id.clone(),
                inventory_id: listing.inventory_id.clone(),
                seller_sku: listing.seller_sku.clone(),
                seller_custom_field: listing.seller_custom_field.clone(),
                available_quantity: listing.available_quantity,
                variations: listing
                    .variations
                    .iter()
                    .map(|v| CatalogueVariation {
                        id: v.id,
                        user_product_id: v.user_product_id.clone(),
                        inventory_id: v.inventory_id.clone(),
                        seller_sku: v.seller_sku.clone(),
                        available_quantity: v.available_quantity,
                    })
                    .collect(),
            });
        }

        let stores = self
            .stores
            .values()
            .map(|s| CatalogueStore {
                id: s.id.clone(),
                user_id: s.user_id,
                network_node_id: s.network_node_id.clone(),
                stock_location: s.stock_location,
            })
            .collect();

        Catalogue {
            seller_id: self.seller_id,
            site: self.site.clone(),
            listings,
            foreign_item_ids,
            stores,
        }
    }
}
