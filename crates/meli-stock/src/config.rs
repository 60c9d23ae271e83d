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

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::store::InventoryNames;
use crate::sync::plan::MatchMode;

#[path = "config_serve.rs"]
mod serve_settings;

pub use serve_settings::{
    AlertSettings, EmailSettings, ServeSettings, SmtpTls, WebhookFormat, WebhookSettings,
};

/// One setting: its TOML key (`section.name`), environment variable, default and meaning.
#[derive(Debug)]
pub struct Setting {
    pub key: &'static str,
    pub env: &'static str,
    pub default: Option<&'static str>,
    pub secret: bool,
    pub help: &'static str,
}

const fn setting(key: &'static str, env: &'static str, default: Option<&'static str>) -> Setting {
    Setting {
        key,
        env,
        default,
        secret: false,
        help: "",
    }
}

const fn secret(key: &'static str, env: &'static str, help: &'static str) -> Setting {
    Setting {
        key,
        env,
        default: None,
        secret: true,
        help,
    }
}

const fn with_help(mut s: Setting, help: &'static str) -> Setting {
    s.help = help;
    s
}

/// Every setting meli-stock reads.
pub const SETTINGS: &[Setting] = &[
    with_help(
        setting("ml.app_id", "ML_APP_ID", None),
        "ML application id (client_id)",
    ),
    secret(
        "ml.secret",
        "ML_SECRET",
        "ML application secret (client_secret)",
    ),
    secret(
        "ml.access_token",
        "ML_ACCESS_TOKEN",
        "access token, imported on first use",
    ),
    secret(
        "ml.refresh_token",
        "ML_REFRESH_TOKEN",
        "refresh token, imported on first use",
    ),
    with_help(
        setting("ml.seller_id", "ML_SELLER_ID", None),
        "seller (user) id to sync",
    ),
    with_help(
        setting("ml.redirect_uri", "ML_REDIRECT_URI", None),
        "redirect URI registered for the app, used by `auth url` and `auth exchange`",
    ),
    with_help(
        setting(
            "ml.api_url",
            "ML_API_URL",
            Some("https://api.mercadolibre.com"),
        ),
        "ML API base URL (the simulator's URL in tests and demos)",
    ),
    with_help(
        setting(
            "ml.requests_per_second",
            "MELI_STOCK_REQUESTS_PER_SECOND",
            Some("5"),
        ),
        "overall request rate towards ML (ML allows about 18,000 an hour per app)",
    ),
    with_help(
        setting(
            "ml.stock_reads_per_minute",
            "MELI_STOCK_STOCK_READS_PER_MINUTE",
            Some("100"),
        ),
        "user-product stock reads per minute (ML's limit for that endpoint is 100)",
    ),
    with_help(
        setting("ml.concurrency", "MELI_STOCK_CONCURRENCY", Some("8")),
        "requests in flight at once",
    ),
    with_help(
        setting("ml.max_attempts", "MELI_STOCK_MAX_ATTEMPTS", Some("5")),
        "attempts per request on 429, 5xx and network errors",
    ),
    Setting {
        key: "database.url",
        env: "DATABASE_URL",
        default: None,
        secret: true,
        help: "PostgreSQL URL; unset means the embedded SQLite file",
    },
    with_help(
        setting(
            "database.sqlite_path",
            "MELI_STOCK_SQLITE_PATH",
            Some("meli-stock.db"),
        ),
        "the embedded SQLite file used when DATABASE_URL is unset",
    ),
    secret(
        "tokens.key",
        "MELI_STOCK_KEY",
        "key encrypting stored tokens: 64 hex characters (`openssl rand -hex 32`)",
    ),
    secret(
        "tokens.new_key",
        "MELI_STOCK_NEW_KEY",
        "the new key for `meli-stock auth rotate-key`",
    ),
    with_help(
        setting(
            "tokens.refresh_margin",
            "MELI_STOCK_REFRESH_MARGIN",
            Some("30m"),
        ),
        "refresh the access token this long before it expires",
    ),
    with_help(
        setting(
            "sync.updated_by",
            "MELI_STOCK_UPDATED_BY",
            Some("meli-stock"),
        ),
        "value written to warehouse_stock.updated_by",
    ),
    with_help(
        setting("sync.match", "MELI_STOCK_MATCH", Some("item")),
        "how listings match products: item, sku or variation",
    ),
    with_help(
        setting(
            "sync.mass_zero_max",
            "MELI_STOCK_MASS_ZERO_MAX",
            Some("0.2"),
        ),
        "largest share of managed rows a run may set to zero (0 to 1)",
    ),
    with_help(
        setting(
            "sync.mass_zero_min_rows",
            "MELI_STOCK_MASS_ZERO_MIN_ROWS",
            Some("10"),
        ),
        "the zeroing guard ignores runs that zero fewer rows than this",
    ),
    with_help(
        setting(
            "sync.stock_read_budget",
            "MELI_STOCK_STOCK_READ_BUDGET",
            Some("1000"),
        ),
        "user-product stock reads a run may make (0 = none, all = no limit)",
    ),
    with_help(
        setting(
            "sync.stock_max_age",
            "MELI_STOCK_STOCK_MAX_AGE",
            Some("24h"),
        ),
        "a user product's breakdown older than this is read again",
    ),
    with_help(
        setting("inventory.schema", "MELI_STOCK_SCHEMA", Some("public")),
        "schema of the inventory tables (PostgreSQL)",
    ),
    with_help(
        setting(
            "inventory.products_table",
            "MELI_STOCK_PRODUCTS_TABLE",
            Some("products"),
        ),
        "the products table",
    ),
    with_help(
        setting(
            "inventory.warehouses_table",
            "MELI_STOCK_WAREHOUSES_TABLE",
            Some("warehouses"),
        ),
        "the warehouses table",
    ),
    with_help(
        setting(
            "inventory.stock_table",
            "MELI_STOCK_STOCK_TABLE",
            Some("warehouse_stock"),
        ),
        "the stock table",
    ),
    with_help(
        setting(
            "inventory.match_column",
            "MELI_STOCK_MATCH_COLUMN",
            Some("external_id"),
        ),
        "products column holding the match key (item id, SKU, item-variation)",
    ),
    with_help(
        setting(
            "inventory.products_id_column",
            "MELI_STOCK_PRODUCTS_ID_COLUMN",
            Some("id"),
        ),
        "products: primary key column",
    ),
    with_help(
        setting(
            "inventory.products_source_column",
            "MELI_STOCK_PRODUCTS_SOURCE_COLUMN",
            Some("source"),
        ),
        "products: column telling where a product comes from",
    ),
    with_help(
        setting(
            "inventory.warehouses_id_column",
            "MELI_STOCK_WAREHOUSES_ID_COLUMN",
            Some("id"),
        ),
        "warehouses: primary key column",
    ),
    with_help(
        setting(
            "inventory.warehouses_code_column",
            "MELI_STOCK_WAREHOUSES_CODE_COLUMN",
            Some("code"),
        ),
        "warehouses: code column",
    ),
    with_help(
        setting(
            "inventory.warehouses_name_column",
            "MELI_STOCK_WAREHOUSES_NAME_COLUMN",
            Some("name"),
        ),
        "warehouses: name column",
    ),
    with_help(
        setting(
            "inventory.stock_warehouse_column",
            "MELI_STOCK_STOCK_WAREHOUSE_COLUMN",
            Some("warehouse_id"),
        ),
        "stock table: warehouse id column",
    ),
    with_help(
        setting(
            "inventory.stock_product_column",
            "MELI_STOCK_STOCK_PRODUCT_COLUMN",
            Some("product_id"),
        ),
        "stock table: product id column",
    ),
    with_help(
        setting(
            "inventory.stock_quantity_column",
            "MELI_STOCK_STOCK_QUANTITY_COLUMN",
            Some("quantity"),
        ),
        "stock table: quantity column",
    ),
    with_help(
        setting(
            "inventory.stock_last_updated_column",
            "MELI_STOCK_STOCK_LAST_UPDATED_COLUMN",
            Some("last_updated"),
        ),
        "stock table: last-update time column",
    ),
    with_help(
        setting(
            "inventory.stock_updated_by_column",
            "MELI_STOCK_STOCK_UPDATED_BY_COLUMN",
            Some("updated_by"),
        ),
        "stock table: writer column",
    ),
    with_help(
        setting(
            "inventory.source",
            "MELI_STOCK_SOURCE",
            Some("mercadolibre"),
        ),
        "products.source value of ML products",
    ),
    with_help(
        setting(
            "inventory.warehouse_code",
            "MELI_STOCK_WAREHOUSE_CODE",
            Some("mercadolibre"),
        ),
        "warehouses.code of the ML warehouse",
    ),
    with_help(
        setting(
            "inventory.warehouse_name",
            "MELI_STOCK_WAREHOUSE_NAME",
            Some("Mercado Libre"),
        ),
        "warehouses.name given to the ML warehouse when meli-stock creates it",
    ),
    with_help(
        setting("log.format", "MELI_STOCK_LOG_FORMAT", Some("auto")),
        "log format: auto (text with progress bars on a terminal), text or json",
    ),
    with_help(
        setting("serve.schedule", "MELI_STOCK_SCHEDULE", Some("1h")),
        "`serve`: an interval (`30m`, `1h`) or a cron expression in UTC (`0 * * * *`, `@hourly`)",
    ),
    with_help(
        setting("serve.jitter", "MELI_STOCK_JITTER", Some("2m")),
        "`serve`: random delay of up to this much added to every scheduled run",
    ),
    with_help(
        setting("serve.listen", "MELI_STOCK_LISTEN", Some("127.0.0.1:8080")),
        "`serve`: address of the health, metrics and API endpoints",
    ),
    secret(
        "serve.bearer_token",
        "MELI_STOCK_BEARER_TOKEN",
        "`serve`: when set, `/metrics` and `/api/*` require `Authorization: Bearer <token>`",
    ),
    with_help(
        setting("serve.run_retries", "MELI_STOCK_RUN_RETRIES", Some("2")),
        "`serve`: extra attempts of a failed run before it is reported",
    ),
    with_help(
        setting("serve.retry_delay", "MELI_STOCK_RETRY_DELAY", Some("5m")),
        "`serve`: wait between those attempts",
    ),
    with_help(
        setting(
            "serve.token_check_every",
            "MELI_STOCK_TOKEN_CHECK_EVERY",
            Some("10m"),
        ),
        "`serve`: how often the access token is checked (and refreshed near expiry) between runs",
    ),
    with_help(
        setting(
            "serve.shutdown_deadline",
            "MELI_STOCK_SHUTDOWN_DEADLINE",
            Some("60s"),
        ),
        "`serve`: on SIGTERM or SIGINT, how long a running sync may go on before it is rolled back",
    ),
    with_help(
        setting("alerts.stale_after", "MELI_STOCK_STALE_AFTER", Some("3h")),
        "no successful run for this long: staleness alert, `/readyz` unready, `check` fails",
    ),
    with_help(
        setting(
            "alerts.reminder_every",
            "MELI_STOCK_ALERT_REMINDER",
            Some("24h"),
        ),
        "an alert still firing is sent again this often (0 = never)",
    ),
    with_help(
        setting(
            "alerts.authorization_warning",
            "MELI_STOCK_AUTHORIZATION_WARNING",
            Some("14d"),
        ),
        "warn this long before a seller's 6-month authorization (refresh token) ends",
    ),
    secret(
        "alerts.webhook_url",
        "MELI_STOCK_WEBHOOK_URL",
        "alerts are POSTed to this URL (a Slack incoming webhook or any JSON receiver)",
    ),
    with_help(
        setting(
            "alerts.webhook_format",
            "MELI_STOCK_WEBHOOK_FORMAT",
            Some("slack"),
        ),
        "webhook body: `slack` (a Slack-compatible message) or `json` (the alert's fields)",
    ),
    with_help(
        setting("alerts.smtp_host", "MELI_STOCK_SMTP_HOST", None),
        "SMTP server for alert e-mails; unset means no e-mail",
    ),
    with_help(
        setting("alerts.smtp_port", "MELI_STOCK_SMTP_PORT", Some("587")),
        "SMTP port",
    ),
    with_help(
        setting("alerts.smtp_tls", "MELI_STOCK_SMTP_TLS", Some("starttls")),
        "SMTP encryption: `starttls`, `tls` (implicit, port 465) or `none` (local relays only)",
    ),
    with_help(
        setting("alerts.smtp_user", "MELI_STOCK_SMTP_USER", None),
        "SMTP user name, when the server needs a login",
    ),
    secret(
        "alerts.smtp_password",
        "MELI_STOCK_SMTP_PASSWORD",
        "SMTP password",
    ),
    with_help(
        setting("alerts.email_from", "MELI_STOCK_ALERT_FROM", None),
        "sender of alert e-mails, e.g. `meli-stock <alerts@example.com>`",
    ),
    with_help(
        setting("alerts.email_to", "MELI_STOCK_ALERT_TO", None),
        "recipients of alert e-mails, comma-separated",
    ),
];

/// The README's settings table: one Markdown row per setting.
pub fn settings_markdown() -> String {
    let mut out = String::from(
        "| variable | `meli-stock.toml` key | default | meaning |\n|---|---|---|---|\n",
    );
    for s in SETTINGS {
        let default = match (s.default, s.secret) {
            (Some(d), _) => format!("`{d}`"),
            (None, true) => "(secret)".to_owned(),
            (None, false) => String::new(),
        };
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            s.env, s.key, default, s.help
        ));
    }
    out
}

/// Where a value came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    DotEnv,
    Env,
    Flag,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("the default"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::DotEnv => f.write_str(".env"),
            Origin::Env => f.write_str("the environment"),
            Origin::Flag => f.write_str("the command line"),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid {name} (from {origin}): {reason}")]
    Invalid {
        name: String,
        origin: Origin,
        reason: String,
    },
    #[error("cannot read config file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("missing {name}: {hint}")]
    Missing { name: String, hint: String },
}

/// Raw values by TOML key, each with its origin.
#[derive(Debug, Default)]
pub struct Sources {
    values: BTreeMap<&'static str, (String, Origin)>,
}

impl Sources {
    /// Collects the layers. `env` answers environment lookups (tests pass a map); `dotenv` is
    /// the `.env` file's pairs; `flags` are (TOML key, value) pairs from the command line.
    pub fn collect(
        file: Option<&Path>,
        dotenv: &[(String, String)],
        env: &dyn Fn(&str) -> Option<String>,
        flags: &[(&'static str, String)],
    ) -> Result<Self, ConfigError> {
        // An empty value (`ML_SELLER_ID=` in a CI file, say) means "not set here": the
        // layer below, or the default, still applies.
        let mut values = BTreeMap::new();
        let mut set = |key: &'static str, value: &str, origin: Origin| {
            if !value.trim().is_empty() {
                values.insert(key, (value.to_owned(), origin));
            }
        };
        for s in SETTINGS {
            if let Some(default) = s.default {
                set(s.key, default, Origin::Default);
            }
        }

        if let Some(path) = file {
            for (key, value) in read_toml(path)? {
                set(key, &value, Origin::File(path.to_owned()));
            }
        }

        for s in SETTINGS {
            if let Some((_, v)) = dotenv.iter().find(|(k, _)| k == s.env) {
                set(s.key, v, Origin::DotEnv);
            }
            if let Some(v) = env(s.env) {
                set(s.key, &v, Origin::Env);
            }
        }

        for (key, value) in flags {
            set(key, value, Origin::Flag);
        }

        Ok(Self { values })
    }

    fn get(&self, key: &str) -> Option<&(String, Origin)> {
        self.values.get(key)
    }

    fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(|(v, _)| v.trim().to_owned())
    }

    fn parse<T>(
        &self,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        let Some((raw, origin)) = self.get(key) else {
            return Ok(None);
        };
        parse(raw.trim())
            .map(Some)
            .map_err(|reason| ConfigError::Invalid {
                name: display_name(key, origin),
                origin: origin.clone(),
                reason,
            })
    }

    fn required<T>(
        &self,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        self.parse(key, parse)?.ok_or_else(|| ConfigError::Missing {
            name: display_name(key, &Origin::Default),
            hint: "it has a built-in default, so this is a bug".to_owned(),
        })
    }

    /// The effective values with their origins, secrets masked (`meli-stock config`).
    pub fn describe(&self) -> Vec<(String, String, String)> {
        SETTINGS
            .iter()
            .map(|s| match self.get(s.key) {
                Some((_, origin)) if s.secret => {
                    (s.env.to_owned(), "(set)".to_owned(), origin.to_string())
                }
                Some((v, origin)) => (s.env.to_owned(), v.clone(), origin.to_string()),
                None => (s.env.to_owned(), "(unset)".to_owned(), String::new()),
            })
            .collect()
    }
}

fn display_name(key: &str, origin: &Origin) -> String {
    let setting = SETTINGS.iter().find(|s| s.key == key);
    match (setting, origin) {
        (Some(s), Origin::File(_)) => s.key.to_owned(),
        (Some(s), _) => s.env.to_owned(),
        (None, _) => key.to_owned(),
    }
}

fn read_toml(path: &Path) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let file_error = |reason: String| ConfigError::File {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_error(e.to_string()))?;

    let mut out = Vec::new();
    for (section, body) in &table {
        let toml::Value::Table(body) = body else {
            return Err(file_error(format!("`{section}` must be a [section]")));
        };
        for (name, value) in body {
            let key = format!("{section}.{name}");
            let Some(setting) = SETTINGS.iter().find(|s| s.key == key) else {
                return Err(file_error(format!("unknown setting `{key}`")));
            };
            let value = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => return Err(file_error(format!("`{key}` must be a string or a number"))),
            };
            out.push((setting.key, value));
        }
    }
    Ok(out)
}

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
            serve: serve_settings::serve_settings(sources)?,
            alerts: serve_settings::alert_settings(sources)?,
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

fn parse_u64(v: &str) -> Result<u64, String> {
    v.parse()
        .map_err(|_| format!("`{v}` is not a whole number"))
}

fn positive_u32(n: u64, what: &str) -> Result<u32, String> {
    match u32::try_from(n) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "expected a number of {what} from 1 to {}",
            u32::MAX
        )),
    }
}

fn positive_f64(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("`{v}` is not a positive number")),
    }
}

fn share(v: &str) -> Result<f64, String> {
    match v.trim_end_matches('%').parse::<f64>() {
        Ok(x) if v.ends_with('%') && (0.0..=100.0).contains(&x) => Ok(x / 100.0),
        Ok(x) if !v.ends_with('%') && (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!(
            "`{v}` is not a share between 0 and 1 (or 0% and 100%)"
        )),
    }
}

/// A token key: 64 hex characters, never echoed in the error.
fn parse_key(v: &str) -> Result<SecretString, String> {
    crate::tokens::TokenKey::from_hex(v)?;
    Ok(SecretString::from(v.to_owned()))
}

fn parse_url(v: &str) -> Result<Url, String> {
    let url = Url::parse(v).map_err(|e| format!("`{v}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{v}` must be an http or https URL"));
    }
    Ok(url)
}

/// Parses `90s`, `30m`, `24h`, `2d` or plain seconds.
pub fn parse_duration(v: &str) -> Result<Duration, String> {
    if let Ok(secs) = v.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(v).map_err(|_| format!("`{v}` is not a duration such as 30m or 24h"))
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
#[path = "config_tests.rs"]
mod tests;
