//! `Store::connect`: a wrong DATABASE_URL gives an error that names the host and database,
//! says what to check and never shows the password; no URL means a local SQLite file.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use meli_stock::store::{Store, StoreError};

const PASSWORD: &str = "s3cret-Pa55";

#[tokio::test]
async fn an_unreachable_port_names_the_host_and_hides_the_password() {
    // Arrange: nothing listens on port 1
    let url = format!("postgres://postgres:{PASSWORD}@127.0.0.1:1/inventory");

    // Act
    let err = Store::connect(Some(&url), Path::new("unused.db"))
        .await
        .expect_err("unreachable");

    // Assert
    let text = err.to_string();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{text}");
    assert!(text.contains("127.0.0.1:1/inventory"), "{text}");
    assert!(text.contains("check that the server is running"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(!format!("{err:?}").contains(PASSWORD));
}

#[tokio::test]
async fn a_missing_database_says_how_to_create_it() {
    // Arrange
    let url = format!("postgresql://postgres:{PASSWORD}@127.0.0.1:5432/meli_no_such_db");

    // Act
    let err = Store::connect(Some(&url), Path::new("unused.db"))
        .await
        .expect_err("missing db");

    // Assert
    let text = err.to_string();
    assert!(matches!(err, StoreError::DatabaseMissing { .. }), "{text}");
    assert!(text.contains("\"meli_no_such_db\""), "{text}");
    assert!(text.contains("127.0.0.1:5432"), "{text}");
    assert!(text.contains("createdb"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
}

#[tokio::test]
async fn a_url_of_another_kind_is_refused() {
    for url in [
        "mysql://root@localhost/db",
        "not a url",
        "sqlite:///tmp/x.db",
    ] {
        let err = Store::connect(Some(url), Path::new("unused.db"))
            .await
            .expect_err(url);

        assert!(matches!(err, StoreError::InvalidUrl { .. }), "{url}: {err}");
        assert!(err.to_string().contains("postgres://"), "{err}");
    }
}

#[tokio::test]
async fn no_url_opens_a_sqlite_file_in_wal_mode() {
    // Arrange: a directory that does not exist yet
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("state.db");

    // Act
    let store = Store::connect(None, &path).await.unwrap();
    let blank = Store::connect(Some("  "), &path).await.unwrap();

    // Assert
    assert!(path.exists());
    let Store::Sqlite(lite) = &store else {
        panic!("sqlite expected")
    };
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(lite.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(matches!(blank, Store::Sqlite(_)));
    assert!(store.describe().contains("state.db"));
}

#[tokio::test]
async fn a_sqlite_path_that_cannot_be_created_is_named() {
    // Arrange: a regular file where the directory should be
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let path = blocker.join("state.db");

    // Act
    let err = Store::connect(None, &path)
        .await
        .expect_err("cannot create");

    // Assert
    assert!(matches!(err, StoreError::SqliteOpen { .. }), "{err}");
    assert!(err.to_string().contains("state.db"), "{err}");
}

#[tokio::test]
async fn describe_and_debug_never_show_the_password() {
    // Arrange: trust auth accepts any password, so the URL can carry one
    let db = common::TestDb::postgres().await;
    let url = db
        .url()
        .unwrap()
        .replace("postgres@", &format!("postgres:{PASSWORD}@"));

    // Act
    let store = Store::connect(Some(&url), Path::new("unused.db"))
        .await
        .unwrap();

    // Assert
    assert!(
        store.describe().contains("127.0.0.1:5432"),
        "{}",
        store.describe()
    );
    assert!(!store.describe().contains(PASSWORD));
    assert!(!format!("{store:?}").contains(PASSWORD), "{store:?}");
    store.close().await;
}
