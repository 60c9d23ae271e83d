//! `meli-stock auth`: authorizing a seller (`url`, then `exchange`), the state of every
//! stored account's tokens (`status`), refreshing now (`refresh`) and changing the token key
//! (`rotate-key`).
//!
//! `auth url` keeps the state and the sealed PKCE verifier as a pending authorization for
//! [`PENDING_LIFETIME`]; `auth exchange` takes the newest pending one (or the one whose
//! `--state` is given), trades the code, checks the seller with `/users/me` and stores the
//! tokens.

mod keys;
mod status;

use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use meli_api::{InMemoryTokenProvider, MeliClient, Pkce, SecretString};
use rand::RngCore;

use super::{open_store, open_vault, sellers};
use crate::config::Config;
use crate::error::Failure;
use crate::store::{EventKind, PendingAuthorization, now_micros};
use crate::tokens::{self, NewAccount, TokenError};

/// How long an authorization link stays usable.
pub const PENDING_LIFETIME: Duration = Duration::from_secs(3600);

/// `meli-stock auth` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Print the link a seller opens to authorize meli-stock (with state and PKCE S256).
    Url(UrlArgs),
    /// Trade the code MercadoLibre sent to the redirect URI for tokens and store them.
    Exchange(ExchangeArgs),
    /// Every stored seller: access-token life, refresh-token age, last refresh, status.
    Status(StatusArgs),
    /// Refresh the access token now.
    Refresh(RefreshArgs),
    /// Re-encrypt every stored token: the current key from MELI_STOCK_KEY (or the local key
    /// file), the new one from MELI_STOCK_NEW_KEY.
    RotateKey,
}

/// `meli-stock auth url` flags.
#[derive(Debug, Args)]
pub struct UrlArgs {
    /// The seller's site: MLA, MLB, MLC, MLM, MCO, MLU or MPE.
    #[arg(long)]
    pub site: String,
    /// The redirect URI registered for the app, exactly (default: ML_REDIRECT_URI).
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,
}

/// `meli-stock auth exchange` flags.
#[derive(Debug, Args)]
pub struct ExchangeArgs {
    /// The `code` value of the address MercadoLibre sent the browser to (TG-...).
    #[arg(long)]
    pub code: String,
    /// The redirect URI used in `auth url` (default: that of the newest pending link).
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,
    /// The `state` value of that address, to pick one of several pending links.
    #[arg(long)]
    pub state: Option<String>,
}

/// `meli-stock auth status` flags.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `meli-stock auth refresh` flags.
#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// The seller (default: ML_SELLER_ID, or the only stored seller).
    #[arg(long, value_name = "ID", conflicts_with = "all")]
    pub seller: Option<u64>,
    /// Every stored seller.
    #[arg(long)]
    pub all: bool,
}

pub(super) async fn run(config: &Config, cmd: AuthCommand) -> Result<(), Failure> {
    match cmd {
        AuthCommand::Url(args) => url(config, &args).await,
        AuthCommand::Exchange(args) => exchange(config, &args).await,
        AuthCommand::Status(args) => status::show(config, &args).await,
        AuthCommand::Refresh(args) => refresh(config, &args).await,
        AuthCommand::RotateKey => keys::rotate(config).await,
    }
}

fn redirect_uri(flag: Option<&String>, config: &Config) -> Result<String, Failure> {
    flag.cloned()
        .or_else(|| config.ml.redirect_uri.clone())
        .ok_or_else(|| {
            Failure::Input(anyhow!(
                "no redirect URI: pass --redirect-uri with the URI registered for your app in \
                 MercadoLibre's developer site, or set ML_REDIRECT_URI"
            ))
        })
}

async fn url(config: &Config, args: &UrlArgs) -> Result<(), Failure> {
    let redirect = redirect_uri(args.redirect_uri.as_ref(), config)?;
    let app_id = config.ml.app_id.clone().ok_or_else(|| {
        Failure::Input(anyhow!(
            "ML_APP_ID is not set: the link names the app to authorize"
        ))
    })?;
    let site = args.site.to_ascii_uppercase();

    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let state = hex::encode(bytes);
    let pkce = Pkce::generate();
    let link = meli_api::authorization_url(&site, &app_id, &redirect, &state, Some(&pkce))
        .map_err(|e| Failure::Input(e.into()))?;

    let store = open_store(config).await?;
    let vault = open_vault(&store, config).await?;
    let now = now_micros();
    let pending = PendingAuthorization {
        state: state.clone(),
        app_id,
        site_id: site,
        redirect_uri: redirect.clone(),
        verifier: vault.seal_verifier(&state, &SecretString::from(pkce.verifier.clone())),
        created_at: now,
        expires_at: now + chrono::Duration::from_std(PENDING_LIFETIME).unwrap_or_default(),
    };
    let saved = async {
        let mut tx = store.begin_tokens().await?;
        vault.claim_key(&mut tx).await?;
        tx.add_pending(&pending).await?;
        tx.commit().await?;
        Ok::<_, TokenError>(())
    };
    saved.await?;

    outln!("Open this link in a browser where the seller is logged in to MercadoLibre,");
    outln!("and accept:\n");
    outln!("{link}\n");
    outln!("MercadoLibre then sends the browser to {redirect}?code=TG-...&state={state}");
    outln!("Copy the code from that address and run:\n");
    outln!("  meli-stock auth exchange --code TG-...\n");
    outln!(
        "The link can be used for {} minutes; the code for a few minutes only.",
        PENDING_LIFETIME.as_secs() / 60
    );
    Ok(())
}

async fn exchange(config: &Config, args: &ExchangeArgs) -> Result<(), Failure> {
    let store = open_store(config).await?;
    let vault = open_vault(&store, config).await?;
    let oauth = tokens::oauth_client(config)?;

    let mut tx = store.begin_tokens().await.map_err(TokenError::from)?;
    let pending = tx.pending().await.map_err(TokenError::from)?;
    tx.commit().await.map_err(TokenError::from)?;
    let chosen = pending
        .into_iter()
        .filter(|p| p.app_id == oauth.app_id())
        .filter(|p| args.state.as_ref().is_none_or(|s| *s == p.state))
        .find(|p| {
            args.redirect_uri
                .as_ref()
                .is_none_or(|r| *r == p.redirect_uri)
        })
        .ok_or_else(|| {
            Failure::Input(anyhow!(
                "no pending authorization of app {} matches: run `meli-stock auth url` first \
                 (its link lasts {} minutes), then exchange the code it leads to",
                oauth.app_id(),
                PENDING_LIFETIME.as_secs() / 60
            ))
        })?;
    let verifier = vault.open_verifier(&chosen.state, &chosen.verifier)?;

    let received_at = now_micros();
    let tokens = oauth
        .exchange_code(
            args.code.trim(),
            &chosen.redirect_uri,
            Some(meli_api::ExposeSecret::expose_secret(&verifier)),
        )
        .await
        .map_err(|e| match e {
            meli_api::Error::InvalidGrant { .. } => Failure::Input(anyhow!(
                "MercadoLibre refused the code ({e}); codes work once and for a few minutes: \
                 start again with `meli-stock auth url`"
            )),
            other => Failure::Run(anyhow!(other).context("failed to exchange the code")),
        })?;

    let check = InMemoryTokenProvider::new(oauth.clone(), tokens.clone());
    let client = MeliClient::new(config.ml.client_config(), Arc::new(check))
        .map_err(|e| Failure::Input(e.into()))?;
    let user = client
        .users_me()
        .await
        .map_err(|e| Failure::Run(anyhow!(e).context("failed to check the new token")))?;
    if user.id != tokens.user_id {
        return Err(Failure::Run(anyhow!(
            "the token endpoint issued tokens for user {} but /users/me answered user {}",
            tokens.user_id,
            user.id
        )));
    }

    let site = user.site_id.clone().unwrap_or(chosen.site_id.clone());
    let new = NewAccount {
        seller_id: user.id,
        app_id: oauth.app_id(),
        site_id: Some(&site),
        nickname: user.nickname.as_deref(),
        tokens: &tokens,
        issued_at: received_at,
        known_issue_time: true,
    };
    let row = vault.account_row(new);
    let detail = format!(
        "authorized with a code (access token {})",
        meli_api::token_fingerprint(&tokens.access_token)
    );
    let stored = async {
        let mut tx = store.begin_tokens().await?;
        vault.claim_key(&mut tx).await?;
        tx.put_account(&row, true).await?;
        tx.add_event(user.id, EventKind::Authorized, Some(&detail))
            .await?;
        tx.remove_pending(&chosen.state).await?;
        tx.commit().await?;
        Ok::<_, TokenError>(())
    };
    stored.await?;

    outln!(
        "seller {} ({}, site {site}) authorized; its tokens are stored encrypted in {} (key {})",
        user.id,
        user.nickname.as_deref().unwrap_or("no nickname"),
        store.describe(),
        vault.fingerprint()
    );
    Ok(())
}

async fn refresh(config: &Config, args: &RefreshArgs) -> Result<(), Failure> {
    let store = open_store(config).await?;
    let vault = open_vault(&store, config).await?;
    let mut config = config.clone();
    if args.seller.is_some() {
        config.ml.seller_id = args.seller;
    }
    let sellers = tokens::sellers_to_sync(&store, &config, args.all).await?;

    let mut failures = Vec::new();
    for &seller_id in &sellers {
        let outcome = async {
            let expires_at = super::sync::refresh_stored(&vault, &config, seller_id).await?;
            outln!(
                "seller {seller_id}: access token valid until {}",
                expires_at.format("%Y-%m-%d %H:%M:%S UTC")
            );
            Ok::<_, Failure>(())
        };
        if let Err(failure) = outcome.await {
            failures.push((seller_id, failure));
        }
    }
    sellers::combine(sellers.len(), failures)
}
