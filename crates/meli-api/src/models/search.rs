//! Search pages, multiget envelopes and ML's error body (doc §0, §2, §3.1).

use serde::Deserialize;
use serde_json::Value;

use crate::models::lenient::{de_opt_string, de_opt_u64, de_vec};

/// One page of a seller's item ids from a scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanPage {
    /// Item ids on this page, as ML listed them.
    pub ids: Vec<String>,
    /// `paging.total` of the scan (all ids the scan will yield), when sent.
    pub total: Option<u64>,
}

/// `GET /users/{id}/items/search` as far as a scan reads it. `seller_id` (a string here) and
/// the rest are ignored.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SearchPage {
    #[serde(default)]
    pub(crate) paging: Option<Paging>,
    #[serde(default, deserialize_with = "de_vec")]
    pub(crate) results: Vec<String>,
    #[serde(default, deserialize_with = "de_opt_string")]
    pub(crate) scroll_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Paging {
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub(crate) total: Option<u64>,
}

/// One element of a multiget answer: `{code, body}`.
#[derive(Debug, Deserialize)]
pub(crate) struct MultigetEntry {
    pub(crate) code: u16,
    #[serde(default)]
    pub(crate) body: Value,
}

/// ML's error body `{"message","error","status","cause"}`, read leniently.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default, deserialize_with = "de_opt_string")]
    pub(crate) error: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string")]
    pub(crate) message: Option<String>,
}

/// `(error, message)` of an ML error body; both `None` when it is not one.
pub(crate) fn parse_error_body(value: &Value) -> (Option<String>, Option<String>) {
    match serde_json::from_value::<ErrorBody>(value.clone()) {
        Ok(body) => (body.error, body.message),
        Err(_) => (None, None),
    }
}
