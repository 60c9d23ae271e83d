//! The `meli-bench` binary: parses the flags, runs the benchmark, prints the report and
//! writes it to `--output` when given.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use meli_bench::args::BenchArgs;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("meli_bench=info,sqlx=error,warn"))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .init();

    let args = BenchArgs::parse();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let options = args.options()?;
    let flags: Vec<String> = std::env::args().skip(1).collect();
    let command = if flags.is_empty() {
        "scripts/bench.sh".to_owned()
    } else {
        format!("scripts/bench.sh {}", flags.join(" "))
    };

    let report = meli_bench::run(&options, command).await?;
    let markdown = meli_bench::report::markdown(&report);
    print!("{markdown}");
    if let Some(path) = &args.output {
        std::fs::write(path, &markdown)
            .with_context(|| format!("failed to write {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    Ok(())
}
