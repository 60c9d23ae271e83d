//! Client tests against the in-process simulator: whole catalogues, call counts, token
//! rotation and expiry, scripted 429s, 5xx, dropped connections and malformed bodies.

#![allow(clippy::unwrap_used)]

#[path = "sim/catalogue.rs"]
mod catalogue;
#[path = "sim/faults.rs"]
mod faults;
#[path = "sim/helpers.rs"]
mod helpers;
#[path = "sim/tokens.rs"]
mod tokens;
