//! `meli-sim`: runs the simulator until Ctrl-C and prints the variables a client needs.
//!
//! Stdout gets exactly six `NAME=value` lines (`ML_API_URL`, `ML_APP_ID`, `ML_SECRET`,
//! `ML_SELLER_ID`, `ML_ACCESS_TOKEN`, `ML_REFRESH_TOKEN`); logs go to stderr (`RUST_LOG`
//! sets the filter, default `info`).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use meli_sim::SimConfig;

/// A local MercadoLibre seller API simulator.
#[derive(Debug, Parser)]
#[command(name = "meli-sim", version, about)]
struct Args {
    /// Number of listings in the generated catalogue.
    #[arg(long, default_value_t = 200)]
    items: usize,
    /// Seed of the catalogue generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Latency added to every ML response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Uniform +/- jitter around the latency, in milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Per-app requests per second (token bucket refill).
    #[arg(long, default_value_t = 5.0)]
    rps: f64,
    /// Per-app token bucket capacity.
    #[arg(long, default_value_t = 10)]
    burst: u32,
    /// Per-app `/user-products/{id}/stock` calls per minute.
    #[arg(long, default_value_t = 100)]
    up_stock_rpm: u32,
    /// Multiplies rps, burst and up-stock-rpm (benchmarks with scaled-up limits).
    #[arg(long)]
    scale_limits: Option<f64>,
    /// TCP port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Site id and id prefix.
    #[arg(long, default_value = "MLC")]
    site: String,
    /// Numeric id of the simulated seller.
    #[arg(long, default_value_t = 2_506_482_242)]
    seller_id: u64,
    /// `expires_in` of access tokens, in seconds.
    #[arg(long, default_value_t = 21_600)]
    token_ttl_secs: u64,
    /// Idle lifetime of scan scrolls, in seconds.
    #[arg(long, default_value_t = 300)]
    scroll_ttl_secs: u64,
    /// Keep the same scroll_id for every page of a scan.
    #[arg(long)]
    no_rotate_scroll_ids: bool,
    /// Keep the previous access token valid after a refresh.
    #[arg(long)]
    keep_access_on_refresh: bool,
    /// Delay before a `PUT /items` change reaches items sharing the UP, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    propagation_delay_ms: u64,
}

impl Args {
    fn config(&self) -> SimConfig {
        let config = SimConfig {
            items: self.items,
            seed: self.seed,
            site: self.site.clone(),
            seller_id: self.seller_id,
            latency: Duration::from_millis(self.latency_ms),
            latency_jitter: Duration::from_millis(self.jitter_ms),
            rps: self.rps,
            burst: self.burst,
            user_product_stock_rpm: self.up_stock_rpm,
            access_token_ttl: Duration::from_secs(self.token_ttl_secs),
            refresh_kills_previous_access: !self.keep_access_on_refresh,
            rotate_scroll_ids: !self.no_rotate_scroll_ids,
            scroll_ttl: Duration::from_secs(self.scroll_ttl_secs),
            sibling_propagation_delay: Duration::from_millis(self.propagation_delay_ms),
            port: self.port,
            ..SimConfig::default()
        };
        match self.scale_limits {
            Some(factor) => config.scaled_limits(factor),
            None => config,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let args = Args::parse();
    let sim = meli_sim::spawn(args.config())
        .await
        .context("failed to start the simulator")?;

    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(sim.env_lines().as_bytes())
        .context("failed to write to stdout")?;
    stdout.flush().context("failed to flush stdout")?;
    drop(stdout);

    tokio::signal::ctrl_c()
        .await
        .context("failed to wait for Ctrl-C")?;
    tracing::info!("shutting down");
    sim.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn verify_cli() {
        Args::command().debug_assert();
    }
}
