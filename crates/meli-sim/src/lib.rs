//! A local simulator of the MercadoLibre (ML) seller API for tests, benchmarks and demos.
//!
//! [`spawn`] generates a deterministic catalogue from a seed, serves the ML endpoints the
//! stock sync uses on 127.0.0.1, and returns a [`SimHandle`] to drive the scenario (sales,
//! restocks, status changes), script faults and read counters. Every behaviour follows
//! `/work/shared/docs/mercadolibre-api.md` (§9 lists them); each module says which facts are
//! documented (`[D:…]`, `[R:…]`) and which are assumptions (`\[A\]`).
//!
//! # Endpoints
//! `POST /oauth/token`, `GET /authorization`, `GET /users/me`,
//! `GET /users/{id}/items/search` (offset and scan), `GET /users/{id}/stores/search`,
//! `GET /items?ids=`, `GET|PUT /items/{id}`, `GET /user-products/{id}/stock`,
//! `PUT /user-products/{id}/stock/type/{selling_address|seller_warehouse}`,
//! `GET /inventories/{id}/stock/fulfillment`, and the admin routes under `/_sim/`.
//!
//! # Main choices where the reference is silent \[A\]
//! - Two accepted `PUT /items` on one item less than [`ITEM_WRITE_WINDOW`] (1 s of simulated
//!   time) apart: the second answers 409 `item optimistic locking error`.
//! - A `PUT /items` change reaches the other items of the UP after
//!   `sibling_propagation_delay` (default 1 s); UP stock writes reach every item after it.
//! - Scrolls expire after `scroll_ttl` (default 5 min) without a page request; rotation of
//!   `scroll_id` is on by default; exhausted, stale or expired scrolls answer 404.
//! - Multiget with more than 20 ids answers 400; wrong client credentials answer 400
//!   `invalid_client`; a bearer value not shaped like an ML access token answers 400.
//! - Token-bucket 429s carry no `Retry-After` unless [`Faults::set_retry_after`] is used.
//! - Requests are counted under the endpoint labels of the spec (`oauth_token`, `users_me`,
//!   `items_search`, `items`, `user_product_stock`, `fulfillment_stock`), plus
//!   `authorization`, `stores` and `other`; status 0 is a dropped connection.
//!
//! # Layout
//! - `config`: [`SimConfig`], the settings and their documented defaults.
//! - `clock`: [`SimClock`], wall time plus a test-controlled offset.
//! - `generator`: the seeded catalogue (listing kinds and proportions).
//! - `catalogue`: listings, user products, inventories, stores, stock rules, search index.
//! - `auth`: apps, codes, grants, token rotation and bearer checks.
//! - `gate`: endpoint labels, latency, faults, rate limits, counters around every route.
//! - `limits`, `faults`, `counters`, `scroll`: the state behind the gate and the scan.
//! - `routes`: one module per ML resource plus `/_sim/` admin routes.
//! - `server`, `handle`: the accept loop, [`spawn`] and [`SimHandle`].
//!
//! # Known limitations
//! - Notifications (doc §6, behaviour 11) are not sent.
//! - Only the stock-relevant parts of ML are modelled: no orders, prices or publishing.
//! - HTTP/1.1 only.
//! - Token state lives in memory only; every spawn starts from a fresh grant.

mod auth;
mod catalogue;
mod clock;
mod config;
mod counters;
mod errors;
mod faults;
mod gate;
mod generator;
mod handle;
mod limits;
mod routes;
mod scroll;
mod server;
mod state;

pub use auth::{AppRegistration, REFRESH_TOKEN_LIFETIME};
pub use catalogue::{
    Catalogue, CatalogueListing, CatalogueStore, CatalogueVariation, ITEM_WRITE_WINDOW,
    ListingKind, StockError,
};
pub use clock::SimClock;
pub use config::SimConfig;
pub use counters::SimCounters;
pub use faults::{FaultKind, Faults};
pub use handle::{Credentials, DEFAULT_REDIRECT_URI, SimHandle, spawn};
