//! Serde helpers for fields ML sends in more than one shape (ids as numbers or strings,
//! arrays that may be null).

use serde::de::{self, Deserializer};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;

/// A `u64` sent as a number or a numeric string (`user_id`, `seller_id`).
pub(crate) fn de_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| de::Error::custom(format!("expected an unsigned id, got {n}"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("expected a numeric id, got {s:?}"))),
        other => Err(de::Error::custom(format!(
            "expected an id, got {}",
            kind(&other)
        ))),
    }
}

/// Like [`de_u64`], with null or absent meaning `None`.
pub(crate) fn de_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        value => de_u64(value).map(Some).map_err(de::Error::custom),
    }
}

/// A string sent as a string or a number (`store_id`, `network_node_id`); null is `None`.
pub(crate) fn de_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(de::Error::custom(format!(
            "expected a string, got {}",
            kind(&other)
        ))),
    }
}

/// A list that may be null or absent (empty), or a single value (one element).
pub(crate) fn de_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .map(|item| serde_json::from_value(item).map_err(de::Error::custom))
            .collect(),
        single => serde_json::from_value(single)
            .map(|one| vec![one])
            .map_err(de::Error::custom),
    }
}

/// A string that may be null or absent (empty string).
pub(crate) fn de_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    de_opt_string(d).map(Option::unwrap_or_default)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
