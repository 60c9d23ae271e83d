//! The one error type of the crate: every failure of a call to ML, named by what failed.
//!
//! Messages never carry tokens, client secrets or whole response bodies: body snippets are
//! short and pass through [`redacted_snippet`] first.

use std::time::Duration;

use crate::endpoint::Endpoint;

/// What went wrong talking to ML. Variants that end a request after retries say so.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The refresh token (or authorization code) is expired, revoked or already used: the
    /// seller must authorize the app again.
    #[error("oauth grant rejected, re-authorization needed: {description}")]
    InvalidGrant {
        /// ML's `error_description`.
        description: String,
    },

    /// The app id or secret was refused by the token endpoint.
    #[error("oauth client credentials rejected: {description}")]
    InvalidClient {
        /// ML's `error_description`.
        description: String,
    },

    /// Any other error answered by the token endpoint (`invalid_scope`, `forbidden`, ..).
    #[error("oauth token call failed with status {status}: {error}: {description}")]
    OAuth {
        /// ML's `error` code.
        error: String,
        /// ML's `error_description` (or message).
        description: String,
        /// HTTP status of the answer.
        status: u16,
    },

    /// ML answered 401 even after one token refresh and one retry.
    #[error("{endpoint} call unauthorized after one token refresh")]
    Unauthorized {
        /// The endpoint that refused the token.
        endpoint: Endpoint,
    },

    /// 403: another user's data, an IP allow-list or missing scopes.
    #[error("{endpoint} call forbidden: {message}")]
    Forbidden {
        /// The endpoint that answered 403.
        endpoint: Endpoint,
        /// ML's message.
        message: String,
    },

    /// 404 on a resource (including user-product stock with no locations).
    #[error("{endpoint} resource not found: {message}")]
    NotFound {
        /// The endpoint that answered 404.
        endpoint: Endpoint,
        /// ML's message (e.g. `stock-locations not found`).
        message: String,
    },

    /// 429 on every allowed attempt, or a `Retry-After` longer than the client may wait.
    #[error("{endpoint} call rate limited after retries (retry after {retry_after:?})")]
    RateLimited {
        /// The endpoint that answered 429.
        endpoint: Endpoint,
        /// The last `Retry-After` ML sent, when it sent one.
        retry_after: Option<Duration>,
    },

    /// 5xx on every allowed attempt.
    #[error("{endpoint} call failed with server status {status} after retries")]
    Server {
        /// The endpoint that answered 5xx.
        endpoint: Endpoint,
        /// The last status received.
        status: u16,
    },

    /// Any other non-success status (400, 409, ..).
    #[error("{endpoint} call failed with status {status}: {message}")]
    Status {
        /// The endpoint that answered.
        endpoint: Endpoint,
        /// HTTP status.
        status: u16,
        /// ML's message, or a short redacted snippet of the body.
        message: String,
    },

    /// A response that does not have the documented shape. Never a panic.
    #[error("{endpoint} response could not be decoded: {message}")]
    Decode {
        /// The endpoint whose answer was malformed.
        endpoint: Endpoint,
        /// What did not parse, with a short redacted snippet.
        message: String,
    },

    /// Timeouts, refused connections and resets, after the allowed attempts.
    #[error("{endpoint} call failed in transport: {message}")]
    Transport {
        /// The endpoint being called.
        endpoint: Endpoint,
        /// The transport failure.
        message: String,
    },

    /// The scan's scroll id was refused (404) in the middle of a scan: it expired or was used
    /// up. The scan must start again from the beginning.
    #[error("items scan scroll expired or was used up; the scan must restart")]
    ScrollExpired,

    /// Invalid client settings or arguments, found before any call is made.
    #[error("invalid meli-api configuration: {0}")]
    Config(String),

    /// A [`crate::TokenProvider`] could not read or save the seller's tokens in its own
    /// storage (a database, a file); no request was sent with an unsaved token.
    #[error("token storage failed: {0}")]
    TokenStorage(String),
}

impl Error {
    /// True when only a new authorization by the seller can fix this (the stored grant is
    /// dead), so callers can mark the seller `needs_reauth` instead of retrying.
    pub fn is_reauth_required(&self) -> bool {
        matches!(self, Error::InvalidGrant { .. })
    }
}

/// Longest body excerpt carried by an error.
const SNIPPET_CHARS: usize = 120;

/// A short, single-line excerpt of a response body with anything token-shaped masked, for
/// error messages. Tokens issued by ML start with `APP_USR-` (access) or `TG-` (refresh).
pub(crate) fn redacted_snippet(body: &[u8]) -> String {
    redact(&String::from_utf8_lossy(body), SNIPPET_CHARS)
}

/// `text` on one line, token-shaped words masked, cut to about `max_chars` characters.
pub(crate) fn redact(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut cut = false;

    for word in text.split_whitespace() {
        if out.chars().count() >= max_chars {
            cut = true;
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&mask_word(word));
    }

    if out.chars().count() > max_chars {
        out = out.chars().take(max_chars).collect::<String>();
        cut = true;
    }
    if cut {
        out.push_str(" ...");
    }
    out
}

/// Masks every token-shaped run inside `word`, keeping the surrounding punctuation.
fn mask_word(word: &str) -> String {
    let mut out = String::new();
    let mut rest = word;

    while let Some(pos) = find_token_start(rest) {
        out.push_str(&rest[..pos]);
        out.push_str("[redacted]");
        let tail = &rest[pos..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn find_token_start(text: &str) -> Option<usize> {
    ["APP_USR-", "TG-"]
        .iter()
        .filter_map(|prefix| text.find(prefix))
        .min()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn snippet_masks_tokens_and_stays_short() {
        let body = br#"{"access_token":"APP_USR-123-abc-9","refresh_token":"TG-ff00-9"}"#;
        let snippet = redacted_snippet(body);

        assert!(!snippet.contains("APP_USR-123"), "{snippet}");
        assert!(!snippet.contains("TG-ff00"), "{snippet}");
        assert!(snippet.contains("[redacted]"), "{snippet}");

        let long = "x ".repeat(500);
        assert!(redacted_snippet(long.as_bytes()).chars().count() <= SNIPPET_CHARS + 8);
    }

    #[test]
    fn only_invalid_grant_requires_reauth() {
        let grant = Error::InvalidGrant {
            description: "used".into(),
        };
        let client = Error::InvalidClient {
            description: "bad".into(),
        };

        assert!(grant.is_reauth_required());
        assert!(!client.is_reauth_required());
        assert!(!Error::ScrollExpired.is_reauth_required());
    }
}
