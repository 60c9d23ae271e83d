//! OAuth state: registered apps, authorization codes, grants with their rotating refresh
//! token, and issued access tokens.
//!
//! Behaviours (doc §1):
//! - Codes are single-use \[A: lifetime 10 min], bound to the exact `redirect_uri` [D:auth],
//!   and carry a PKCE challenge (`S256` or `plain`) that is required when the app has PKCE
//!   on [D:auth].
//! - Every refresh rotates the refresh token; only the latest one of a grant is valid, only
//!   for its own `client_id`, and only for 6 months (180 days \[A\]) on the simulated clock
//!   [D:auth]. Anything else is 400 `invalid_grant` with the documented body.
//! - Wrong client credentials give 400 `invalid_client` \[A\] (doc §1.4 gives no status).
//! - With `refresh_kills_previous_access` a refresh ends the access tokens issued before it
//!   under the same grant (legacy FAQ, doc §1.3).
//! - Access tokens look like `APP_USR-<app>-<MMDDhh>-<hex>-<user_id>`; any bearer value not
//!   shaped like that is "malformed" (400) \[A\], a well-formed unknown or expired one is 401.

mod grants;
mod routes;

use std::collections::HashMap;

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub(crate) use routes::{authorization, token};

/// Refresh tokens older than this fail with `invalid_grant` (doc §1.3: 6 months).
pub const REFRESH_TOKEN_LIFETIME: std::time::Duration =
    std::time::Duration::from_secs(180 * 86_400);
/// Authorization codes live this long \[A\].
const CODE_LIFETIME: TimeDelta = TimeDelta::minutes(10);

/// An OAuth application known to the simulator.
#[derive(Clone, PartialEq, Eq)]
pub struct AppRegistration {
    /// Numeric `client_id`.
    pub app_id: String,
    /// `client_secret`.
    pub secret: String,
    /// The one redirect URI accepted for this app (exact match, doc §1.1).
    pub redirect_uri: String,
    /// Whether authorization requires a PKCE challenge (`use_pkce`, doc §1.1).
    pub use_pkce: bool,
}

impl std::fmt::Debug for AppRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRegistration")
            .field("app_id", &self.app_id)
            .field("secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .field("use_pkce", &self.use_pkce)
            .finish()
    }
}

#[derive(Debug)]
struct Code {
    app_id: String,
    user_id: u64,
    redirect_uri: String,
    challenge: Option<(String, String)>,
    expires_at: DateTime<Utc>,
}

#[derive(Debug)]
struct AccessRecord {
    user_id: u64,
    grant: u64,
    expires_at: DateTime<Utc>,
    revoked: bool,
}

#[derive(Debug)]
struct Grant {
    app_id: String,
    user_id: u64,
    revoked: bool,
    refresh_token: String,
    refresh_issued_at: DateTime<Utc>,
    access_tokens: Vec<String>,
}

/// The `POST /oauth/token` success body (doc §1.2).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    pub(crate) token_type: &'static str,
    pub(crate) expires_in: u64,
    pub(crate) scope: &'static str,
    pub(crate) user_id: u64,
    pub(crate) refresh_token: String,
}

/// The fields of an `authorization_code` token request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CodeExchange<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) secret: &'a str,
    pub(crate) code: &'a str,
    pub(crate) redirect_uri: &'a str,
    pub(crate) verifier: Option<&'a str>,
}

/// Settings the token logic needs from [`crate::SimConfig`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenPolicy {
    pub(crate) access_ttl: std::time::Duration,
    pub(crate) refresh_kills_previous_access: bool,
}

/// Who a valid access token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub(crate) app_id: String,
    pub(crate) user_id: u64,
}

#[derive(Debug, Default)]
pub(crate) struct AuthState {
    apps: HashMap<String, AppRegistration>,
    codes: HashMap<String, Code>,
    access: HashMap<String, AccessRecord>,
    refresh_index: HashMap<String, u64>,
    grants: HashMap<u64, Grant>,
    next_grant: u64,
    latest_grant: Option<u64>,
}

fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// The app part of a well-formed access token, used to key rate limits.
pub(crate) fn app_of_token(token: &str) -> Option<&str> {
    let rest = token.strip_prefix("APP_USR-")?;
    let parts: Vec<&str> = rest.split('-').collect();
    let [app, stamp, hex, user] = parts.as_slice() else {
        return None;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = digits(app)
        && stamp.len() == 6
        && digits(stamp)
        && !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && digits(user);
    well_formed.then_some(*app)
}

fn token_response(
    access_token: String,
    refresh_token: String,
    user_id: u64,
    policy: TokenPolicy,
) -> TokenResponse {
    TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: policy.access_ttl.as_secs(),
        scope: "offline_access read write",
        user_id,
        refresh_token,
    }
}

/// RFC 7636 check: `S256` compares base64url(sha256(verifier)) without padding.
pub(crate) fn pkce_matches(challenge: &str, method: &str, verifier: &str) -> bool {
    match method {
        "plain" => challenge == verifier,
        _ => {
            let digest = Sha256::digest(verifier.as_bytes());
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) == challenge
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_of_token_accepts_only_the_documented_shape() {
        assert_eq!(app_of_token("APP_USR-123-010203-abcdef-99"), Some("123"));
        assert_eq!(app_of_token("APP_USR-123-0102-abcdef-99"), None);
        assert_eq!(app_of_token("garbage"), None);
    }

    #[test]
    fn pkce_s256_matches_the_rfc_7636_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

        assert!(pkce_matches(challenge, "S256", verifier));
        assert!(!pkce_matches(challenge, "S256", "other"));
    }
}
