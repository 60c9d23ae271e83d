//! Typed async client for the MercadoLibre (ML) seller API: OAuth, listings and stock.
//!
//! This crate is the only code of meli-stock that talks to ML. It makes the fewest calls
//! the documented API allows (scan pages of 100, multigets of 20), paces itself under ML's
//! limits, survives 429s and 5xx answers, and returns every failure as an [`Error`].
//!
//! # Layout
//! - `config`: [`ClientConfig`], base URL (`ML_API_URL`) and limits;
//! - `endpoint`: [`Endpoint`], the label of each call class;
//! - `error`: [`Error`];
//! - `auth`: authorization URL, PKCE, [`OAuthClient`], [`TokenProvider`];
//! - `transport`: pacing, concurrency, retries, counters and request logs of every call;
//! - `client`: [`MeliClient`] with `users_me`, `scan_item_ids`, `items`, stock reads;
//! - `counters`: [`CountersSnapshot`];
//! - `models`: wire types, tolerant of unknown fields and ML's alternative shapes.
//!
//! Known limitation: an [`OAuthClient`] paces and counts its token calls on its own, apart
//! from the [`MeliClient`] limiter and counters (token calls are a handful per six hours).
//!
//! Tokens never reach logs, errors or `Debug` output: they are [`secrecy::SecretString`]s,
//! the `Authorization` header is marked sensitive, and [`token_fingerprint`] gives callers a
//! safe name for a token.

#![forbid(unsafe_code)]

mod auth;
mod client;
mod config;
mod counters;
mod endpoint;
mod error;
mod models;
mod transport;

pub use auth::{
    DEFAULT_REFRESH_MARGIN, InMemoryTokenProvider, OAuthClient, Pkce, TokenProvider, TokenSet,
    auth_host, authorization_url, token_fingerprint,
};
pub use client::MeliClient;
pub use client::multiget::MULTIGET_MAX_IDS;
pub use config::{ClientConfig, DEFAULT_BASE_URL};
pub use counters::CountersSnapshot;
pub use endpoint::Endpoint;
pub use error::Error;
pub use models::{
    Attribute, ExternalReference, FulfillmentStock, Item, ItemError, ItemResult,
    NotAvailableDetail, SELLER_SKU, ScanPage, Shipping, StockLocation, User, UserProductStock,
    Variation,
};
pub use secrecy::{ExposeSecret, SecretString};
