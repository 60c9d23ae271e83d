//! The `meli-stock` binary: parses the command line and maps the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use meli_stock::cli::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}
