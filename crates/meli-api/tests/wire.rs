//! Client tests against wiremock: the documented JSON shapes, retries, errors and pacing.

#![allow(clippy::unwrap_used)]

#[path = "wire/calls.rs"]
mod calls;
#[path = "wire/helpers.rs"]
mod helpers;
#[path = "wire/oauth.rs"]
mod oauth;
#[path = "wire/retries.rs"]
mod retries;
#[path = "wire/scan.rs"]
mod scan;
#[path = "wire/tokens.rs"]
mod tokens;
