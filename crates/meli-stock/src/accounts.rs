//! Seller accounts as `serve` and the alerts see them: a client per seller, the token
//! provider behind it, and the facts about its tokens (when the access token expires, when
//! the refresh token's six-month life began, whether ML refused the grant).
//!
//! [`AccountSource`] is the seam between the long-running parts (scheduler, token checks,
//! alerts, `/metrics`, `/api/accounts`) and wherever tokens are kept. [`EnvAccounts`] is the
//! source built from the settings alone: the seller of `ML_SELLER_ID` (or of `/users/me`)
//! with the pair from `ML_ACCESS_TOKEN` / `ML_REFRESH_TOKEN` held in memory, exactly as
//! `meli-stock sync` builds its client.
//!
//! Known limitation: [`EnvAccounts`] keeps a rotated refresh token only in memory. A restart
//! starts again from `ML_REFRESH_TOKEN`, which ML no longer accepts once it was used, and the
//! refresh token's age is unknown, so the authorization-expiry alert cannot fire for it.

use std::sync::Arc;

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use meli_api::{InMemoryTokenProvider, MeliClient, TokenProvider};
use secrecy::SecretString;
use serde::Serialize;

use crate::config::Config;
use crate::error::Failure;

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

/// The one seller the settings describe, with its pair in memory.
pub struct EnvAccounts {
    accounts: Vec<Account>,
    provider: Arc<InMemoryTokenProvider>,
}

impl EnvAccounts {
    /// Builds the client from `ML_APP_ID`, `ML_SECRET` and the token settings, and finds the
    /// seller: `ML_SELLER_ID`, or the owner of the token (`/users/me`).
    ///
    /// # Errors
    /// [`Failure::Input`] for missing credentials, [`Failure::Reauth`] when ML refuses them,
    /// [`Failure::Run`] when `/users/me` fails otherwise.
    pub async fn from_config(config: &Config) -> Result<EnvAccounts, Failure> {
        let ml = &config.ml;
        let missing = |name: &str| {
            Failure::Input(anyhow!(
                "{name} is not set: meli-stock serve needs ML_APP_ID, ML_SECRET and \
                 ML_REFRESH_TOKEN (or ML_ACCESS_TOKEN) to talk to MercadoLibre; set them in the \
                 environment, .env or meli-stock.toml ([ml] section)"
            ))
        };
        let app_id = ml.app_id.clone().ok_or_else(|| missing("ML_APP_ID"))?;
        let secret = ml.secret.clone().ok_or_else(|| missing("ML_SECRET"))?;
        if ml.access_token.is_none() && ml.refresh_token.is_none() {
            return Err(missing("ML_REFRESH_TOKEN"));
        }

        let client_config = ml.client_config();
        let oauth = meli_api::OAuthClient::new(&client_config, app_id, secret)
            .map_err(|e| Failure::Input(e.into()))?;
        // As in `sync`: an access token of unknown age is used until ML answers 401; without
        // one, the first call refreshes.
        let now = Utc::now();
        let tokens = meli_api::TokenSet {
            access_token: ml
                .access_token
                .clone()
                .unwrap_or_else(|| SecretString::from(String::new())),
            refresh_token: ml.refresh_token.clone(),
            expires_at: if ml.access_token.is_some() {
                now + Duration::hours(6)
            } else {
                now
            },
            user_id: ml.seller_id.unwrap_or(0),
            scope: None,
        };
        let provider = Arc::new(InMemoryTokenProvider::new(oauth, tokens));
        let client = MeliClient::new(client_config, provider.clone())
            .map_err(|e| Failure::Input(e.into()))?;

        let seller_id = match ml.seller_id {
            Some(id) => id,
            None => {
                client
                    .users_me()
                    .await
                    .map_err(crate::sync::api_failure)?
                    .id
            }
        };
        Ok(EnvAccounts {
            accounts: vec![Account {
                seller_id,
                client,
                tokens: provider.clone(),
            }],
            provider,
        })
    }
}

#[async_trait]
impl AccountSource for EnvAccounts {
    fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    async fn token_facts(&self, seller_id: u64) -> anyhow::Result<TokenFacts> {
        let Some(account) = self.accounts.iter().find(|a| a.seller_id == seller_id) else {
            return Err(anyhow!("seller {seller_id} is not configured"));
        };
        let current = self.provider.current().await;
        Ok(TokenFacts {
            seller_id: account.seller_id,
            access_token_expires_at: Some(current.expires_at),
            refresh_token_issued_at: None,
            needs_reauth: false,
        })
    }
}
