//! Settings: where each one comes from, how it is checked, and the typed [`Config`] the rest of
//! the program receives.
//!
//! Layers, later ones winning: built-in defaults, the TOML file (`meli-stock.toml` in the
//! working directory, or `--config PATH` / `MELI_STOCK_CONFIG`), a `.env` file in the working
//! directory, the process environment, then command-line flags. The environment names of the
//! script meli-stock replaces (`ML_APP_ID`, `ML_SECRET`, `ML_ACCESS_TOKEN`, `ML_REFRESH_TOKEN`,
//! `ML_SELLER_ID`, `DATABASE_URL`) keep working. [`SETTINGS`] lists every setting with its
//! TOML key, environment name, default and meaning; the README's table is taken from it.
//!
//! A bad value is reported with the setting's name, where it came from and what is expected;
//! secrets are never echoed back.
//!
//! # Layout
//! - `settings`: [`SETTINGS`], the table of every setting (the README's table);
//! - `sources`: the layers and their origins ([`Sources`], [`Origin`], [`ConfigError`]);
//! - `parse`: the value parsers shared by every setting;
//! - `serve`: the settings of `meli-stock serve` and of the alerts.

mod parse;
mod serve;
mod settings;
mod sources;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::store::InventoryNames;
use crate::sync::plan::MatchMode;

pub use parse::parse_duration;
pub(crate) use parse::{parse_key, parse_u64, parse_url, positive_f64, positive_u32, share};
pub use serve::{
    AlertSettings, EmailSettings, ServeSettings, SmtpTls, WebhookFormat, WebhookSettings,
};
pub use settings::{SETTINGS, Setting, settings_markdown};
pub(crate) use sources::display_name;
pub use sources::{ConfigError, Origin, Sources};

/// How many user-product breakdowns a run may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadBudget {
    Limited(usize),
    Unlimited,
}

impl ReadBudget {
    /// The budget as a count.
    pub fn get(self) -> usize {
        match self {
            ReadBudget::Limited(n) => n,
            ReadBudget::Unlimited => usize::MAX,
        }
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Text, with progress bars when stderr is a terminal.
    Auto,
    Text,
    Json,
}

/// ML credentials and client limits.
#[derive(Clone)]
pub struct MlSettings {
    pub app_id: Option<String>,
    pub secret: Option<SecretString>,
    pub access_token: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
    pub seller_id: Option<u64>,
    pub redirect_uri: Option<String>,
    pub api_url: Url,
    pub requests_per_second: f64,
    pub stock_reads_per_minute: u32,
    pub concurrency: usize,
    pub max_attempts: u32,
}

impl fmt::Debug for MlSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |s: &Option<SecretString>| if s.is_some() { "(set)" } else { "(unset)" };
        f.debug_struct("MlSettings")
            .field("app_id", &self.app_id)
            .field("secret", &set(&self.secret))
            .field("access_token", &set(&self.access_token))
            .field("refresh_token", &set(&self.refresh_token))
            .field("seller_id", &self.seller_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("api_url", &self.api_url.as_str())
            .field("requests_per_second", &self.requests_per_second)
            .field("stock_reads_per_minute", &self.stock_reads_per_minute)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

impl MlSettings {
    /// The client configuration these settings describe.
    pub fn client_config(&self) -> meli_api::ClientConfig {
        meli_api::ClientConfig {
            base_url: self.api_url.clone(),
            requests_per_second: self.requests_per_second,
            user_product_stock_per_minute: self.stock_reads_per_minute,
            max_concurrency: self.concurrency,
            max_attempts: self.max_attempts,
            ..meli_api::ClientConfig::default()
        }
    }
}

/// What a run does.
#[derive(Clone, Debug)]
pub struct SyncSettings {
    pub updated_by: String,
    pub match_mode: MatchMode,
    pub mass_zero_max: f64,
    pub mass_zero_min_rows: usize,
    pub stock_read_budget: ReadBudget,
    pub stock_max_age: Duration,
}

/// The token key and refresh timing.
#[derive(Clone)]
pub struct TokenSettings {
    /// `MELI_STOCK_KEY`, checked to be 64 hex characters.
    pub key: Option<SecretString>,
    /// `MELI_STOCK_NEW_KEY`, for key rotation.
    pub new_key: Option<SecretString>,
    pub refresh_margin: Duration,
}

impl fmt::Debug for TokenSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |s: &Option<SecretString>| if s.is_some() { "(set)" } else { "(unset)" };
        f.debug_struct("TokenSettings")
            .field("key", &set(&self.key))
            .field("new_key", &set(&self.new_key))
            .field("refresh_margin", &self.refresh_margin)
            .finish()
    }
}

/// The checked configuration.
#[derive(Clone)]
pub struct Config {
    pub ml: MlSettings,
    pub database_url: Option<SecretString>,
    pub sqlite_path: PathBuf,
    pub tokens: TokenSettings,
    pub sync: SyncSettings,
    pub inventory: InventoryNames,
    pub log_format: LogFormat,
    pub serve: ServeSettings,
    pub alerts: AlertSettings,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("ml", &self.ml)
            .field("database_url", &self.database_url.as_ref().map(redact_url))
            .field("sqlite_path", &self.sqlite_path)
            .field("tokens", &self.tokens)
            .field("sync", &self.sync)
            .field("inventory", &self.inventory)
            .field("log_format", &self.log_format)
            .field("serve", &self.serve)
            .field("alerts", &self.alerts)
            .finish()
    }
}

/// A database URL without its password, safe for messages.
pub fn redact_url(url: &SecretString) -> String {
    match Url::parse(url.expose_secret()) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("****"));
            }
            parsed.to_string()
        }
        Err(_) => "(unparseable URL)".to_owned(),
    }
}

impl Config {
    /// Checks every value of `sources`.
    pub fn from_sources(sources: &Sources) -> Result<Self, ConfigError> {
        let secret = |key: &str| sources.text(key).map(SecretString::from);

        let ml = MlSettings {
            app_id: sources.text("ml.app_id"),
            secret: secret("ml.secret"),
            access_token: secret("ml.access_token"),
            refresh_token: secret("ml.refresh_token"),
            seller_id: sources.parse("ml.seller_id", parse_u64)?,
            redirect_uri: sources
                .parse("ml.redirect_uri", |v| parse_url(v).map(|_| v.to_owned()))?,
            api_url: sources.required("ml.api_url", parse_url)?,
            requests_per_second: sources.required("ml.requests_per_second", positive_f64)?,
            stock_reads_per_minute: sources.required("ml.stock_reads_per_minute", |v| {
                parse_u64(v).and_then(|n| positive_u32(n, "reads per minute"))
            })?,
            concurrency: sources.required("ml.concurrency", |v| {
                parse_u64(v)
                    .and_then(|n| positive_u32(n, "requests"))
                    .map(|n| n as usize)
            })?,
            max_attempts: sources.required("ml.max_attempts", |v| {
                parse_u64(v).and_then(|n| positive_u32(n, "attempts"))
            })?,
        };

        let database_url = match sources.get("database.url") {
            Some((raw, origin)) => {
                let url = raw.trim();
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return Err(ConfigError::Invalid {
                        name: display_name("database.url", origin),
                        origin: origin.clone(),
                        reason: "expected a postgres:// or postgresql:// URL (unset it to use \
                                 the embedded SQLite file)"
                            .to_owned(),
                    });
                }
                Some(SecretString::from(url.to_owned()))
            }
            None => None,
        };

        let sync = SyncSettings {
            updated_by: sources.required("sync.updated_by", |v| Ok(v.to_owned()))?,
            match_mode: sources.required("sync.match", |v| {
                MatchMode::parse(v).ok_or_else(|| "expected item, sku or variation".to_owned())
            })?,
            mass_zero_max: sources.required("sync.mass_zero_max", share)?,
            mass_zero_min_rows: sources
                .required("sync.mass_zero_min_rows", parse_u64)
                .map(|n| n as usize)?,
            stock_read_budget: sources.required("sync.stock_read_budget", |v| {
                if v.eq_ignore_ascii_case("all") {
                    Ok(ReadBudget::Unlimited)
                } else {
                    parse_u64(v).map(|n| ReadBudget::Limited(n as usize))
                }
            })?,
            stock_max_age: sources.required("sync.stock_max_age", parse_duration)?,
        };

        let tokens = TokenSettings {
            key: sources.parse("tokens.key", parse_key)?,
            new_key: sources.parse("tokens.new_key", parse_key)?,
            refresh_margin: sources.required("tokens.refresh_margin", parse_duration)?,
        };

        let inventory = inventory_names(sources)?;
        let log_format = sources.required("log.format", |v| match v {
            "auto" => Ok(LogFormat::Auto),
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("expected auto, text or json".to_owned()),
        })?;

        Ok(Self {
            ml,
            database_url,
            sqlite_path: PathBuf::from(sources.text("database.sqlite_path").unwrap_or_default()),
            tokens,
            sync,
            inventory,
            log_format,
            serve: serve::serve_settings(sources)?,
            alerts: serve::alert_settings(sources)?,
        })
    }
}

/// Settings holding SQL identifiers, with the name field each one fills.
const IDENTIFIERS: &[&str] = &[
    "inventory.schema",
    "inventory.products_table",
    "inventory.warehouses_table",
    "inventory.stock_table",
    "inventory.match_column",
    "inventory.products_id_column",
    "inventory.products_source_column",
    "inventory.warehouses_id_column",
    "inventory.warehouses_code_column",
    "inventory.warehouses_name_column",
    "inventory.stock_warehouse_column",
    "inventory.stock_product_column",
    "inventory.stock_quantity_column",
    "inventory.stock_last_updated_column",
    "inventory.stock_updated_by_column",
];

fn inventory_names(sources: &Sources) -> Result<InventoryNames, ConfigError> {
    for key in IDENTIFIERS {
        sources.parse(key, |v| {
            if crate::store::is_identifier(v) {
                Ok(())
            } else {
                Err(format!(
                    "`{v}` is not a plain SQL identifier (letters, digits and _, not starting \
                     with a digit, at most 63 characters)"
                ))
            }
        })?;
    }

    let text = |key: &str| sources.text(key).unwrap_or_default();
    let names = InventoryNames {
        schema: text("inventory.schema"),
        products_table: text("inventory.products_table"),
        products_id: text("inventory.products_id_column"),
        match_column: text("inventory.match_column"),
        products_source: text("inventory.products_source_column"),
        source_value: text("inventory.source"),
        warehouses_table: text("inventory.warehouses_table"),
        warehouses_id: text("inventory.warehouses_id_column"),
        warehouses_code: text("inventory.warehouses_code_column"),
        warehouses_name: text("inventory.warehouses_name_column"),
        warehouse_code: text("inventory.warehouse_code"),
        warehouse_name: text("inventory.warehouse_name"),
        stock_table: text("inventory.stock_table"),
        stock_warehouse_id: text("inventory.stock_warehouse_column"),
        stock_product_id: text("inventory.stock_product_column"),
        stock_quantity: text("inventory.stock_quantity_column"),
        stock_last_updated: text("inventory.stock_last_updated_column"),
        stock_updated_by: text("inventory.stock_updated_by_column"),
    };
    names.validate().map_err(|e| ConfigError::Invalid {
        name: "inventory names".to_owned(),
        origin: Origin::Default,
        reason: e.to_string(),
    })?;
    Ok(names)
}

/// Reads the process environment; the only place that does.
#[allow(clippy::disallowed_methods)]
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Loads the whole configuration the way the binary does: TOML file, `.env`, environment,
/// then `flags`.
pub fn load(
    config_path: Option<&Path>,
    flags: &[(&'static str, String)],
) -> Result<(Config, Sources), ConfigError> {
    let explicit = config_path.map(Path::to_owned).or_else(|| {
        process_env("MELI_STOCK_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let file = match explicit {
        Some(path) if !path.exists() => {
            return Err(ConfigError::File {
                path,
                reason: "no such file".to_owned(),
            });
        }
        Some(path) => Some(path),
        None => Some(PathBuf::from("meli-stock.toml")).filter(|p| p.exists()),
    };

    let dotenv: Vec<(String, String)> = match dotenvy::from_path_iter(".env") {
        Ok(iter) => iter
            .collect::<Result<_, _>>()
            .map_err(|e| ConfigError::File {
                path: PathBuf::from(".env"),
                reason: e.to_string(),
            })?,
        Err(_) => Vec::new(),
    };

    let sources = Sources::collect(file.as_deref(), &dotenv, &process_env, flags)?;
    let config = Config::from_sources(&sources)?;
    Ok((config, sources))
}

#[cfg(test)]
mod tests;
