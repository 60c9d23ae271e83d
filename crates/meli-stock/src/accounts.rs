//! Seller accounts as `serve` and the alerts see them: a client per seller, the token
//! provider behind it, and the facts about its tokens (when the access token expires, when
//! the refresh token's six-month life began, whether ML refused the grant).
//!
//! [`AccountSource`] is the seam between the long-running parts (scheduler, token checks,
//! alerts, `/metrics`, `/api/accounts`) and wherever tokens are kept. [`StoredAccounts`] is
//! the source over the token store: every stored seller (and the one of `ML_SELLER_ID`,
//! imported from the settings on first use), each with a client whose tokens come from the
//! store, as `meli-stock sync` builds them.
//!
//! A seller whose grant ML refused (`reauth_required`) is still scheduled: its runs fail
//! with the re-authorization alert until someone runs `meli-stock auth exchange`, and the
//! next run after that picks the new tokens up from the store, with no restart.
//!
//! The six-month life of a refresh token is read, as ML's documentation words it, as the
//! life of each refresh token (\[A\]: ML does not say whether it counts from the
//! authorization): it starts again at every refresh, so an account refreshed regularly never
//! reaches it, and the alert fires when refreshes stop.

use std::sync::Arc;

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use meli_api::{MeliClient, TokenProvider};
use serde::Serialize;
use tracing::warn;

use crate::config::Config;
use crate::error::Failure;
use crate::store::{AccountStatus, Store};
use crate::tokens::{self, StoredTokenProvider, TokenError, Vault};

/// How long ML accepts a refresh token: six months (doc §1.3), counted as 180 days.
pub const REFRESH_TOKEN_LIFETIME: Duration = Duration::days(180);

/// One seller that `serve` syncs.
#[derive(Clone)]
pub struct Account {
    pub seller_id: u64,
    /// The client every run of this seller uses (its counters feed `/metrics`).
    pub client: MeliClient,
    /// The provider behind `client`; the token check calls it between runs.
    pub tokens: Arc<dyn TokenProvider>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("seller_id", &self.seller_id)
            .finish_non_exhaustive()
    }
}

/// What is known about one seller's tokens. Never holds a token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TokenFacts {
    pub seller_id: u64,
    /// When the current access token expires, if known.
    pub access_token_expires_at: Option<DateTime<Utc>>,
    /// Start of the current refresh token's six-month life, if known.
    pub refresh_token_issued_at: Option<DateTime<Utc>>,
    /// ML refused the grant; a person must authorize the app again.
    pub needs_reauth: bool,
}

impl TokenFacts {
    /// When ML stops accepting the refresh token, if its start is known.
    pub fn refresh_token_expires_at(&self) -> Option<DateTime<Utc>> {
        self.refresh_token_issued_at
            .map(|issued| issued + REFRESH_TOKEN_LIFETIME)
    }

    /// Seconds until the access token expires (negative once expired).
    pub fn access_token_expires_in(&self, now: DateTime<Utc>) -> Option<i64> {
        self.access_token_expires_at
            .map(|at| (at - now).num_seconds())
    }
}

/// Where `serve` finds its sellers and their token facts.
#[async_trait]
pub trait AccountSource: Send + Sync {
    /// The sellers to schedule, fixed for the life of the process.
    fn accounts(&self) -> &[Account];

    /// The current facts about one seller's tokens.
    ///
    /// # Errors
    /// When the facts cannot be read (the store is unreachable, say).
    async fn token_facts(&self, seller_id: u64) -> anyhow::Result<TokenFacts>;
}

/// The failure of `serve` without a seller.
pub fn no_seller_to_serve() -> Failure {
    Failure::Input(anyhow!(
        "no seller to serve: authorize one with `meli-stock auth url` and `meli-stock auth \
         exchange`, or set ML_SELLER_ID and ML_REFRESH_TOKEN to import a token"
    ))
}

/// Every seller of the token store, each with a client over its stored tokens.
pub struct StoredAccounts {
    store: Store,
    accounts: Vec<Account>,
}

impl StoredAccounts {
    /// Opens the key, then builds a client for every stored seller and for `ML_SELLER_ID`
    /// (importing its settings' tokens when it is not stored yet).
    ///
    /// # Errors
    /// [`Failure::Input`] for a missing or wrong key, missing app credentials or no seller
    /// at all; [`Failure::Run`] when the store cannot be read.
    pub async fn open(store: &Store, config: &Config) -> Result<StoredAccounts, Failure> {
        let vault = Vault::open(store, config).await?;
        let mut sellers: Vec<u64> = store
            .accounts()
            .await
            .map_err(|e| Failure::Run(e.into()))?
            .iter()
            .map(|a| a.seller_id)
            .collect();
        if let Some(configured) = config.ml.seller_id {
            if !sellers.contains(&configured) {
                sellers.push(configured);
            }
        }
        if sellers.is_empty() {
            return Err(no_seller_to_serve());
        }

        let options = tokens::provider_options(config);
        let mut accounts = Vec::with_capacity(sellers.len());
        for seller_id in sellers {
            let (client, provider) =
                match tokens::seller_client(&vault, config, seller_id, options.clone()).await {
                    Ok(seller) => (seller.client, seller.provider),
                    Err(TokenError::Reauth { .. }) => {
                        warn!(
                            seller_id,
                            "seller must be authorized again; it stays scheduled and its runs \
                             fail until `meli-stock auth exchange` stores new tokens"
                        );
                        let oauth = tokens::oauth_client(config)?;
                        let provider = Arc::new(StoredTokenProvider::new(
                            vault.clone(),
                            oauth,
                            seller_id,
                            options.clone(),
                        ));
                        let client = MeliClient::new(config.ml.client_config(), provider.clone())
                            .map_err(|e| Failure::Input(e.into()))?;
                        (client, provider)
                    }
                    Err(e) => return Err(e.into()),
                };
            accounts.push(Account {
                seller_id,
                client,
                tokens: provider,
            });
        }
        Ok(StoredAccounts {
            store: store.clone(),
            accounts,
        })
    }
}

#[async_trait]
impl AccountSource for StoredAccounts {
    fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    async fn token_facts(&self, seller_id: u64) -> anyhow::Result<TokenFacts> {
        let row = self
            .store
            .account(seller_id)
            .await?
            .ok_or_else(|| anyhow!("no account is stored for seller {seller_id}"))?;
        Ok(TokenFacts {
            seller_id,
            access_token_expires_at: Some(row.access_expires_at),
            refresh_token_issued_at: row.refresh_issued_at,
            needs_reauth: row.status == AccountStatus::ReauthRequired,
        })
    }
}
