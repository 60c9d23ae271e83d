//! Logging setup: human text or JSON lines on stderr, and whether progress bars are drawn.
//!
//! Progress bars appear only when the format is `auto` and stderr is a terminal; then the
//! console shows warnings and errors only, so log lines do not tear the bars. Everywhere else
//! (CI, cron, systemd) the output is structured logs at INFO. `MELI_STOCK_LOG` (or `RUST_LOG`)
//! takes a tracing filter such as `meli_stock=debug,meli_api=debug`. Text logs are coloured
//! only on a terminal, and never with `NO_COLOR` set.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, process_env};

/// Installs the global subscriber. Returns whether progress bars should be drawn: only for a
/// command that `draws` them, in the `auto` format, on a terminal. `quiet` makes warnings
/// the default level (for commands that print their own answer).
pub fn init(format: LogFormat, quiet: bool, draws: bool) -> bool {
    let bars = draws && format == LogFormat::Auto && std::io::stderr().is_terminal();
    // PostgreSQL's notices ("schema already exists, skipping") are not news.
    let default = if bars || quiet {
        "warn"
    } else {
        "info,sqlx::postgres::notice=warn"
    };
    let filter = process_env("MELI_STOCK_LOG")
        .or_else(|| process_env("RUST_LOG"))
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default));

    // Colours only for a person at a terminal; log files and collectors get plain text.
    let ansi = std::io::stderr().is_terminal() && process_env("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Auto | LogFormat::Text => builder.with_target(false).try_init(),
    };
    // A second init (tests, the demo inside a process) keeps the first subscriber.
    let _ = result;
    bars
}
