//! `meli-stock sync`: one run for one seller, or for every stored seller with `--all`, each
//! with the tokens the store holds for it.
//!
//! Before a seller's run takes the seller lock, its token is made usable (refreshed when
//! due), so a dead grant ends the command with exit code 4 before anything is recorded.

use anyhow::anyhow;
use meli_api::{CountersSnapshot, TokenProvider};

use super::{SyncArgs, open_store, open_vault, sellers};
use crate::config::Config;
use crate::error::Failure;
use crate::progress::Progress;
use crate::store::Store;
use crate::sync::{self, SyncOptions};
use crate::tokens::{self, SellerClient, TokenError, Vault};

pub(super) async fn run(
    config: &Config,
    args: &SyncArgs,
    progress: &Progress,
) -> Result<(), Failure> {
    check_fresh_start(config, args.all)?;
    let store = open_store(config).await?;
    let vault = open_vault(&store, config).await?;
    let sellers = tokens::sellers_to_sync(&store, config, args.all).await?;

    let mut failures = Vec::new();
    for &seller_id in &sellers {
        if let Err(failure) = sync_seller(&store, &vault, config, args, seller_id, progress).await {
            failures.push((seller_id, failure));
        }
    }
    sellers::combine(sellers.len(), failures)
}

/// With the embedded default and no file yet, no account can be stored: unless the
/// settings hold a token to import, the run fails as it would once the store was open, but
/// before creating the file or a key.
fn check_fresh_start(config: &Config, all: bool) -> Result<(), Failure> {
    let has_token = config.ml.refresh_token.is_some() || config.ml.access_token.is_some();
    if !super::fresh_embedded_store(config) || has_token {
        return Ok(());
    }
    let sellers = tokens::choose_sellers(Vec::new(), config, all)?;
    let seller_id = sellers.first().copied().unwrap_or_default();
    Err(TokenError::NoAccount { seller_id }.into())
}

async fn sync_seller(
    store: &Store,
    vault: &Vault,
    config: &Config,
    args: &SyncArgs,
    seller_id: u64,
    progress: &Progress,
) -> Result<(), Failure> {
    let seller =
        tokens::seller_client(vault, config, seller_id, tokens::provider_options(config)).await?;
    ready_token(&seller, config).await?;

    let options = SyncOptions {
        dry_run: args.dry_run,
        allow_mass_zero: args.allow_mass_zero,
        seller_id: Some(seller_id),
        // The client was built for this run: its token calls and `/users/me` are the run's.
        calls_counted_from: Some(CountersSnapshot::default()),
    };
    let report = sync::run(store, &seller.client, config, &options, progress)
        .await
        .map_err(|failure| match failure {
            Failure::Reauth(cause) => Failure::from(tokens::reauth_error(
                seller_id,
                &seller.account,
                config,
                &cause,
            )),
            other => other,
        })?;

    if args.json {
        let json = serde_json::to_string_pretty(&report.json())
            .map_err(|e| Failure::Run(anyhow!("cannot encode the run record: {e}")))?;
        outln!("{json}");
    } else {
        out!("{}", report.summary());
    }
    Ok(())
}

/// Makes the seller's access token usable now, refreshing it when due.
pub(super) async fn ready_token(seller: &SellerClient, config: &Config) -> Result<(), Failure> {
    match seller.provider.access_token().await {
        Ok(_) => Ok(()),
        Err(e) => Err(token_failure(seller, config, e)),
    }
}

/// Refreshes the stored tokens of `seller_id` now (`auth refresh`, `accounts add`) and
/// returns the new access token's expiry.
///
/// # Errors
/// As [`tokens::seller_client`], and the refusal of the refresh as [`token_failure`].
pub(super) async fn refresh_stored(
    vault: &Vault,
    config: &Config,
    seller_id: u64,
) -> Result<chrono::DateTime<chrono::Utc>, Failure> {
    let options = tokens::provider_options(config);
    let seller = tokens::seller_client(vault, config, seller_id, options).await?;
    seller
        .provider
        .refresh_now()
        .await
        .map_err(|e| token_failure(&seller, config, e))
}

/// How a provider error ends a command for `seller`.
pub(super) fn token_failure(seller: &SellerClient, config: &Config, e: meli_api::Error) -> Failure {
    if e.is_reauth_required() {
        return tokens::reauth_error(seller.seller_id, &seller.account, config, &e).into();
    }
    TokenError::Api(e).into()
}
