//! [`Vault`]: the store plus the token cipher. It turns decrypted token pairs into sealed
//! rows and back, checks that the key is the one the tokens were sealed with, and changes
//! keys.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use meli_api::TokenSet;
use secrecy::SecretString;
use tracing::info;

use super::cipher::{TokenCipher, TokenKey, token_context, verifier_context};
use super::error::TokenError;
use super::key::{KeySource, load_key};
use crate::config::Config;
use crate::store::{
    AccountRow, AccountStatus, EventKind, Sealed, Store, TokenTx, TokenWrite, now_micros,
};

/// Column names, also the associated data of each sealed field.
pub(crate) const ACCESS: &str = "access_token";
pub(crate) const REFRESH: &str = "refresh_token";

/// A decrypted token pair as stored for a seller.
#[derive(Clone)]
pub struct StoredPair {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_at: DateTime<Utc>,
    /// When ML issued the pair; unknown for tokens imported from the settings.
    pub issued_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for StoredPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredPair")
            .field("expires_at", &self.expires_at)
            .field("issued_at", &self.issued_at)
            .finish_non_exhaustive()
    }
}

/// The store with the key that opens its tokens. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    store: Store,
    cipher: Arc<TokenCipher>,
    source: KeySource,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("store", &self.store.describe())
            .field("key", &self.cipher.fingerprint())
            .field("source", &self.source)
            .finish()
    }
}

/// What a key rotation re-encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    pub accounts: usize,
    pub pending: usize,
}

impl Vault {
    /// The vault of `store` with the configured key (see [`load_key`]).
    ///
    /// # Errors
    /// A missing or unusable key, or a key other than the one the tokens were sealed with.
    pub async fn open(store: &Store, config: &Config) -> Result<Vault, TokenError> {
        let (key, source) = load_key(config, store)?;
        Vault::with_key(store, &key, source).await
    }

    /// The vault of `store` with `key`, after checking it against the stored fingerprint.
    ///
    /// # Errors
    /// [`TokenError::KeyMismatch`] for another key than the stored tokens'.
    pub async fn with_key(
        store: &Store,
        key: &TokenKey,
        source: KeySource,
    ) -> Result<Vault, TokenError> {
        let vault = Vault {
            store: store.clone(),
            cipher: Arc::new(TokenCipher::new(key)),
            source,
        };
        if let Some(stored) = store.key_fingerprint().await? {
            vault.check_fingerprint(&stored)?;
        }
        Ok(vault)
    }

    /// The store behind the vault.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The fingerprint of the key in use.
    pub fn fingerprint(&self) -> &str {
        self.cipher.fingerprint()
    }

    /// Where the key came from.
    pub fn key_source(&self) -> &KeySource {
        &self.source
    }

    fn check_fingerprint(&self, stored: &str) -> Result<(), TokenError> {
        if stored == self.cipher.fingerprint() {
            return Ok(());
        }
        Err(TokenError::KeyMismatch {
            source_name: self.source.to_string(),
            given: self.cipher.fingerprint().to_owned(),
            stored: stored.to_owned(),
        })
    }

    /// Records this key's fingerprint in `tx` unless one is stored, and checks it.
    pub(crate) async fn claim_key(&self, tx: &mut TokenTx) -> Result<(), TokenError> {
        tx.put_key_fingerprint(self.cipher.fingerprint(), false)
            .await?;
        match tx.key_fingerprint().await? {
            Some(stored) => self.check_fingerprint(&stored),
            None => Ok(()),
        }
    }

    /// Seals one token field of a seller.
    pub fn seal(&self, seller_id: u64, field: &str, token: &SecretString) -> Sealed {
        self.cipher.seal(&token_context(seller_id, field), token)
    }

    /// Seals a PKCE verifier of a pending authorization.
    pub fn seal_verifier(&self, state: &str, verifier: &SecretString) -> Sealed {
        self.cipher.seal(&verifier_context(state), verifier)
    }

    /// Opens a pending authorization's verifier.
    ///
    /// # Errors
    /// [`TokenError::Cipher`] when the value does not open with this key.
    pub fn open_verifier(&self, state: &str, sealed: &Sealed) -> Result<SecretString, TokenError> {
        let what = "PKCE verifier of the pending authorization";
        Ok(self.cipher.open(&verifier_context(state), sealed, what)?)
    }

    /// Decrypts the tokens of an account row.
    ///
    /// # Errors
    /// [`TokenError::Cipher`] naming the field and seller that did not open.
    pub fn open_pair(&self, row: &AccountRow) -> Result<StoredPair, TokenError> {
        let seller = row.seller_id;
        let open = |field: &str, sealed: &Sealed| {
            let what = format!("{} of seller {seller}", field.replace('_', " "));
            self.cipher
                .open(&token_context(seller, field), sealed, &what)
        };
        let refresh_token = match &row.refresh_token {
            Some(sealed) => Some(open(REFRESH, sealed)?),
            None => None,
        };
        Ok(StoredPair {
            access_token: open(ACCESS, &row.access_token)?,
            refresh_token,
            expires_at: row.access_expires_at,
            issued_at: row.refresh_issued_at,
        })
    }

    /// A fresh pair from ML, sealed for `seller_id`.
    pub fn token_write(
        &self,
        seller_id: u64,
        tokens: &TokenSet,
        issued_at: DateTime<Utc>,
        refreshed: bool,
    ) -> TokenWrite {
        TokenWrite {
            access_token: self.seal(seller_id, ACCESS, &tokens.access_token),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|t| self.seal(seller_id, REFRESH, t)),
            access_expires_at: tokens.expires_at,
            issued_at,
            refreshed,
        }
    }

    /// A whole account row for a seller's new pair (a code exchange, an import).
    pub fn account_row(&self, new: NewAccount<'_>) -> AccountRow {
        let now = now_micros();
        let write = self.token_write(new.seller_id, new.tokens, new.issued_at, false);
        AccountRow {
            seller_id: new.seller_id,
            app_id: new.app_id.to_owned(),
            site_id: new.site_id.map(str::to_owned),
            nickname: new.nickname.map(str::to_owned),
            access_token: write.access_token,
            refresh_token: write.refresh_token,
            access_expires_at: write.access_expires_at,
            refresh_issued_at: new.known_issue_time.then_some(new.issued_at),
            last_refresh_at: None,
            refresh_count: 0,
            status: AccountStatus::Ok,
            last_error: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Stores a seller's pair with an event, in one transaction. Without `replace` an
    /// existing account is left alone; returns whether the row was written.
    ///
    /// # Errors
    /// A store failure, or a key other than the stored tokens'.
    pub async fn save_account(
        &self,
        new: NewAccount<'_>,
        kind: EventKind,
        detail: &str,
        replace: bool,
    ) -> Result<bool, TokenError> {
        let seller_id = new.seller_id;
        let row = self.account_row(new);

        let mut tx = self.store.begin_tokens().await?;
        self.claim_key(&mut tx).await?;
        let written = tx.put_account(&row, replace).await?;
        if written {
            tx.add_event(seller_id, kind, Some(detail)).await?;
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Re-encrypts every stored token and pending verifier with `new_key`, in one
    /// transaction, and records the new key's fingerprint. Returns the new vault.
    ///
    /// # Errors
    /// A value that does not open with the current key (nothing is changed then), or a
    /// store failure.
    pub async fn rotate_key(
        &self,
        new_key: &TokenKey,
        new_source: KeySource,
    ) -> Result<(Vault, Rotation), TokenError> {
        let next = Vault {
            store: self.store.clone(),
            cipher: Arc::new(TokenCipher::new(new_key)),
            source: new_source,
        };
        let mut tx = self.store.begin_tokens().await?;
        self.claim_key(&mut tx).await?;

        let accounts = tx.accounts().await?;
        for row in &accounts {
            let pair = self.open_pair(row)?;
            let access = next.seal(row.seller_id, ACCESS, &pair.access_token);
            let refresh = pair
                .refresh_token
                .as_ref()
                .map(|t| next.seal(row.seller_id, REFRESH, t));
            tx.reseal_account(row.seller_id, &access, refresh.as_ref())
                .await?;
            let detail = format!(
                "key {} replaced by key {}",
                self.fingerprint(),
                next.fingerprint()
            );
            tx.add_event(row.seller_id, EventKind::KeyRotated, Some(&detail))
                .await?;
        }

        let pending = tx.pending().await?;
        for auth in &pending {
            let verifier = self.open_verifier(&auth.state, &auth.verifier)?;
            tx.reseal_pending(&auth.state, &next.seal_verifier(&auth.state, &verifier))
                .await?;
        }

        tx.put_key_fingerprint(next.fingerprint(), true).await?;
        tx.commit().await?;
        info!(
            accounts = accounts.len(),
            pending = pending.len(),
            old_key = %self.fingerprint(),
            new_key = %next.fingerprint(),
            "token key rotated"
        );
        let rotation = Rotation {
            accounts: accounts.len(),
            pending: pending.len(),
        };
        Ok((next, rotation))
    }
}

/// A seller's pair to store as a new account.
#[derive(Clone, Copy, Debug)]
pub struct NewAccount<'a> {
    pub seller_id: u64,
    pub app_id: &'a str,
    pub site_id: Option<&'a str>,
    pub nickname: Option<&'a str>,
    pub tokens: &'a TokenSet,
    /// When the pair was issued (now, for a pair just received from ML).
    pub issued_at: DateTime<Utc>,
    /// False for tokens from the settings, whose issue time nobody knows.
    pub known_issue_time: bool,
}
