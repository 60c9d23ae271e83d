//! The command line: flags, subcommands, and the glue that turns settings into a store, a
//! client and a run. Each subcommand's work lives in its own module; this one only wires.

mod accounts;
mod auth;
mod db;
mod runs;
mod sellers;
mod service;
mod sync;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::ExposeSecret;

use crate::config::{self, Config};
use crate::error::Failure;
use crate::progress::Progress;
use crate::store::Store;
use crate::tokens::Vault;
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
    /// Authorize sellers, inspect and refresh their tokens, change the token key.
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    /// The seller accounts stored in the database.
    #[command(subcommand)]
    Accounts(accounts::AccountsCommand),
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
    #[arg(long, value_name = "ID", conflicts_with = "all")]
    pub seller: Option<u64>,
    /// Sync every stored seller, one after the other; one failing does not stop the others.
    #[arg(long)]
    pub all: bool,
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
    // Unattended commands log at INFO, for the record; the interactive ones print their own
    // answer, so their logs stay at warnings unless MELI_STOCK_LOG asks for more.
    let quiet = !matches!(
        cli.command,
        Command::Sync(_) | Command::Serve(_) | Command::Check(_)
    );
    let draws = matches!(cli.command, Command::Sync(_) | Command::Demo(_));
    let bars = telemetry::init(config.log_format, quiet, draws);
    let progress = if bars {
        Progress::bars()
    } else {
        Progress::hidden()
    };

    match cli.command {
        Command::Sync(args) => sync::run(&config, &args, &progress).await,
        Command::Auth(cmd) => auth::run(&config, cmd).await,
        Command::Accounts(cmd) => accounts::run(&config, cmd).await,
        Command::Demo(args) => demo::run(&config, &args, &progress).await,
        Command::Db(cmd) => db::run(&config, cmd).await,
        Command::Runs(args) => runs::list(&config, &args).await,
        Command::Report(cmd) => runs::report(&config, cmd).await,
        Command::Config(args) if args.markdown => {
            out!("{}", config::settings_markdown());
            Ok(())
        }
        Command::Serve(_) => crate::serve::run(&config).await,
        Command::Check(args) => service::check(&config, &args).await,
        Command::Config(_) => {
            for (name, value, origin) in sources.describe() {
                outln!("{name:<36} {value:<40} {origin}");
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

/// True when the store is the embedded default and its file does not exist yet: such a
/// store holds no account, so a command that needs one can fail before creating the file.
pub fn fresh_embedded_store(config: &Config) -> bool {
    config.database_url.is_none() && !config.sqlite_path.exists()
}

/// The vault of `store` with the configured key (`MELI_STOCK_KEY`, or for SQLite the local
/// key file).
pub async fn open_vault(store: &Store, config: &Config) -> Result<Vault, Failure> {
    Vault::open(store, config).await.map_err(Failure::from)
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
