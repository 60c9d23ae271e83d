//! The command line: flags, subcommands, and the glue that turns settings into a store, a
//! client and a run. Each subcommand's work lives in its own module; this one only wires.

mod db;
mod runs;
mod service;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::anyhow;
use chrono::Utc;
use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{self, Config};
use crate::error::Failure;
use crate::progress::Progress;
use crate::store::Store;
use crate::sync::{self, SyncOptions};
use crate::{demo, telemetry};

/// Keeps a MercadoLibre seller's stock mirrored in your own inventory database.
#[derive(Debug, Parser)]
#[command(name = "meli-stock", version, about, long_about = None)]
pub struct Cli {
    /// A TOML settings file (default: meli-stock.toml in the working directory, if present).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Log format: auto (progress bars on a terminal), text or json.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,

    /// PostgreSQL URL (overrides DATABASE_URL); unset means the embedded SQLite file.
    #[arg(long, global = true, value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormatArg {
    Auto,
    Text,
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one sync: list every listing on ML and write the stock to the inventory tables.
    Sync(SyncArgs),
    /// Try everything offline: a simulated ML catalogue synced into the embedded database.
    Demo(demo::DemoArgs),
    /// Database setup: create the inventory tables, apply meli-stock's own migrations.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Recent runs, newest first.
    Runs(runs::RunsArgs),
    /// Reports on the last run's data.
    #[command(subcommand)]
    Report(runs::ReportCommand),
    /// Show every setting's effective value and where it came from (secrets masked).
    Config(ConfigArgs),
    /// Run continuously: sync on a schedule, alert, and serve health, metrics and JSON.
    Serve(service::ServeArgs),
    /// Fail (and alert) when the newest successful run is older than --max-age.
    Check(service::CheckArgs),
}

/// `meli-stock config` flags.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print the table of every setting (TOML key, variable, default, meaning) as Markdown,
    /// as the README shows it, instead of the effective values.
    #[arg(long)]
    pub markdown: bool,
}

/// `meli-stock sync` flags.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Print what would change (product, item, old -> new) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the run record as JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// The seller to sync (overrides ML_SELLER_ID).
    #[arg(long, value_name = "ID")]
    pub seller: Option<u64>,
    /// Write even when the run would zero out more rows than MELI_STOCK_MASS_ZERO_MAX allows.
    #[arg(long)]
    pub allow_mass_zero: bool,
}

impl Cli {
    fn flags(&self) -> Vec<(&'static str, String)> {
        let mut flags = Vec::new();
        if let Some(format) = self.log_format {
            let value = match format {
                LogFormatArg::Auto => "auto",
                LogFormatArg::Text => "text",
                LogFormatArg::Json => "json",
            };
            flags.push(("log.format", value.to_owned()));
        }
        if let Some(url) = &self.database_url {
            flags.push(("database.url", url.clone()));
        }
        if let Command::Sync(SyncArgs {
            seller: Some(seller),
            ..
        }) = &self.command
        {
            flags.push(("ml.seller_id", seller.to_string()));
        }
        if let Command::Serve(args) = &self.command {
            if let Some(listen) = &args.listen {
                flags.push(("serve.listen", listen.clone()));
            }
            if let Some(schedule) = &args.schedule {
                flags.push(("serve.schedule", schedule.clone()));
            }
        }
        flags
    }
}

/// Runs the parsed command line.
///
/// # Errors
/// A [`Failure`] whose exit code the binary returns.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let (config, sources) = config::load(cli.config.as_deref(), &cli.flags())?;
    // The demo narrates what it does; its logs stay at warnings unless asked for.
    let quiet = matches!(cli.command, Command::Demo(_));
    let bars = telemetry::init(config.log_format, quiet);
    let progress = if bars {
        Progress::bars()
    } else {
        Progress::hidden()
    };

    match cli.command {
        Command::Sync(args) => sync_command(&config, &args, &progress).await,
        Command::Demo(args) => demo::run(&config, &args, &progress).await,
        Command::Db(cmd) => db::run(&config, cmd).await,
        Command::Runs(args) => runs::list(&config, &args).await,
        Command::Report(cmd) => runs::report(&config, cmd).await,
        Command::Config(args) if args.markdown => {
            print!("{}", config::settings_markdown());
            Ok(())
        }
        Command::Serve(_) => crate::serve::run(&config).await,
        Command::Check(args) => service::check(&config, &args).await,
        Command::Config(_) => {
            for (name, value, origin) in sources.describe() {
                println!("{name:<36} {value:<40} {origin}");
            }
            Ok(())
        }
    }
}

/// Opens the configured store (PostgreSQL or the embedded SQLite file), migrated.
pub async fn open_store(config: &Config) -> Result<Store, Failure> {
    let url = config.database_url.as_ref().map(|u| u.expose_secret());
    Store::connect(url, &config.sqlite_path)
        .await
        .map_err(|e| Failure::Input(e.into()))
}

async fn sync_command(
    config: &Config,
    args: &SyncArgs,
    progress: &Progress,
) -> Result<(), Failure> {
    let store = open_store(config).await?;
    let client = client_from_env(config)?;
    let options = SyncOptions {
        dry_run: args.dry_run,
        allow_mass_zero: args.allow_mass_zero,
        seller_id: args.seller,
    };

    let report = sync::run(&store, &client, config, &options, progress).await?;

    if args.json {
        let json = serde_json::to_string_pretty(&report.json())
            .map_err(|e| Failure::Run(anyhow!("cannot encode the run record: {e}")))?;
        println!("{json}");
    } else {
        print!("{}", report.summary());
    }
    Ok(())
}

/// A client whose tokens come from the settings (`ML_ACCESS_TOKEN`, `ML_REFRESH_TOKEN`).
pub fn client_from_env(config: &Config) -> Result<meli_api::MeliClient, Failure> {
    let ml = &config.ml;
    let missing = |name: &str| {
        Failure::Input(anyhow!(
            "{name} is not set: meli-stock needs ML_APP_ID, ML_SECRET and ML_REFRESH_TOKEN \
             (or ML_ACCESS_TOKEN) to talk to MercadoLibre; set them in the environment, .env \
             or meli-stock.toml ([ml] section). `meli-stock demo` needs none of them"
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
    // The age of an access token taken from the environment is unknown: an empty one forces a
    // refresh first; a given one is used until ML answers 401, then refreshed once.
    let tokens = meli_api::TokenSet {
        access_token: ml
            .access_token
            .clone()
            .unwrap_or_else(|| SecretString::from(String::new())),
        refresh_token: ml.refresh_token.clone(),
        expires_at: if ml.access_token.is_some() {
            Utc::now() + chrono::Duration::hours(6)
        } else {
            Utc::now()
        },
        user_id: ml.seller_id.unwrap_or(0),
        scope: None,
    };
    let provider = meli_api::InMemoryTokenProvider::new(oauth, tokens);
    meli_api::MeliClient::new(client_config, Arc::new(provider))
        .map_err(|e| Failure::Input(e.into()))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
