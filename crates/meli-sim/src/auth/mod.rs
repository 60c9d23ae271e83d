//! OAuth state: registered apps, authorization codes, grants with their rotating refresh
//! token, and issued access tokens.
//!
//! Behaviours (doc §1):
//! - Codes are single-use [A: lifetime 10 min], bound to the exact `redirect_uri` [D:auth],
//!   and carry a PKCE challenge (`S256` or `plain`) that is required when the app has PKCE
//!   on [D:auth].
//! - Every refresh rotates the refresh token; only the latest one of a grant is valid, only
//!   for its own `client_id`, and only for 6 months (180 days [A]) on the simulated clock
//!   [D:auth]. Anything else is 400 `invalid_grant` with the documented body.
//! - Wrong client credentials give 400 `invalid_client` [A] (doc §1.4 gives no status).
//! - With `refresh_kills_previous_access` a refresh ends the access tokens issued before it
//!   under the same grant (legacy FAQ, doc §1.3).
//! - Access tokens look like `APP_USR-<app>-<MMDDhh>-<hex>-<user_id>`; any bearer value not
//!   shaped like that is "malformed" (400) [A], a well-formed unknown or expired one is 401.

mod routes;

use std::collections::HashMap;

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub(crate) use routes::{authorization, token};

use crate::errors::{MlError, OAuthError};

/// Refresh tokens older than this fail with `invalid_grant` (doc §1.3: 6 months).
pub const REFRESH_TOKEN_LIFETIME: std::time::Duration =
    std::time::Duration::from_secs(180 * 86_400);
/// Authorization codes live this long [A].
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

impl AuthState {
    pub(crate) fn register(&mut self, app: AppRegistration) {
        self.apps.insert(app.app_id.clone(), app);
    }

    fn client(&self, client_id: &str, secret: &str) -> Result<&AppRegistration, OAuthError> {
        self.apps
            .get(client_id)
            .filter(|app| app.secret == secret)
            .ok_or_else(OAuthError::invalid_client)
    }

    /// Mints a single-use code, as the browser step of doc §1.1 would.
    pub(crate) fn authorize(
        &mut self,
        app_id: &str,
        redirect_uri: &str,
        challenge: Option<(&str, &str)>,
        user_id: u64,
        now: DateTime<Utc>,
    ) -> Result<String, OAuthError> {
        let Some(app) = self.apps.get(app_id) else {
            return Err(OAuthError::new(
                "invalid_client",
                format!("unknown client_id {app_id}"),
            ));
        };
        if app.redirect_uri != redirect_uri {
            return Err(OAuthError::new(
                "invalid_request",
                "redirect_uri does not match the application's registered redirect_uri",
            ));
        }
        if let Some((_, method)) = challenge {
            if method != "S256" && method != "plain" {
                return Err(OAuthError::new(
                    "invalid_request",
                    format!("unsupported code_challenge_method {method}"),
                ));
            }
        } else if app.use_pkce {
            return Err(OAuthError::new(
                "invalid_request",
                "code_challenge is required: the application uses PKCE",
            ));
        }

        let code = format!("TG-{}-{user_id}", random_hex(12));
        self.codes.insert(
            code.clone(),
            Code {
                app_id: app_id.to_owned(),
                user_id,
                redirect_uri: redirect_uri.to_owned(),
                challenge: challenge.map(|(c, m)| (c.to_owned(), m.to_owned())),
                expires_at: now + CODE_LIFETIME,
            },
        );
        Ok(code)
    }

    /// `grant_type=authorization_code`.
    pub(crate) fn exchange_code(
        &mut self,
        request: &CodeExchange<'_>,
        policy: TokenPolicy,
        now: DateTime<Utc>,
    ) -> Result<TokenResponse, OAuthError> {
        let client_id = request.client_id;
        self.client(client_id, request.secret)?;

        // A code is spent by any attempt that names it, right or wrong [A].
        let Some(entry) = self.codes.remove(request.code) else {
            return Err(OAuthError::invalid_grant());
        };
        let verified = match (&entry.challenge, request.verifier) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some((challenge, method)), Some(verifier)) => {
                pkce_matches(challenge, method, verifier)
            }
        };
        if entry.app_id != client_id
            || entry.redirect_uri != request.redirect_uri
            || entry.expires_at <= now
            || !verified
        {
            return Err(OAuthError::invalid_grant());
        }

        Ok(self.open_grant(client_id, entry.user_id, policy, now))
    }

    /// Creates a grant with a fresh token pair (also used for the initial seller tokens).
    pub(crate) fn open_grant(
        &mut self,
        app_id: &str,
        user_id: u64,
        policy: TokenPolicy,
        now: DateTime<Utc>,
    ) -> TokenResponse {
        self.next_grant += 1;
        let id = self.next_grant;
        let refresh_token = format!("TG-{}-{user_id}", random_hex(12));
        self.refresh_index.insert(refresh_token.clone(), id);
        self.grants.insert(
            id,
            Grant {
                app_id: app_id.to_owned(),
                user_id,
                revoked: false,
                refresh_token: refresh_token.clone(),
                refresh_issued_at: now,
                access_tokens: Vec::new(),
            },
        );
        self.latest_grant = Some(id);
        let access_token = self.issue_access(id, policy, now);
        token_response(access_token, refresh_token, user_id, policy)
    }

    fn issue_access(&mut self, grant_id: u64, policy: TokenPolicy, now: DateTime<Utc>) -> String {
        let Some(grant) = self.grants.get_mut(&grant_id) else {
            return String::new();
        };
        let token = format!(
            "APP_USR-{}-{}-{}-{}",
            grant.app_id,
            now.format("%m%d%H"),
            random_hex(16),
            grant.user_id
        );
        grant.access_tokens.push(token.clone());
        self.access.insert(
            token.clone(),
            AccessRecord {
                user_id: grant.user_id,
                grant: grant_id,
                expires_at: now + crate::clock::delta(policy.access_ttl),
                revoked: false,
            },
        );
        token
    }

    /// `grant_type=refresh_token`: rotate, exactly once per refresh token.
    pub(crate) fn refresh(
        &mut self,
        client_id: &str,
        secret: &str,
        refresh_token: &str,
        policy: TokenPolicy,
        now: DateTime<Utc>,
    ) -> Result<TokenResponse, OAuthError> {
        self.client(client_id, secret)?;

        let grant_id = self.refresh_index.get(refresh_token).copied();
        let Some(grant) = grant_id.and_then(|id| self.grants.get_mut(&id)) else {
            return Err(OAuthError::invalid_grant());
        };
        let lifetime = crate::clock::delta(REFRESH_TOKEN_LIFETIME);
        if grant.revoked
            || grant.refresh_token != refresh_token
            || grant.app_id != client_id
            || now - grant.refresh_issued_at >= lifetime
        {
            return Err(OAuthError::invalid_grant());
        }

        let user_id = grant.user_id;
        let new_refresh = format!("TG-{}-{user_id}", random_hex(12));
        grant.refresh_token = new_refresh.clone();
        grant.refresh_issued_at = now;
        if policy.refresh_kills_previous_access {
            for token in std::mem::take(&mut grant.access_tokens) {
                if let Some(record) = self.access.get_mut(&token) {
                    record.revoked = true;
                }
            }
        }
        self.refresh_index
            .insert(new_refresh.clone(), grant_id.unwrap_or_default());
        self.latest_grant = grant_id;

        let access_token = self.issue_access(grant_id.unwrap_or_default(), policy, now);
        Ok(token_response(access_token, new_refresh, user_id, policy))
    }

    /// Checks an `Authorization` header value for a resource call.
    pub(crate) fn check(
        &self,
        header: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Caller, MlError> {
        let Some(header) = header else {
            return Err(MlError::invalid_token());
        };
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| app_of_token(token).is_some())
            .ok_or_else(|| MlError::bad_request("malformed access_token"))?;

        let record = self.access.get(token).ok_or_else(MlError::invalid_token)?;
        let grant = self
            .grants
            .get(&record.grant)
            .ok_or_else(MlError::invalid_token)?;
        if record.revoked || grant.revoked || record.expires_at <= now {
            return Err(MlError::invalid_token());
        }
        Ok(Caller {
            app_id: grant.app_id.clone(),
            user_id: record.user_id,
        })
    }

    /// Revokes every grant: their access and refresh tokens stop working.
    pub(crate) fn revoke_all(&mut self) {
        for grant in self.grants.values_mut() {
            grant.revoked = true;
        }
    }

    /// Expires every access token issued so far (refresh tokens keep working).
    pub(crate) fn expire_access_tokens(&mut self, now: DateTime<Utc>) {
        for record in self.access.values_mut() {
            record.expires_at = record.expires_at.min(now);
        }
    }

    /// The newest access token and refresh token of the most recent grant.
    pub(crate) fn latest_pair(&self) -> Option<(String, String)> {
        let grant = self.grants.get(&self.latest_grant?)?;
        let access = grant.access_tokens.last().cloned().unwrap_or_default();
        Some((access, grant.refresh_token.clone()))
    }
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
