//! The token pair ML issues, and how its JSON is read (doc §1.2).

use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Deserialize;

use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::models::lenient::{self, de_u64};

/// An access token with the refresh token that replaces it. `Debug` never shows either.
#[derive(Clone)]
pub struct TokenSet {
    /// Sent as `Authorization: Bearer`.
    pub access_token: SecretString,
    /// Single-use: every refresh returns a new one and kills this one (doc §1.3). Absent when
    /// the grant lacks `offline_access`.
    pub refresh_token: Option<SecretString>,
    /// Receipt time plus `expires_in`.
    pub expires_at: DateTime<Utc>,
    /// The seller the pair belongs to.
    pub user_id: u64,
    /// Granted scopes, space separated.
    pub scope: Option<String>,
}

impl TokenSet {
    /// True when the access token expires within `margin` of `now`.
    pub fn expires_within(&self, margin: chrono::Duration, now: DateTime<Utc>) -> bool {
        self.expires_at
            .checked_sub_signed(margin)
            .is_none_or(|refresh_at| refresh_at <= now)
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_at", &self.expires_at)
            .field("user_id", &self.user_id)
            .field("scope", &self.scope)
            .finish()
    }
}

/// The success body of `POST /oauth/token`. Unknown fields are ignored.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    token_type: String,
    expires_in: i64,
    #[serde(default)]
    scope: Option<String>,
    #[serde(deserialize_with = "de_u64")]
    user_id: u64,
    #[serde(default)]
    refresh_token: Option<SecretString>,
}

/// The error body of `POST /oauth/token`; every field optional because shapes vary.
#[derive(Deserialize, Default)]
pub(crate) struct TokenErrorBody {
    #[serde(default, deserialize_with = "lenient::de_opt_string")]
    pub(crate) error: Option<String>,
    #[serde(default, deserialize_with = "lenient::de_opt_string")]
    pub(crate) error_description: Option<String>,
    #[serde(default, deserialize_with = "lenient::de_opt_string")]
    pub(crate) message: Option<String>,
}

/// Reads a success body received at `received_at`.
///
/// The error message names only what failed and where: a token body is all secrets, so no
/// snippet of it is ever quoted.
pub(crate) fn parse_token_response(
    body: &[u8],
    received_at: DateTime<Utc>,
) -> Result<TokenSet, Error> {
    let wire: TokenResponse = serde_json::from_slice(body).map_err(|e| Error::Decode {
        endpoint: Endpoint::OAuthToken,
        message: format!(
            "token response is not the documented shape ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ),
    })?;

    // ML sends both `bearer` and `Bearer` (doc §1.2).
    if !wire.token_type.eq_ignore_ascii_case("bearer") {
        return Err(Error::Decode {
            endpoint: Endpoint::OAuthToken,
            message: format!("token_type {:?} is not bearer", wire.token_type),
        });
    }
    if wire.expires_in <= 0 {
        return Err(Error::Decode {
            endpoint: Endpoint::OAuthToken,
            message: format!("expires_in {} is not positive", wire.expires_in),
        });
    }

    Ok(TokenSet {
        access_token: wire.access_token,
        refresh_token: wire.refresh_token,
        expires_at: received_at + chrono::Duration::seconds(wire.expires_in),
        user_id: wire.user_id,
        scope: wire.scope,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use secrecy::ExposeSecret;

    use super::*;

    const DOC_BODY: &str = r#"{"access_token":"APP_USR-1-0101-abc-123","token_type":"Bearer",
        "expires_in":21600,"scope":"offline_access read write","user_id":123,
        "refresh_token":"TG-abc-123","extra":true}"#;

    #[test]
    fn doc_sample_parses_with_expiry_from_receipt() {
        let now = Utc::now();
        let tokens = parse_token_response(DOC_BODY.as_bytes(), now).unwrap();

        assert_eq!(
            tokens.access_token.expose_secret(),
            "APP_USR-1-0101-abc-123"
        );
        assert_eq!(tokens.expires_at, now + chrono::Duration::seconds(21600));
        assert_eq!(tokens.user_id, 123);
    }

    #[test]
    fn lowercase_bearer_and_string_user_id_are_accepted() {
        let body = r#"{"access_token":"a","token_type":"bearer","expires_in":10,
            "user_id":"987"}"#;
        let tokens = parse_token_response(body.as_bytes(), Utc::now()).unwrap();

        assert_eq!(tokens.user_id, 987);
        assert!(tokens.refresh_token.is_none());
    }

    #[test]
    fn decode_error_never_quotes_the_body() {
        let body = r#"{"access_token":"APP_USR-secret","token_type":"bearer","expires_in":"x",
            "user_id":1}"#;
        let err = parse_token_response(body.as_bytes(), Utc::now()).unwrap_err();

        assert!(matches!(err, Error::Decode { .. }));
        assert!(!err.to_string().contains("APP_USR-secret"), "{err}");
    }

    #[test]
    fn debug_redacts_both_tokens() {
        let tokens = parse_token_response(DOC_BODY.as_bytes(), Utc::now()).unwrap();
        let shown = format!("{tokens:?}");

        assert!(!shown.contains("APP_USR"), "{shown}");
        assert!(!shown.contains("TG-"), "{shown}");
    }
}
