//! Parsers of setting values: numbers, shares, URLs, durations, keys. Each returns a
//! message saying what was expected, never the value of a secret.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

pub(crate) fn parse_u64(v: &str) -> Result<u64, String> {
    v.parse()
        .map_err(|_| format!("`{v}` is not a whole number"))
}

pub(crate) fn positive_u32(n: u64, what: &str) -> Result<u32, String> {
    match u32::try_from(n) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "expected a number of {what} from 1 to {}",
            u32::MAX
        )),
    }
}

pub(crate) fn positive_f64(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("`{v}` is not a positive number")),
    }
}

pub(crate) fn share(v: &str) -> Result<f64, String> {
    match v.trim_end_matches('%').parse::<f64>() {
        Ok(x) if v.ends_with('%') && (0.0..=100.0).contains(&x) => Ok(x / 100.0),
        Ok(x) if !v.ends_with('%') && (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!(
            "`{v}` is not a share between 0 and 1 (or 0% and 100%)"
        )),
    }
}

/// A token key: 64 hex characters, never echoed in the error.
pub(crate) fn parse_key(v: &str) -> Result<SecretString, String> {
    crate::tokens::TokenKey::from_hex(v)?;
    Ok(SecretString::from(v.to_owned()))
}

pub(crate) fn parse_url(v: &str) -> Result<Url, String> {
    let url = Url::parse(v).map_err(|e| format!("`{v}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{v}` must be an http or https URL"));
    }
    Ok(url)
}

/// Parses `90s`, `30m`, `24h`, `2d` or plain seconds.
pub fn parse_duration(v: &str) -> Result<Duration, String> {
    if let Ok(secs) = v.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(v).map_err(|_| format!("`{v}` is not a duration such as 30m or 24h"))
}
