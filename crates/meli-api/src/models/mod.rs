//! Wire types: what ML's JSON bodies are read into.

mod item;
pub(crate) mod lenient;
mod search;
mod stock;

pub use item::{Attribute, Item, ItemError, ItemResult, SELLER_SKU, Shipping, Variation};
pub use search::ScanPage;
pub(crate) use search::{MultigetEntry, SearchPage, parse_error_body};
pub use stock::{
    ExternalReference, FulfillmentStock, NotAvailableDetail, StockLocation, User, UserProductStock,
};
