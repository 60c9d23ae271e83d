//! The table of every setting: TOML key, environment variable, default and meaning. The
//! README's settings table is [`settings_markdown`]'s output, and a test keeps them equal.

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
