//! `meli-stock auth rotate-key`: re-encrypts every stored token with a new key in one
//! transaction.
//!
//! The current key is the usual one (`MELI_STOCK_KEY`, or the local key file of a SQLite
//! store); the new one comes from `MELI_STOCK_NEW_KEY`. When the current key was the local
//! key file, the file is replaced by the new key after the commit; otherwise the operator
//! sets `MELI_STOCK_KEY` to the new key from then on.

use anyhow::anyhow;
use secrecy::ExposeSecret;

use crate::cli::{open_store, open_vault};
use crate::config::Config;
use crate::error::Failure;
use crate::tokens::{KeySource, TokenKey};

pub(super) async fn rotate(config: &Config) -> Result<(), Failure> {
    let new_text = config.tokens.new_key.as_ref().ok_or_else(|| {
        Failure::Input(anyhow!(
            "MELI_STOCK_NEW_KEY is not set: create the new key with `openssl rand -hex 32`, \
             set MELI_STOCK_NEW_KEY to it and keep the current key in MELI_STOCK_KEY"
        ))
    })?;
    let new_key = TokenKey::from_hex(new_text.expose_secret())
        .map_err(|reason| Failure::Input(anyhow!("MELI_STOCK_NEW_KEY: {reason}")))?;

    let store = open_store(config).await?;
    let vault = open_vault(&store, config).await?;
    if new_key.fingerprint() == vault.fingerprint() {
        return Err(Failure::Input(anyhow!(
            "MELI_STOCK_NEW_KEY is the key already in use (fingerprint {})",
            vault.fingerprint()
        )));
    }

    let (next, rotation) = vault.rotate_key(&new_key, KeySource::NewKeySetting).await?;
    outln!(
        "re-encrypted the tokens of {} accounts and {} pending authorizations: key {} \
         replaced by key {}",
        rotation.accounts,
        rotation.pending,
        vault.fingerprint(),
        next.fingerprint()
    );

    match vault.key_source() {
        KeySource::File(path) | KeySource::Generated(path) => {
            match replace_key_file(path, &new_key) {
                Ok(()) => outln!("the key file {} now holds the new key", path.display()),
                Err(e) => {
                    return Err(Failure::Run(anyhow!(
                        "the tokens are encrypted with the new key, but the key file {} could \
                         not be replaced ({e}); set MELI_STOCK_KEY to the value of \
                         MELI_STOCK_NEW_KEY from now on",
                        path.display()
                    )));
                }
            }
        }
        KeySource::Setting | KeySource::NewKeySetting => outln!(
            "from now on set MELI_STOCK_KEY to the new key (the value of MELI_STOCK_NEW_KEY)"
        ),
    }
    Ok(())
}

/// Writes the new key beside the file, then renames it over the old one.
fn replace_key_file(path: &std::path::Path, key: &TokenKey) -> std::io::Result<()> {
    let temporary = path.with_extension(format!("key.{}.new", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    crate::tokens::write_key_file(&temporary, key)?;
    std::fs::rename(&temporary, path)
}
