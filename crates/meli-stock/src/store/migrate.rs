//! Embedded migrations and the rule deciding which of them a database still needs.
//!
//! The SQL files are embedded with `sqlx::migrate!`, but applied by our own small runner
//! that records versions in `meli_stock.schema_migrations` (PostgreSQL) or
//! `meli_stock_schema_migrations` (SQLite). sqlx 0.8's own runner always creates
//! `_sqlx_migrations` unqualified, which would land in the seller's `public` schema.
//!
//! Known limitation: `sqlx::migrate!` embeds the directory at compile time; after adding a
//! migration file, touch this file (or `cargo clean -p meli-stock`) so it is picked up.

use sqlx::migrate::{Migration, Migrator};

use super::error::StoreError;

/// Migrations of schema `meli_stock` on PostgreSQL.
pub(crate) static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// Migrations of the `meli_stock_*` tables on SQLite.
pub(crate) static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");

/// The migrations still to apply, in order, after checking that the applied ones are the
/// ones this build knows, unchanged.
pub(crate) fn pending<'m>(
    migrator: &'m Migrator,
    applied: &[(i64, Vec<u8>)],
) -> Result<Vec<&'m Migration>, StoreError> {
    let known: Vec<&Migration> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect();

    for (version, checksum) in applied {
        match known.iter().find(|m| m.version == *version) {
            None => return Err(StoreError::MigrationUnknown { version: *version }),
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => {
                return Err(StoreError::MigrationChanged { version: *version });
            }
            Some(_) => {}
        }
    }

    Ok(known
        .into_iter()
        .filter(|m| !applied.iter().any(|(v, _)| *v == m.version))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_ship_the_same_versions() {
        let versions = |m: &Migrator| m.iter().map(|m| m.version).collect::<Vec<_>>();

        assert!(!versions(&POSTGRES).is_empty());
        assert_eq!(versions(&POSTGRES), versions(&SQLITE));
    }

    #[test]
    fn an_edited_migration_is_refused() {
        let first = POSTGRES.iter().next().expect("one migration");

        let err = pending(&POSTGRES, &[(first.version, vec![0u8; 4])]).expect_err("changed");

        assert!(matches!(err, StoreError::MigrationChanged { .. }), "{err}");
    }

    #[test]
    fn an_unknown_applied_version_is_refused() {
        let err = pending(&SQLITE, &[(i64::MAX, vec![])]).expect_err("unknown");

        assert!(matches!(err, StoreError::MigrationUnknown { .. }), "{err}");
    }

    #[test]
    fn applied_migrations_are_skipped() {
        let all: Vec<(i64, Vec<u8>)> = SQLITE
            .iter()
            .map(|m| (m.version, m.checksum.to_vec()))
            .collect();

        assert!(pending(&SQLITE, &all).expect("known").is_empty());
        assert_eq!(pending(&SQLITE, &[]).expect("fresh").len(), all.len());
    }
}
