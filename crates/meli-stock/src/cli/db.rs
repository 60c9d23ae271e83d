//! `meli-stock db init` and `meli-stock db migrate`.

use clap::Subcommand;

use super::open_store;
use crate::config::Config;
use crate::error::Failure;

/// Database setup commands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the inventory tables (products, warehouses, warehouse_stock) where they are
    /// missing, and the ML warehouse row. Existing tables are never altered.
    Init,
    /// Apply meli-stock's own migrations (every command also does this by itself).
    Migrate,
}

pub(super) async fn run(config: &Config, cmd: DbCommand) -> Result<(), Failure> {
    let store = open_store(config).await?;
    match cmd {
        DbCommand::Init => {
            let report = store
                .init_inventory(&config.inventory)
                .await
                .map_err(|e| Failure::Input(e.into()))?;
            outln!("{report}");
        }
        DbCommand::Migrate => {
            store.migrate().await.map_err(|e| Failure::Run(e.into()))?;
            outln!("meli-stock's tables are up to date ({})", store.describe());
        }
    }
    Ok(())
}
