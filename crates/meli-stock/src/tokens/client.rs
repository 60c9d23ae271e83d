//! Building a [`MeliClient`] for a stored seller, and what happens to the tokens of the
//! settings (`ML_REFRESH_TOKEN`, `ML_ACCESS_TOKEN`) on the way.
//!
//! - No account stored for the seller: the settings' tokens are imported (first use), with
//!   an `imported` event. The access token's age is unknown, so with a refresh token the
//!   first request refreshes at once; an access token alone is used until ML refuses it.
//! - An account stored: the store is the truth. A different refresh token in the settings
//!   is ignored and logged once, by fingerprint; except when the account is
//!   `reauth_required`, then the settings' token is tried (once: a refused one is remembered
//!   by fingerprint in the account's last error), and the account is healthy again if ML
//!   accepts it.

use std::sync::Arc;

use chrono::Utc;
use meli_api::{ExposeSecret, MeliClient, OAuthClient, TokenSet, token_fingerprint};
use tracing::{info, warn};

use super::error::TokenError;
use super::provider::{ProviderOptions, StoredTokenProvider};
use super::vault::{NewAccount, Vault};
use crate::config::Config;
use crate::store::{AccountRow, AccountStatus, EventKind, Store, now_micros};

/// A client for one seller with the provider behind it.
#[derive(Clone, Debug)]
pub struct SellerClient {
    pub seller_id: u64,
    pub client: MeliClient,
    pub provider: Arc<StoredTokenProvider>,
    /// The account as read when the client was built.
    pub account: AccountRow,
}

/// The token endpoint client of the configured app (`ML_APP_ID`, `ML_SECRET`).
///
/// # Errors
/// [`TokenError::Input`] naming the missing setting.
pub fn oauth_client(config: &Config) -> Result<OAuthClient, TokenError> {
    let missing = |name: &str| {
        TokenError::Input(format!(
            "{name} is not set: meli-stock needs the app's ML_APP_ID and ML_SECRET to refresh \
             and exchange tokens; set them in the environment, .env or meli-stock.toml ([ml] \
             section)"
        ))
    };
    let app_id = config
        .ml
        .app_id
        .clone()
        .ok_or_else(|| missing("ML_APP_ID"))?;
    let secret = config
        .ml
        .secret
        .clone()
        .ok_or_else(|| missing("ML_SECRET"))?;
    Ok(OAuthClient::new(
        &config.ml.client_config(),
        app_id,
        secret,
    )?)
}

/// The provider options the settings ask for.
pub fn provider_options(config: &Config) -> ProviderOptions {
    ProviderOptions {
        refresh_margin: config.tokens.refresh_margin,
        ..ProviderOptions::default()
    }
}

/// A client for `seller_id` whose tokens come from the store, importing the settings'
/// tokens on first use (see the module doc).
///
/// # Errors
/// [`TokenError::NoAccount`] without a stored account or tokens to import,
/// [`TokenError::Reauth`] for an account whose grant is dead, [`TokenError::Input`] for
/// an app other than the account's.
pub async fn seller_client(
    vault: &Vault,
    config: &Config,
    seller_id: u64,
    options: ProviderOptions,
) -> Result<SellerClient, TokenError> {
    let oauth = oauth_client(config)?;
    let account = prepare_account(vault, config, seller_id).await?;
    if account.app_id != oauth.app_id() {
        return Err(TokenError::Input(format!(
            "the tokens of seller {seller_id} were issued to app {} but ML_APP_ID is {}; set \
             the app's id and secret, or authorize seller {seller_id} for app {}",
            account.app_id,
            oauth.app_id(),
            oauth.app_id()
        )));
    }

    let provider = Arc::new(StoredTokenProvider::new(
        vault.clone(),
        oauth,
        seller_id,
        options,
    ));
    let account = match (account.status, &config.ml.refresh_token) {
        (AccountStatus::ReauthRequired, Some(settings))
            if differs(vault, &account, settings)? && !refused_before(&account, settings) =>
        {
            info!(
                seller_id,
                settings_token = %token_fingerprint(settings),
                "account needs re-authorization; trying the refresh token from the settings"
            );
            provider.try_replacement(settings).await.map_err(|e| {
                if e.is_reauth_required() {
                    reauth_error(seller_id, &account, config, &e)
                } else {
                    TokenError::Api(e)
                }
            })?;
            vault
                .store()
                .account(seller_id)
                .await?
                .ok_or(TokenError::NoAccount { seller_id })?
        }
        (AccountStatus::ReauthRequired, _) => {
            // The stored error is the refusal as it was first reported: not wrapped again.
            let cause = account
                .last_error
                .clone()
                .unwrap_or_else(|| "the refresh token was refused".into());
            return Err(reauth_error(seller_id, &account, config, &cause));
        }
        (AccountStatus::Ok, _) => account,
    };

    let client = MeliClient::new(config.ml.client_config(), provider.clone())?;
    let account = match account.site_id {
        Some(_) => account,
        None => learn_profile(vault, &client, account).await?,
    };
    Ok(SellerClient {
        seller_id,
        client,
        provider,
        account,
    })
}

/// Asks ML for the site and nickname of an account imported without them (one
/// `/users/me`), so re-authorization messages can name the site. A failure here is left
/// to the run that follows, which meets it again.
async fn learn_profile(
    vault: &Vault,
    client: &MeliClient,
    account: AccountRow,
) -> Result<AccountRow, TokenError> {
    let seller_id = account.seller_id;
    let user = match client.users_me().await {
        Ok(user) => user,
        Err(e) => {
            warn!(seller_id, error = %e, "could not read the seller's site");
            return Ok(account);
        }
    };
    if user.id != seller_id {
        return Err(TokenError::Input(format!(
            "the tokens stored for seller {seller_id} belong to seller {}; remove the account \
             (`meli-stock accounts remove --seller {seller_id}`) and authorize the right one",
            user.id
        )));
    }

    let mut tx = vault.store().begin_tokens().await?;
    tx.set_profile(seller_id, user.site_id.as_deref(), user.nickname.as_deref())
        .await?;
    tx.commit().await?;
    Ok(AccountRow {
        site_id: user.site_id.or(account.site_id.clone()),
        nickname: user.nickname.or(account.nickname.clone()),
        ..account
    })
}

/// The re-authorization failure of a seller, with the exact commands.
pub fn reauth_error(
    seller_id: u64,
    account: &AccountRow,
    config: &Config,
    cause: &dyn std::fmt::Display,
) -> TokenError {
    TokenError::Reauth {
        seller_id,
        message: format!(
            "MercadoLibre refused the tokens of seller {seller_id} ({cause}); {}",
            super::error::reauth_steps(
                seller_id,
                account.site_id.as_deref(),
                config.ml.redirect_uri.as_deref()
            )
        ),
    }
}

/// Whether the account's last error says this settings token was tried and refused.
fn refused_before(account: &AccountRow, settings: &meli_api::SecretString) -> bool {
    let fingerprint = token_fingerprint(settings);
    account
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains(&fingerprint))
}

fn differs(
    vault: &Vault,
    account: &AccountRow,
    settings: &meli_api::SecretString,
) -> Result<bool, TokenError> {
    let stored = vault.open_pair(account)?;
    Ok(stored
        .refresh_token
        .is_none_or(|t| t.expose_secret() != settings.expose_secret()))
}

/// The stored account, imported from the settings when there is none.
async fn prepare_account(
    vault: &Vault,
    config: &Config,
    seller_id: u64,
) -> Result<AccountRow, TokenError> {
    let store = vault.store();
    if let Some(account) = store.account(seller_id).await? {
        if let Some(settings) = &config.ml.refresh_token {
            if account.status == AccountStatus::Ok && differs(vault, &account, settings)? {
                info!(
                    seller_id,
                    settings_token = %token_fingerprint(settings),
                    "ML_REFRESH_TOKEN differs from the stored refresh token and is ignored: \
                     the stored one is newer"
                );
            }
        }
        return Ok(account);
    }

    import_settings(vault, config, seller_id).await?;
    store
        .account(seller_id)
        .await?
        .ok_or(TokenError::NoAccount { seller_id })
}

/// Stores the settings' tokens as the seller's account, unless one appeared meanwhile.
async fn import_settings(vault: &Vault, config: &Config, seller_id: u64) -> Result<(), TokenError> {
    let ml = &config.ml;
    if ml.refresh_token.is_none() && ml.access_token.is_none() {
        return Err(TokenError::NoAccount { seller_id });
    }
    let app_id = ml.app_id.as_deref().ok_or_else(|| {
        TokenError::Input("ML_APP_ID is not set: it is needed to import the tokens".into())
    })?;

    let now = Utc::now();
    let tokens = TokenSet {
        access_token: ml
            .access_token
            .clone()
            .unwrap_or_else(|| meli_api::SecretString::from(String::new())),
        refresh_token: ml.refresh_token.clone(),
        // With a refresh token the first request refreshes; an access token alone is used
        // until ML refuses it (its age is unknown; ML's tokens live 6 hours).
        expires_at: if ml.refresh_token.is_some() {
            now
        } else {
            now + chrono::Duration::hours(6)
        },
        user_id: seller_id,
        scope: None,
    };
    let fingerprint = tokens
        .refresh_token
        .as_ref()
        .map_or_else(|| "none".to_owned(), token_fingerprint);
    let detail = format!("tokens imported from the settings (refresh token {fingerprint})");
    let new = NewAccount {
        seller_id,
        app_id,
        site_id: None,
        nickname: None,
        tokens: &tokens,
        issued_at: now_micros(),
        known_issue_time: false,
    };

    if vault
        .save_account(new, EventKind::Imported, &detail, false)
        .await?
    {
        info!(seller_id, refresh_token = %fingerprint, "imported the tokens from the settings");
    } else {
        warn!(
            seller_id,
            "another process stored this seller's account first; using it"
        );
    }
    Ok(())
}

/// The sellers a command works on: all stored ones with `all`; else the configured seller
/// (`--seller`, `ML_SELLER_ID`); else the only stored account.
///
/// # Errors
/// [`TokenError::Input`] when that leaves none or several.
pub async fn sellers_to_sync(
    store: &Store,
    config: &Config,
    all: bool,
) -> Result<Vec<u64>, TokenError> {
    let stored: Vec<u64> = store
        .accounts()
        .await?
        .iter()
        .map(|a| a.seller_id)
        .collect();
    choose_sellers(stored, config, all)
}

/// [`sellers_to_sync`] among the `stored` sellers.
///
/// # Errors
/// As [`sellers_to_sync`].
pub fn choose_sellers(
    stored: Vec<u64>,
    config: &Config,
    all: bool,
) -> Result<Vec<u64>, TokenError> {
    if all {
        if stored.is_empty() {
            return Err(TokenError::Input(
                "--all: no accounts are stored; authorize one with `meli-stock auth url` or \
                 import a token with `meli-stock accounts add`"
                    .into(),
            ));
        }
        return Ok(stored);
    }
    if let Some(seller_id) = config.ml.seller_id {
        return Ok(vec![seller_id]);
    }
    match stored[..] {
        [only] => Ok(vec![only]),
        [] => Err(TokenError::Input(
            "no seller is configured and no account is stored: set ML_SELLER_ID and \
             ML_REFRESH_TOKEN to import your token, or authorize with `meli-stock auth url`"
                .into(),
        )),
        _ => Err(TokenError::Input(format!(
            "{} sellers are stored ({}); choose one with --seller ID, or sync them all with \
             --all",
            stored.len(),
            stored
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}
