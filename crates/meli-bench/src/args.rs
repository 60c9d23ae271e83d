//! The benchmark's command line and its checks, turned into [`BenchOptions`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::scenario::{BenchOptions, SizePlan};

/// Share of the listings changed between the cold and the changed run.
pub const CHANGE_SHARE: f64 = 0.01;

/// Measures meli-stock syncs against ML's limits and against the replaced script's method,
/// and writes the results as Markdown.
#[derive(Debug, Parser)]
#[command(name = "meli-bench", version, about, long_about = None)]
pub struct BenchArgs {
    /// Catalogue sizes, in listings.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    pub sizes: Vec<usize>,

    /// Factor of ML's limits for the cold runs: one number for every size, or SIZE=FACTOR
    /// pairs (default 20 up to 2,000 listings, 50 up to 20,000, 100 above).
    #[arg(long, value_delimiter = ',', value_name = "FACTOR|SIZE=FACTOR")]
    pub cold_scale: Vec<String>,

    /// Factor of ML's limits for the changed and default-budget runs.
    #[arg(long, default_value_t = 8.0)]
    pub steady_scale: f64,

    /// Simulator latency of every answer, in milliseconds.
    #[arg(long, default_value_t = 80)]
    pub latency_ms: u64,

    /// Uniform +/- jitter around the latency, in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub jitter_ms: u64,

    /// Seed of the catalogue generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Active listings the old method syncs before its time is extrapolated.
    #[arg(long, default_value_t = 100)]
    pub baseline_sample: usize,

    /// PostgreSQL server for the benchmark's databases (each run creates and drops its own).
    #[arg(
        long,
        value_name = "URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub database_url: String,

    /// The meli-stock binary to run (default: the one next to this binary).
    #[arg(long, value_name = "PATH")]
    pub meli_stock: Option<PathBuf>,

    /// Also write the report to this file (the report always goes to stdout).
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

impl BenchArgs {
    /// Checks the flags and builds the options of a benchmark.
    ///
    /// # Errors
    /// A size below 20, a factor that is not a positive number, a cold factor for a size
    /// not benchmarked, or a sample of 0.
    pub fn options(&self) -> Result<BenchOptions> {
        if self.sizes.is_empty() {
            bail!("--sizes needs at least one size");
        }
        if let Some(small) = self.sizes.iter().find(|n| **n < 20) {
            bail!("--sizes {small} is too small: use 20 listings or more");
        }
        if !(self.steady_scale.is_finite() && self.steady_scale > 0.0) {
            bail!("--steady-scale must be a positive number");
        }
        if self.baseline_sample == 0 {
            bail!("--baseline-sample must be at least 1");
        }

        let cold = parse_cold_scales(&self.cold_scale)?;
        if let Some((size, _)) = cold
            .iter()
            .find(|(s, _)| s.is_some_and(|s| !self.sizes.contains(&s)))
        {
            bail!(
                "--cold-scale names size {} that --sizes does not include",
                size.unwrap_or_default()
            );
        }
        let sizes = self
            .sizes
            .iter()
            .map(|&listings| SizePlan {
                listings,
                cold_scale: cold_scale_for(&cold, listings),
                steady_scale: self.steady_scale,
            })
            .collect();

        let meli_stock = match &self.meli_stock {
            Some(path) => path.clone(),
            None => sibling_binary("meli-stock")?,
        };
        // The sync runs in a directory of its own, so a relative path would not resolve.
        let meli_stock = std::fs::canonicalize(&meli_stock).with_context(|| {
            format!(
                "there is no meli-stock binary at {} (build it with `cargo build --release -p \
                 meli-stock`, or pass --meli-stock PATH)",
                meli_stock.display()
            )
        })?;
        Ok(BenchOptions {
            sizes,
            latency: Duration::from_millis(self.latency_ms),
            jitter: Duration::from_millis(self.jitter_ms),
            seed: self.seed,
            change_share: CHANGE_SHARE,
            baseline_sample: self.baseline_sample,
            database_url: self.database_url.clone(),
            meli_stock,
        })
    }
}

/// `FACTOR` (every size) or `SIZE=FACTOR` entries.
fn parse_cold_scales(entries: &[String]) -> Result<Vec<(Option<usize>, f64)>> {
    entries
        .iter()
        .map(|entry| {
            let (size, factor) = match entry.split_once('=') {
                Some((size, factor)) => {
                    let size = size.trim().parse::<usize>().with_context(|| {
                        format!("--cold-scale {entry:?}: {size:?} is not a size")
                    })?;
                    (Some(size), factor)
                }
                None => (None, entry.as_str()),
            };
            let factor: f64 = factor
                .trim()
                .parse()
                .with_context(|| format!("--cold-scale {entry:?}: {factor:?} is not a number"))?;
            if !(factor.is_finite() && factor > 0.0) {
                bail!("--cold-scale {entry:?}: the factor must be a positive number");
            }
            Ok((size, factor))
        })
        .collect()
}

/// The factor for `listings`: its own entry, else an entry for every size, else the default.
pub fn cold_scale_for(entries: &[(Option<usize>, f64)], listings: usize) -> f64 {
    let own = entries.iter().find(|(s, _)| *s == Some(listings));
    let every = entries.iter().find(|(s, _)| s.is_none());
    match own.or(every) {
        Some((_, factor)) => *factor,
        None if listings <= 2_000 => 20.0,
        None if listings <= 20_000 => 50.0,
        None => 100.0,
    }
}

/// `name` in the directory of the running executable (where cargo puts every binary of the
/// workspace).
fn sibling_binary(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot tell where meli-bench runs from")?;
    let dir = exe
        .parent()
        .context("the meli-bench executable has no directory")?;
    Ok(dir.join(name))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn args(extra: &[&str]) -> BenchArgs {
        let mut argv = vec!["meli-bench", "--meli-stock", "/bin/true"];
        argv.extend_from_slice(extra);
        BenchArgs::parse_from(argv)
    }

    #[test]
    fn default_sizes_get_their_default_cold_factors() {
        let options = args(&[]).options().unwrap();

        let plans: Vec<(usize, f64, f64)> = options
            .sizes
            .iter()
            .map(|p| (p.listings, p.cold_scale, p.steady_scale))
            .collect();
        assert_eq!(
            plans,
            vec![
                (1_000, 20.0, 8.0),
                (10_000, 50.0, 8.0),
                (100_000, 100.0, 8.0)
            ]
        );
    }

    #[test]
    fn a_size_entry_wins_over_an_entry_for_every_size() {
        let options = args(&["--sizes", "1000,100000", "--cold-scale", "30,100000=200"])
            .options()
            .unwrap();

        assert_eq!(options.sizes[0].cold_scale, 30.0);
        assert_eq!(options.sizes[1].cold_scale, 200.0);
    }

    #[test]
    fn bad_flags_are_refused_with_the_flag_named() {
        let cases: [&[&str]; 4] = [
            &["--sizes", "5"],
            &["--cold-scale", "0"],
            &["--cold-scale", "5000=20"],
            &["--steady-scale=-1"],
        ];
        for case in cases {
            let error = args(case).options().unwrap_err().to_string();
            assert!(error.contains("--"), "{case:?} gave {error}");
        }
    }
}
