//! Storing a pair ML has just rotated: the first attempt inside the refresh's own
//! transaction, and the retries that follow a failed commit.
//!
//! Also the bookkeeping of failed refreshes: a dead grant (`reauth_required`) and other
//! failures (`refresh_failed`).
//!
//! A retry locks the row again and compares the stored refresh token with the one the
//! refresh replaced: still the old one, so the new pair is written; already the new one, so
//! the earlier commit went through; anything else, so the seller was authorized again
//! meanwhile and that newer pair wins.

use chrono::{DateTime, Utc};
use meli_api::{ExposeSecret, SecretString, TokenSet, token_fingerprint};
use tracing::{error, info, warn};

use super::provider::{CommitAttempt, StoredTokenProvider};
use super::vault::StoredPair;
use crate::store::{AccountStatus, EventKind, StoreError, TokenTx};

/// A rotated pair not yet known to be stored.
pub(super) struct Unsaved {
    pub(super) tokens: TokenSet,
    pub(super) issued_at: DateTime<Utc>,
    /// The refresh token the refresh used, dead now.
    pub(super) replaced_refresh: SecretString,
    /// Fingerprint of the access token it replaced, for the event.
    pub(super) replaced_access: String,
    /// `refreshed`, or `imported` for a refresh token taken from the settings.
    pub(super) kind: EventKind,
}

impl Unsaved {
    /// The error to end the request with when ML issued the pair to another user than the
    /// seller it is stored for (the account is marked `reauth_required` then).
    pub(super) fn owner_mismatch(&self, seller_id: u64) -> Option<meli_api::Error> {
        (self.tokens.user_id != seller_id).then(|| meli_api::Error::InvalidGrant {
            description: format!(
                "the refresh token stored for seller {seller_id} belongs to user {}",
                self.tokens.user_id
            ),
        })
    }

    pub(super) fn pair(&self) -> StoredPair {
        StoredPair {
            access_token: self.tokens.access_token.clone(),
            refresh_token: self.tokens.refresh_token.clone(),
            expires_at: self.tokens.expires_at,
            issued_at: Some(self.issued_at),
        }
    }
}

/// How a retry ended.
pub(super) enum SaveOutcome {
    Stored,
    AlreadyStored,
    Superseded(StoredPair),
}

fn same(a: Option<&SecretString>, b: Option<&SecretString>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.expose_secret() == b.expose_secret(),
        _ => false,
    }
}

impl StoredTokenProvider {
    /// Writes the new pair and a `refreshed` event in `tx`, runs the commit hook, commits.
    pub(super) async fn write_refresh(
        &self,
        mut tx: TokenTx,
        unsaved: &Unsaved,
        attempt: u32,
    ) -> Result<(), String> {
        let seller_id = self.seller_id;
        let write = self
            .vault
            .token_write(seller_id, &unsaved.tokens, unsaved.issued_at, true);
        let new = token_fingerprint(&unsaved.tokens.access_token);
        let source = match unsaved.kind {
            EventKind::Imported => " (refresh token from ML_REFRESH_TOKEN)",
            _ => "",
        };
        let detail = format!(
            "access token {} replaced by {new}, valid until {}{source}",
            unsaved.replaced_access,
            unsaved.tokens.expires_at.to_rfc3339()
        );

        tx.write_tokens(seller_id, &write)
            .await
            .map_err(|e| e.to_string())?;
        tx.add_event(seller_id, unsaved.kind, Some(&detail))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(mismatch) = unsaved.owner_mismatch(seller_id) {
            let message = format!("{mismatch}; remove the account and authorize the right seller");
            tx.set_status(seller_id, AccountStatus::ReauthRequired, Some(&message))
                .await
                .map_err(|e| e.to_string())?;
            tx.add_event(seller_id, EventKind::ReauthRequired, Some(&message))
                .await
                .map_err(|e| e.to_string())?;
        }
        if let Some(hook) = &self.options.commit_hook {
            hook(CommitAttempt { seller_id, attempt })?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;

        tracing::info!(
            seller_id,
            old_token = %unsaved.replaced_access,
            new_token = %new,
            expires_at = %unsaved.tokens.expires_at,
            attempt,
            "access token refreshed and stored"
        );
        Ok(())
    }

    /// One retry of storing `unsaved`, in a transaction of its own.
    pub(super) async fn save_unsaved(
        &self,
        unsaved: &Unsaved,
        attempt: u32,
    ) -> Result<SaveOutcome, String> {
        let seller_id = self.seller_id;
        let mut tx = self
            .vault
            .store()
            .begin_tokens()
            .await
            .map_err(|e| e.to_string())?;
        let row = tx
            .account(seller_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the account of seller {seller_id} was removed"))?;
        let stored = self.vault.open_pair(&row).map_err(|e| e.to_string())?;

        if same(
            stored.refresh_token.as_ref(),
            unsaved.tokens.refresh_token.as_ref(),
        ) {
            return Ok(SaveOutcome::AlreadyStored);
        }
        let still_old = same(
            stored.refresh_token.as_ref(),
            Some(&unsaved.replaced_refresh),
        );
        if still_old || row.status == AccountStatus::ReauthRequired {
            self.write_refresh(tx, unsaved, attempt).await?;
            return Ok(SaveOutcome::Stored);
        }
        Ok(SaveOutcome::Superseded(stored))
    }

    /// Records a dead grant: status, last error and an event, then commits.
    pub(super) async fn mark_reauth(&self, mut tx: TokenTx, e: &meli_api::Error) {
        let seller_id = self.seller_id;
        let message = e.to_string();
        let marked = async {
            tx.set_status(seller_id, AccountStatus::ReauthRequired, Some(&message))
                .await?;
            tx.add_event(seller_id, EventKind::ReauthRequired, Some(&message))
                .await?;
            tx.commit().await
        }
        .await;
        match marked {
            Ok(()) => error!(
                seller_id,
                error = %message,
                "MercadoLibre refused the refresh token; the seller must authorize again"
            ),
            Err(store_err) => error!(
                seller_id,
                error = %message,
                store_error = %store_err,
                "MercadoLibre refused the refresh token and marking the account failed"
            ),
        }
    }

    /// Retries storing `unsaved` from attempt number `first` on, with backoff.
    pub(super) async fn store_with_retries(
        &self,
        unsaved: Unsaved,
        first: u32,
    ) -> Result<StoredPair, (Unsaved, meli_api::Error)> {
        let seller_id = self.seller_id;
        let last = first + self.options.store_attempts.saturating_sub(1);
        let mut delay = self.options.store_retry_delay;
        let mut failure = String::new();

        for attempt in first..=last {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
            match self.save_unsaved(&unsaved, attempt).await {
                Ok(SaveOutcome::Stored) => {
                    info!(seller_id, attempt, "refreshed tokens stored on retry");
                    return Ok(unsaved.pair());
                }
                Ok(SaveOutcome::AlreadyStored) => {
                    info!(seller_id, attempt, "refreshed tokens were stored already");
                    return Ok(unsaved.pair());
                }
                Ok(SaveOutcome::Superseded(pair)) => {
                    warn!(
                        seller_id,
                        "the account was authorized again meanwhile; using the newer tokens"
                    );
                    return Ok(pair);
                }
                Err(e) => {
                    warn!(seller_id, attempt, error = %e, "storing the refreshed tokens failed");
                    failure = e.to_string();
                }
            }
        }
        error!(
            seller_id,
            error = %failure,
            "the refreshed tokens could not be stored; they are held in memory only"
        );
        let e = meli_api::Error::TokenStorage(format!(
            "the refreshed tokens of seller {seller_id} could not be stored ({failure}); they \
             are held in memory and storing is retried on the next request"
        ));
        Err((unsaved, e))
    }
}

/// Records a refresh that failed for another reason than a dead grant, then commits.
pub(super) async fn record_failure(
    mut tx: TokenTx,
    seller_id: u64,
    status: AccountStatus,
    detail: &str,
) -> Result<(), StoreError> {
    tx.set_status(seller_id, status, Some(detail)).await?;
    tx.add_event(seller_id, EventKind::RefreshFailed, Some(detail))
        .await?;
    tx.commit().await
}
