//! Where the token key comes from: `MELI_STOCK_KEY`, or for the embedded SQLite store a
//! generated key file next to the database.
//!
//! PostgreSQL without `MELI_STOCK_KEY` is refused: a database server is shared and backed
//! up, so its key must live elsewhere. The SQLite file is local to one machine; when
//! `MELI_STOCK_KEY` is unset, a key is generated once into `<database>.key` (for the
//! default `meli-stock.db`: `meli-stock.key`) with mode 0600, beside the database.
//!
//! Known limitation: the local key file protects tokens against a copied database file,
//! not against someone who can read the directory holding both.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use tracing::{info, warn};

use super::cipher::TokenKey;
use super::error::TokenError;
use crate::config::Config;
use crate::store::Store;

/// Where a key was taken from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `MELI_STOCK_KEY`.
    Setting,
    /// `MELI_STOCK_NEW_KEY`.
    NewKeySetting,
    /// The local key file, which existed.
    File(PathBuf),
    /// The local key file, created now.
    Generated(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Setting => f.write_str("MELI_STOCK_KEY"),
            KeySource::NewKeySetting => f.write_str("MELI_STOCK_NEW_KEY"),
            KeySource::File(path) | KeySource::Generated(path) => {
                write!(f, "the key file {}", path.display())
            }
        }
    }
}

/// The local key file of a SQLite database: same name, extension `key`.
pub fn key_file_path(sqlite_path: &Path) -> PathBuf {
    sqlite_path.with_extension("key")
}

/// The key for `store`: `MELI_STOCK_KEY` when set; otherwise, on SQLite only, the local
/// key file, generated on first use.
///
/// # Errors
/// [`TokenError::KeyMissing`] on PostgreSQL without `MELI_STOCK_KEY`,
/// [`TokenError::KeyFile`] when the key file cannot be read or written.
pub fn load_key(config: &Config, store: &Store) -> Result<(TokenKey, KeySource), TokenError> {
    if let Some(text) = &config.tokens.key {
        let key = TokenKey::from_hex(text.expose_secret()).map_err(|reason| {
            TokenError::Input(format!("MELI_STOCK_KEY is not a usable key: {reason}"))
        })?;
        return Ok((key, KeySource::Setting));
    }

    match store {
        Store::Postgres(_) => Err(TokenError::KeyMissing),
        Store::Sqlite(lite) => local_key(&key_file_path(lite.path())),
    }
}

/// Reads the key file, or creates it with a fresh key when it does not exist. Two
/// processes creating it at once agree on one key: the file appears whole (hard link of a
/// complete temporary file) or not at all.
pub fn local_key(path: &Path) -> Result<(TokenKey, KeySource), TokenError> {
    let failed = |reason: String| TokenError::KeyFile {
        path: path.to_path_buf(),
        reason,
    };

    match std::fs::read_to_string(path) {
        Ok(text) => {
            warn_if_readable_by_others(path);
            let key = TokenKey::from_hex(&text).map_err(failed)?;
            return Ok((key, KeySource::File(path.to_path_buf())));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(failed(e.to_string())),
    }

    let key = TokenKey::generate();
    let temporary = path.with_extension(format!("key.{}.tmp", std::process::id()));
    write_private(&temporary, key.to_hex().expose_secret()).map_err(|e| failed(e.to_string()))?;
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            let fingerprint = key.fingerprint();
            info!(path = %path.display(), fingerprint, "created a local token key");
            Ok((key, KeySource::Generated(path.to_path_buf())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => local_key(path),
        Err(e) => Err(failed(e.to_string())),
    }
}

/// Writes `key` to a new file readable by its owner only (mode 0600), replacing nothing.
pub fn write_key_file(path: &Path, key: &TokenKey) -> std::io::Result<()> {
    write_private(path, key.to_hex().expose_secret())
}

/// Writes `text` to a new file readable by its owner only, replacing nothing.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                warn!(
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    "the token key file is readable by other users; run chmod 600 on it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_key_file_is_created_once_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_file_path(&dir.path().join("meli-stock.db"));

        let (first, source) = local_key(&path).unwrap();
        let (again, again_source) = local_key(&path).unwrap();

        assert_eq!(path.file_name().unwrap(), "meli-stock.key");
        assert!(matches!(source, KeySource::Generated(_)));
        assert!(matches!(again_source, KeySource::File(_)));
        assert_eq!(first.fingerprint(), again.fingerprint());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "only the key file remains");
    }

    #[test]
    fn a_damaged_key_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meli-stock.key");
        std::fs::write(&path, "not a key").unwrap();

        let err = local_key(&path).unwrap_err();

        assert!(err.to_string().contains("meli-stock.key"), "{err}");
    }
}
