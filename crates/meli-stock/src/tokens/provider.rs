//! [`StoredTokenProvider`]: the [`TokenProvider`] whose tokens live in the store, shared
//! by every process that syncs the seller.
//!
//! A request takes the access token held in memory while it is not due. When it is due
//! (less than the refresh margin left), or ML answered 401 to it, the provider refreshes
//! single-flight, within the process (a mutex) and across processes (the account row
//! lock of a [`crate::store::TokenTx`]):
//! 1. lock the seller's row and read it again: when another process has replaced the
//!    token meanwhile, use that one and do not refresh;
//! 2. refresh with the stored refresh token;
//! 3. store the new pair and a `refreshed` event, commit, and only then use the new token.
//!
//! When storing fails after ML has rotated the pair (the old refresh token is dead), the
//! new pair is kept in memory and storing is retried with backoff; nothing refreshes with
//! the old token again. A retry that finds the new pair already stored (the commit went
//! through, its answer was lost) or a newer authorization keeps that. If every retry fails
//! the request fails with [`meli_api::Error::TokenStorage`], and the next request retries
//! storing first.
//!
//! `invalid_grant` marks the account `reauth_required`, with the error recorded and a
//! `reauth_required` event; the provider then refuses to call ML for it until the seller is
//! authorized again. Other refresh failures are recorded as `refresh_failed` events; while
//! the current token has not expired yet, requests go on with it.
//!
//! Logs name tokens by [`meli_api::token_fingerprint`] only.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use meli_api::{ExposeSecret, OAuthClient, SecretString, TokenProvider, token_fingerprint};
use tokio::sync::Mutex;
use tracing::{debug, warn};

use super::save::Unsaved;
use super::vault::{StoredPair, Vault};
use crate::store::{AccountStatus, EventKind};

/// Called after the new pair is written and before the commit; an `Err` aborts that
/// attempt as a failed commit would. It lets tests fail a commit after ML has rotated.
pub type CommitHook = Arc<dyn Fn(CommitAttempt) -> Result<(), String> + Send + Sync>;

/// Which store attempt a [`CommitHook`] is called for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitAttempt {
    pub seller_id: u64,
    /// 1 for the commit right after the refresh, 2 and up for retries.
    pub attempt: u32,
}

/// How the provider refreshes and how hard it tries to store a new pair.
#[derive(Clone)]
pub struct ProviderOptions {
    /// Refresh this long before expiry (capped at half the token's lifetime).
    pub refresh_margin: Duration,
    /// Attempts to store a rotated pair before a request gives up.
    pub store_attempts: u32,
    /// Wait before the first retry; doubled after each one.
    pub store_retry_delay: Duration,
    /// See [`CommitHook`].
    pub commit_hook: Option<CommitHook>,
}

impl Default for ProviderOptions {
    fn default() -> Self {
        ProviderOptions {
            refresh_margin: meli_api::DEFAULT_REFRESH_MARGIN,
            store_attempts: 6,
            store_retry_delay: Duration::from_millis(250),
            commit_hook: None,
        }
    }
}

impl fmt::Debug for ProviderOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderOptions")
            .field("refresh_margin", &self.refresh_margin)
            .field("store_attempts", &self.store_attempts)
            .field("store_retry_delay", &self.store_retry_delay)
            .field("commit_hook", &self.commit_hook.is_some())
            .finish()
    }
}

/// What triggered a look at the stored row.
#[derive(Clone, Copy)]
enum Trigger<'a> {
    /// The held token is due (or none is held yet).
    Due,
    /// ML refused this token.
    Rejected(&'a SecretString),
    /// `meli-stock auth refresh`.
    Forced,
    /// A refresh token from the settings, tried while the account is `reauth_required`.
    Replacement(&'a SecretString),
}

#[derive(Default)]
pub(super) struct Held {
    pub(super) current: Option<StoredPair>,
    pub(super) unsaved: Option<Unsaved>,
}

/// One seller's tokens, read from and written to the store.
pub struct StoredTokenProvider {
    pub(super) vault: Vault,
    oauth: OAuthClient,
    pub(super) seller_id: u64,
    pub(super) options: ProviderOptions,
    held: Mutex<Held>,
}

impl fmt::Debug for StoredTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTokenProvider")
            .field("seller_id", &self.seller_id)
            .field("app_id", &self.oauth.app_id())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl StoredTokenProvider {
    /// A provider for the stored account of `seller_id`, refreshing through `oauth` (which
    /// must be the account's app).
    pub fn new(
        vault: Vault,
        oauth: OAuthClient,
        seller_id: u64,
        options: ProviderOptions,
    ) -> StoredTokenProvider {
        StoredTokenProvider {
            vault,
            oauth,
            seller_id,
            options,
            held: Mutex::new(Held::default()),
        }
    }

    /// The seller this provider serves.
    pub fn seller_id(&self) -> u64 {
        self.seller_id
    }

    /// Refreshes now even when the token is not due (`meli-stock auth refresh`), unless
    /// another process refreshed while this one waited for the lock. Returns the new
    /// expiry.
    ///
    /// # Errors
    /// As [`TokenProvider::access_token`].
    pub async fn refresh_now(&self) -> Result<DateTime<Utc>, meli_api::Error> {
        let mut held = self.held.lock().await;
        self.save_pending(&mut held).await?;
        self.refresh_locked(&mut held, Trigger::Forced).await?;
        held.current
            .as_ref()
            .map(|p| p.expires_at)
            .ok_or_else(|| meli_api::Error::TokenStorage("no token held after refresh".into()))
    }

    /// Tries a refresh token from the settings on an account marked `reauth_required`;
    /// on success the account is `ok` again with the new pair (event `imported`).
    ///
    /// # Errors
    /// [`meli_api::Error::InvalidGrant`] when ML refuses that token too.
    pub async fn try_replacement(
        &self,
        refresh_token: &SecretString,
    ) -> Result<(), meli_api::Error> {
        let mut held = self.held.lock().await;
        self.save_pending(&mut held).await?;
        self.refresh_locked(&mut held, Trigger::Replacement(refresh_token))
            .await
    }

    /// Whether `pair` should be refreshed at `now`: less than the margin left, the margin
    /// capped at half the pair's lifetime so short-lived tokens are not refreshed on every
    /// call.
    pub(super) fn is_due(&self, pair: &StoredPair, now: DateTime<Utc>) -> bool {
        let margin = chrono::Duration::from_std(self.options.refresh_margin)
            .unwrap_or(chrono::Duration::MAX);
        let margin = match pair.issued_at {
            Some(issued) if issued < pair.expires_at => margin.min((pair.expires_at - issued) / 2),
            _ => margin,
        };
        pair.expires_at
            .checked_sub_signed(margin)
            .is_none_or(|refresh_at| refresh_at <= now)
    }

    /// Stores a pair that a previous request could not store; until that works, no token
    /// is handed out.
    async fn save_pending(&self, held: &mut Held) -> Result<(), meli_api::Error> {
        let Some(unsaved) = held.unsaved.take() else {
            return Ok(());
        };
        self.store_into(held, unsaved).await
    }

    /// Stores a rotated pair (from the second attempt on) and holds it; a pair that still
    /// cannot be stored stays held as unsaved, to be stored before anything else.
    async fn store_into(&self, held: &mut Held, unsaved: Unsaved) -> Result<(), meli_api::Error> {
        match self.store_with_retries(unsaved, 2).await {
            Ok(pair) => {
                held.current = Some(pair);
                Ok(())
            }
            Err((unsaved, e)) => {
                held.unsaved = Some(unsaved);
                Err(e)
            }
        }
    }

    /// Reads the row under its lock and refreshes when `trigger` still calls for it.
    async fn refresh_locked(
        &self,
        held: &mut Held,
        trigger: Trigger<'_>,
    ) -> Result<(), meli_api::Error> {
        let seller_id = self.seller_id;
        let mut tx = self.vault.store().begin_tokens().await.map_err(storage)?;
        let Some(row) = tx.account(seller_id).await.map_err(storage)? else {
            return Err(meli_api::Error::TokenStorage(format!(
                "no account is stored for seller {seller_id}"
            )));
        };
        let replacement = match trigger {
            Trigger::Replacement(token) => Some(token),
            _ => None,
        };
        if row.status == AccountStatus::ReauthRequired && replacement.is_none() {
            return Err(meli_api::Error::InvalidGrant {
                description: format!(
                    "seller {seller_id} is marked reauth_required ({})",
                    row.last_error
                        .as_deref()
                        .map_or("refresh token refused", super::error::refusal_detail)
                ),
            });
        }
        let stored = self.vault.open_pair(&row).map_err(storage)?;

        let now = Utc::now();
        let replaced_elsewhere = match trigger {
            Trigger::Due => !self.is_due(&stored, now),
            Trigger::Rejected(rejected) => {
                stored.access_token.expose_secret() != rejected.expose_secret()
            }
            Trigger::Forced => held.current.as_ref().is_some_and(|held| {
                held.access_token.expose_secret() != stored.access_token.expose_secret()
            }),
            // Another process repaired the account while this one waited.
            Trigger::Replacement(_) => row.status == AccountStatus::Ok,
        };
        if replaced_elsewhere {
            debug!(
                seller_id,
                token = %token_fingerprint(&stored.access_token),
                expires_at = %stored.expires_at,
                "using the stored access token"
            );
            held.current = Some(stored);
            return Ok(());
        }

        let kind = match replacement {
            Some(_) => EventKind::Imported,
            None => EventKind::Refreshed,
        };
        let Some(refresh_token) = replacement
            .cloned()
            .or_else(|| stored.refresh_token.clone())
        else {
            let e = meli_api::Error::InvalidGrant {
                description: "no refresh token is stored (the grant lacks offline_access)".into(),
            };
            self.mark_reauth(tx, &e).await;
            return Err(e);
        };

        let old = token_fingerprint(&stored.access_token);
        debug!(seller_id, old_token = %old, "refreshing the access token");
        let requested_at = crate::store::now_micros();
        match self.oauth.refresh(&refresh_token).await {
            Ok(fresh) => {
                let unsaved = Unsaved {
                    tokens: fresh,
                    issued_at: requested_at,
                    replaced_refresh: stored.refresh_token.clone().unwrap_or(refresh_token),
                    replaced_access: old,
                    kind,
                };
                match self.write_refresh(tx, &unsaved, 1).await {
                    Ok(()) => {
                        if let Some(e) = unsaved.owner_mismatch(self.seller_id) {
                            return Err(e);
                        }
                        held.current = Some(unsaved.pair());
                        Ok(())
                    }
                    Err(e) => {
                        warn!(
                            seller_id,
                            error = %e,
                            "storing the refreshed tokens failed; keeping them in memory and \
                             retrying"
                        );
                        self.store_into(held, unsaved).await
                    }
                }
            }
            Err(e) if e.is_reauth_required() => {
                let e = match replacement {
                    Some(token) => meli_api::Error::InvalidGrant {
                        description: format!(
                            "ML_REFRESH_TOKEN ({}) was refused as well: {}",
                            token_fingerprint(token),
                            super::error::refusal_detail(&e.to_string())
                        ),
                    },
                    None => e,
                };
                self.mark_reauth(tx, &e).await;
                held.current = None;
                Err(e)
            }
            Err(e) => {
                let detail = format!("refresh failed: {e}");
                if let Err(store_err) =
                    super::save::record_failure(tx, seller_id, row.status, &detail).await
                {
                    warn!(seller_id, error = %store_err, "recording the failed refresh failed");
                }
                let usable = matches!(trigger, Trigger::Due) && stored.expires_at > now;
                if usable {
                    warn!(
                        seller_id,
                        error = %e,
                        expires_at = %stored.expires_at,
                        "early token refresh failed; the current token is still valid"
                    );
                    held.current = Some(stored);
                    return Ok(());
                }
                Err(e)
            }
        }
    }
}

#[async_trait::async_trait]
impl TokenProvider for StoredTokenProvider {
    async fn access_token(&self) -> Result<SecretString, meli_api::Error> {
        let mut held = self.held.lock().await;
        self.save_pending(&mut held).await?;

        let now = Utc::now();
        if held.current.is_none() {
            // A plain read first: the row lock is only needed when a refresh is due.
            if let Some(row) = self
                .vault
                .store()
                .account(self.seller_id)
                .await
                .map_err(storage)?
            {
                if row.status == AccountStatus::Ok {
                    held.current = Some(self.vault.open_pair(&row).map_err(storage)?);
                }
            }
        }
        if let Some(pair) = held.current.as_ref().filter(|p| !self.is_due(p, now)) {
            return Ok(pair.access_token.clone());
        }

        self.refresh_locked(&mut held, Trigger::Due).await?;
        held.current
            .as_ref()
            .map(|p| p.access_token.clone())
            .ok_or_else(|| meli_api::Error::TokenStorage("no token held after refresh".into()))
    }

    async fn refresh_after_unauthorized(
        &self,
        rejected: &SecretString,
    ) -> Result<SecretString, meli_api::Error> {
        let mut held = self.held.lock().await;
        self.save_pending(&mut held).await?;

        if let Some(pair) = held
            .current
            .as_ref()
            .filter(|p| p.access_token.expose_secret() != rejected.expose_secret())
        {
            return Ok(pair.access_token.clone());
        }
        self.refresh_locked(&mut held, Trigger::Rejected(rejected))
            .await?;
        held.current
            .as_ref()
            .map(|p| p.access_token.clone())
            .ok_or_else(|| meli_api::Error::TokenStorage("no token held after refresh".into()))
    }

    fn token_calls(&self) -> Option<meli_api::CountersSnapshot> {
        Some(self.oauth.counters())
    }
}

/// A store or key failure, as the client error a provider returns.
pub(super) fn storage(e: impl fmt::Display) -> meli_api::Error {
    meli_api::Error::TokenStorage(e.to_string())
}
