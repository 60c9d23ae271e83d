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
        Value::Array(items) => {
            // Sized up front: collecting through `Result` starts at a capacity of four, and
            // the lists kept for a whole run (stock locations) mostly hold one or two.
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(serde_json::from_value(item).map_err(de::Error::custom)?);
            }
            Ok(out)
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde::Deserialize;

    use super::de_vec;

    #[derive(Debug, Deserialize)]
    struct List {
        #[serde(default, deserialize_with = "de_vec")]
        items: Vec<u32>,
    }

    fn list(json: &str) -> Vec<u32> {
        serde_json::from_str::<List>(json).unwrap().items
    }

    #[test]
    fn a_list_holds_no_more_room_than_its_items() {
        let items = list(r#"{"items":[1,2]}"#);

        assert_eq!(items, vec![1, 2]);
        assert_eq!(items.capacity(), 2);
    }

    #[test]
    fn null_absent_and_single_values_are_lists() {
        assert_eq!(list(r#"{"items":null}"#), Vec::<u32>::new());
        assert_eq!(list("{}"), Vec::<u32>::new());
        assert_eq!(list(r#"{"items":7}"#), vec![7]);
    }
}
