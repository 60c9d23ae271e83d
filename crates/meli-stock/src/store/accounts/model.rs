//! Plain data of the account tables: accounts with their sealed tokens, account events,
//! pending authorizations. Tokens only ever appear here as [`Sealed`] ciphertext.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A value encrypted by [`crate::tokens::TokenCipher`]: version byte, nonce, ciphertext and
/// tag. `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(pub Vec<u8>);

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

/// Whether an account's tokens work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// The stored pair works, as far as meli-stock knows.
    Ok,
    /// ML refused the refresh token: the seller must authorize the app again.
    ReauthRequired,
}

impl AccountStatus {
    /// The value stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Ok => "ok",
            AccountStatus::ReauthRequired => "reauth_required",
        }
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ok" => Ok(AccountStatus::Ok),
            "reauth_required" => Ok(AccountStatus::ReauthRequired),
            other => Err(format!("unknown account status {other:?}")),
        }
    }
}

/// One seller account as stored.
#[derive(Clone, Debug)]
pub struct AccountRow {
    pub seller_id: u64,
    /// The ML application (`client_id`) the tokens were issued to.
    pub app_id: String,
    /// The seller's site (`MLC`, `MLA`, ..), when known.
    pub site_id: Option<String>,
    pub nickname: Option<String>,
    pub access_token: Sealed,
    /// Absent when the grant lacks `offline_access`.
    pub refresh_token: Option<Sealed>,
    pub access_expires_at: DateTime<Utc>,
    /// When ML issued the current pair (access and refresh token come together).
    pub refresh_issued_at: Option<DateTime<Utc>>,
    pub last_refresh_at: Option<DateTime<Utc>>,
    pub refresh_count: u64,
    pub status: AccountStatus,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new token pair for an account, from a refresh or a code exchange.
#[derive(Clone, Debug)]
pub struct TokenWrite {
    pub access_token: Sealed,
    pub refresh_token: Option<Sealed>,
    pub access_expires_at: DateTime<Utc>,
    /// When ML issued the pair; stored as `refresh_issued_at` (and `last_refresh_at`).
    pub issued_at: DateTime<Utc>,
    /// A refresh (counted, `last_refresh_at` set) rather than a new authorization.
    pub refreshed: bool,
}

/// Kinds of account events. Stored as text so later kinds need no migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Tokens taken from the settings (`ML_REFRESH_TOKEN`) on first use or after reauth.
    Imported,
    /// Tokens from a code exchange (`meli-stock auth exchange`, the demo).
    Authorized,
    /// The pair was refreshed and the new one stored.
    Refreshed,
    /// A refresh failed for a reason other than a dead grant (network, 5xx, the store).
    RefreshFailed,
    /// ML refused the refresh token.
    ReauthRequired,
    /// The account was removed.
    Removed,
    /// The tokens were re-encrypted with a new key.
    KeyRotated,
}

impl EventKind {
    /// The value stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Imported => "imported",
            EventKind::Authorized => "authorized",
            EventKind::Refreshed => "refreshed",
            EventKind::RefreshFailed => "refresh_failed",
            EventKind::ReauthRequired => "reauth_required",
            EventKind::Removed => "removed",
            EventKind::KeyRotated => "key_rotated",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the account event log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub seller_id: u64,
    /// An [`EventKind`] as text.
    pub kind: String,
    /// Human detail; token fingerprints at most, never tokens.
    pub detail: Option<String>,
}

/// An authorization started by `meli-stock auth url` and not yet exchanged.
#[derive(Clone, Debug)]
pub struct PendingAuthorization {
    /// The `state` sent in the authorization URL.
    pub state: String,
    pub app_id: String,
    pub site_id: String,
    pub redirect_uri: String,
    /// The PKCE verifier, sealed.
    pub verifier: Sealed,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}
