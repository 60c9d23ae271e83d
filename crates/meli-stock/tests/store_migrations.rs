//! Migrations on both backends: idempotent, safe to run from two processes at once, and
//! confined to schema `meli_stock` (PostgreSQL) or `meli_stock_*` tables (SQLite).

#![allow(clippy::unwrap_used)]

mod common;

use common::{ADMIN_URL, TestDb, pg_url};
use meli_stock::store::Store;
use sqlx::{Connection, PgConnection};

const STATE_TABLES: [&str; 11] = [
    "account_events",
    "accounts",
    "alert_state",
    "item_map",
    "key_check",
    "pending_authorizations",
    "runs",
    "stock_changes",
    "unmatched_items",
    "user_product_stock",
    "user_products",
];

async fn migrations_are_idempotent(db: TestDb) {
    // Arrange
    let versions = format!(
        "SELECT COUNT(*) FROM {}",
        db.state_table("schema_migrations")
    );
    let before = db.scalar(&versions).await;

    // Act
    db.store.migrate().await.unwrap();
    db.store.migrate().await.unwrap();
    let again = db.reconnect().await;

    // Assert
    assert_eq!(db.scalar(&versions).await, before);
    assert!(before >= 1);
    let id = again.start_run(1, common::at(0), false).await.unwrap();
    assert_eq!(db.store.recent_runs(None, 1).await.unwrap()[0].id, id);
}

both_stores!(migrations_are_idempotent);

#[tokio::test]
async fn postgres_puts_nothing_in_public() {
    // Arrange + Act: TestDb::postgres migrates a fresh database
    let db = TestDb::postgres().await;

    // Assert: no relation, type or function of ours outside meli_stock
    let in_public = db
        .scalar(
            "SELECT (SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = 'public') \
                  + (SELECT COUNT(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
                     WHERE n.nspname = 'public') \
                  + (SELECT COUNT(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                     WHERE n.nspname = 'public')",
        )
        .await;
    assert_eq!(in_public, 0);
    let sqlx_tables = db
        .scalar("SELECT COUNT(*) FROM pg_class WHERE relname = '_sqlx_migrations'")
        .await;
    assert_eq!(sqlx_tables, 0);
    let ours = db
        .texts(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'meli_stock' ORDER BY 1",
        )
        .await;
    let mut expected: Vec<&str> = STATE_TABLES.to_vec();
    expected.push("schema_migrations");
    expected.sort();
    let ours: Vec<String> = ours.into_iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(ours, expected);
}

#[tokio::test]
async fn sqlite_tables_are_all_prefixed() {
    let db = TestDb::sqlite().await;

    let names = db
        .texts(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .await;

    assert!(names.len() > STATE_TABLES.len());
    for row in names {
        let name = row[0].clone().unwrap();
        assert!(name.starts_with("meli_stock_"), "{name} is not prefixed");
    }
    for table in STATE_TABLES {
        let count = db
            .scalar(&format!("SELECT COUNT(*) FROM meli_stock_{table}"))
            .await;
        assert_eq!(count, 0);
    }
}

#[tokio::test]
async fn postgres_migrations_from_two_processes_at_once_both_succeed() {
    // Arrange: an empty database nobody migrated yet
    let name = format!("meli_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(ADMIN_URL).await.unwrap();
    sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = pg_url(&name);
    let unused = std::path::Path::new("unused.db");

    // Act
    let (a, b) = tokio::join!(
        Store::connect(Some(&url), unused),
        Store::connect(Some(&url), unused)
    );

    // Assert
    let (a, b) = (a.unwrap(), b.unwrap());
    let Store::Postgres(pg) = &a else {
        panic!("postgres expected")
    };
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meli_stock.schema_migrations")
        .fetch_one(pg.pool())
        .await
        .unwrap();
    assert!(applied >= 1);
    a.close().await;
    b.close().await;
    sqlx::raw_sql(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn sqlite_migrations_from_two_processes_at_once_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");

    let (a, b) = tokio::join!(Store::connect(None, &path), Store::connect(None, &path));

    let (a, b) = (a.unwrap(), b.unwrap());
    let id = a.start_run(5, common::at(0), true).await.unwrap();
    assert_eq!(b.recent_runs(Some(5), 1).await.unwrap()[0].id, id);
}
