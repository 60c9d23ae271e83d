//! `meli-stock accounts list | add | remove`: the seller accounts stored in the database.
//!
//! `add` imports a token the seller already has (`ML_REFRESH_TOKEN`, optionally
//! `ML_ACCESS_TOKEN`, from the settings, never from the command line where shells keep
//! history) and refreshes it at once, which checks it and replaces it by a pair only
//! meli-stock knows. `remove` deletes the account and its tokens.

use anyhow::anyhow;
use chrono::Utc;
use clap::{Args, Subcommand};
use meli_api::{TokenSet, token_fingerprint};

use super::{open_store, open_vault};
use crate::config::Config;
use crate::error::Failure;
use crate::store::{EventKind, now_micros};
use crate::tokens::{self, NewAccount, TokenError};

/// `meli-stock accounts` subcommands.
#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Every stored seller account.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Store a seller's existing token from ML_REFRESH_TOKEN and refresh it once.
    Add(AddArgs),
    /// Delete a seller's account and tokens from the database.
    Remove {
        /// The seller to remove.
        #[arg(long, value_name = "ID")]
        seller: u64,
    },
}

/// `meli-stock accounts add` flags.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The seller the token belongs to.
    #[arg(long, value_name = "ID")]
    pub seller: u64,
    /// The seller's site (MLA, MLB, MLC, ...), used in re-authorization links.
    #[arg(long)]
    pub site: Option<String>,
    /// Replace the tokens of an account that is already stored.
    #[arg(long)]
    pub replace: bool,
}

pub(super) async fn run(config: &Config, cmd: AccountsCommand) -> Result<(), Failure> {
    match cmd {
        AccountsCommand::List { json } => list(config, json).await,
        AccountsCommand::Add(args) => add(config, &args).await,
        AccountsCommand::Remove { seller } => remove(config, seller).await,
    }
}

async fn list(config: &Config, json: bool) -> Result<(), Failure> {
    let store = open_store(config).await?;
    let accounts = store.accounts().await.map_err(TokenError::from)?;

    if json {
        let rows: Vec<serde_json::Value> = accounts
            .iter()
            .map(|a| {
                serde_json::json!({
                    "seller_id": a.seller_id,
                    "nickname": a.nickname,
                    "site_id": a.site_id,
                    "app_id": a.app_id,
                    "status": a.status,
                    "access_expires_at": a.access_expires_at,
                    "last_refresh_at": a.last_refresh_at,
                    "refresh_count": a.refresh_count,
                    "created_at": a.created_at,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&rows)
            .map_err(|e| Failure::Run(anyhow!("cannot encode the accounts: {e}")))?;
        outln!("{text}");
        return Ok(());
    }
    if accounts.is_empty() {
        outln!("no seller accounts are stored; authorize one with `meli-stock auth url`");
        return Ok(());
    }
    outln!(
        "{:>12}  {:<20}  {:<4}  {:<18}  {:<15}  {:<20}  created (UTC)",
        "seller",
        "nickname",
        "site",
        "app",
        "status",
        "last refresh (UTC)"
    );
    for a in &accounts {
        outln!(
            "{:>12}  {:<20}  {:<4}  {:<18}  {:<15}  {:<20}  {}",
            a.seller_id,
            a.nickname.as_deref().unwrap_or("-"),
            a.site_id.as_deref().unwrap_or("-"),
            a.app_id,
            a.status.as_str(),
            a.last_refresh_at.map_or_else(
                || "never".to_owned(),
                |t| t.format("%Y-%m-%d %H:%M:%S").to_string()
            ),
            a.created_at.format("%Y-%m-%d %H:%M:%S")
        );
    }
    Ok(())
}

async fn add(config: &Config, args: &AddArgs) -> Result<(), Failure> {
    let store = open_store(config).await?;
    let vault = open_vault(&store, config).await?;
    let oauth = tokens::oauth_client(config)?;
    let Some(refresh_token) = config.ml.refresh_token.clone() else {
        return Err(Failure::Input(anyhow!(
            "ML_REFRESH_TOKEN is not set: put the seller's refresh token in the environment \
             or .env (not on the command line), or authorize with `meli-stock auth url`"
        )));
    };
    let seller_id = args.seller;
    if !args.replace
        && store
            .account(seller_id)
            .await
            .map_err(TokenError::from)?
            .is_some()
    {
        return Err(Failure::Input(anyhow!(
            "seller {seller_id} is already stored; pass --replace to overwrite its tokens"
        )));
    }

    let now = Utc::now();
    let tokens = TokenSet {
        access_token: config
            .ml
            .access_token
            .clone()
            .unwrap_or_else(|| meli_api::SecretString::from(String::new())),
        refresh_token: Some(refresh_token.clone()),
        expires_at: now,
        user_id: seller_id,
        scope: None,
    };
    let site = args.site.as_ref().map(|s| s.to_ascii_uppercase());
    let new = NewAccount {
        seller_id,
        app_id: oauth.app_id(),
        site_id: site.as_deref(),
        nickname: None,
        tokens: &tokens,
        issued_at: now_micros(),
        known_issue_time: false,
    };
    let detail = format!(
        "tokens added from the settings (refresh token {})",
        token_fingerprint(&refresh_token)
    );
    vault
        .save_account(new, EventKind::Imported, &detail, args.replace)
        .await?;

    let mut config = config.clone();
    config.ml.refresh_token = None;
    let expires_at = super::sync::refresh_stored(&vault, &config, seller_id).await?;
    outln!(
        "seller {seller_id} stored; its token works and was replaced by a new one, valid until \
         {} (ML_REFRESH_TOKEN is no longer needed)",
        expires_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    Ok(())
}

async fn remove(config: &Config, seller_id: u64) -> Result<(), Failure> {
    let store = open_store(config).await?;
    let removed = async {
        let mut tx = store.begin_tokens().await?;
        let removed = tx.remove_account(seller_id).await?;
        if removed {
            tx.add_event(
                seller_id,
                EventKind::Removed,
                Some("removed with `accounts remove`"),
            )
            .await?;
        }
        tx.commit().await?;
        Ok::<_, TokenError>(removed)
    };
    if !removed.await? {
        return Err(Failure::Input(anyhow!(
            "no account is stored for seller {seller_id}"
        )));
    }
    outln!(
        "seller {seller_id} removed with its tokens; the seller can also withdraw the app's \
         access in their MercadoLibre account"
    );
    Ok(())
}
