//! `Store::apply` on both backends: upserts into the seller's warehouse_stock, change
//! counts, the ledger, ids of every type, the monitoring query and full rollback on error.

#![allow(clippy::unwrap_used)]

mod common;

use common::{IdKind, SellerSchema, TestDb, at, names, stock_writes};
use meli_stock::store::StoreError;

const SELLER: u64 = 2_506_482_242;

/// The shared scenario: first run inserts, second run changes, zeroes and keeps rows.
async fn upsert_scenario(db: &TestDb, schema: SellerSchema) {
    // Arrange
    db.create_seller_schema(&schema).await;
    let products = db.insert_products(schema.ids, 3).await;
    let (p1, p2, p3) = (&products[0].0, &products[1].0, &products[2].0);
    let layout = db.store.check_inventory(&names()).await.unwrap();
    let run1 = db.store.start_run(SELLER, at(0), false).await.unwrap();

    // Act: first run
    let first = db
        .store
        .apply(
            &layout,
            &stock_writes(run1, SELLER, at(0), &[(p1, 5), (p2, 0), (p3, 7)]),
        )
        .await
        .unwrap();

    // Assert: every row new, so every row changed; nothing went from stock to zero
    assert!(first.warehouse_created);
    assert_eq!(
        (first.rows_written, first.rows_changed, first.rows_zeroed),
        (3, 3, 0)
    );
    let quantities = db.ml_quantities().await;
    assert_eq!(quantities.get(p1.as_str()), Some(&5));
    assert_eq!(quantities.get(p2.as_str()), Some(&0));
    assert_eq!(quantities.get(p3.as_str()), Some(&7));

    // Act: second run
    let run2 = db.store.start_run(SELLER, at(3600), false).await.unwrap();
    let second = db
        .store
        .apply(
            &layout,
            &stock_writes(run2, SELLER, at(3600), &[(p1, 5), (p2, 4), (p3, 0)]),
        )
        .await
        .unwrap();

    // Assert: p1 unchanged, p2 0 -> 4, p3 7 -> 0 (zeroed); the ledger says so
    assert!(!second.warehouse_created);
    assert_eq!(second.warehouse_id, first.warehouse_id);
    assert_eq!(
        (second.rows_written, second.rows_changed, second.rows_zeroed),
        (3, 2, 1)
    );
    let ledger = db
        .texts(&format!(
            "SELECT product_id, CAST(old_quantity AS TEXT), CAST(new_quantity AS TEXT), item_id \
             FROM {} WHERE run_id = {} ORDER BY new_quantity",
            db.state_table("stock_changes"),
            run2.0
        ))
        .await;
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        ledger,
        vec![
            vec![Some(p3.clone()), s("7"), s("0"), Some(format!("ITEM-{p3}"))],
            vec![Some(p2.clone()), s("0"), s("4"), Some(format!("ITEM-{p2}"))],
        ]
    );
    let first_ledger = db
        .scalar(&format!(
            "SELECT COUNT(*) FROM {} WHERE run_id = {} AND old_quantity IS NULL",
            db.state_table("stock_changes"),
            run1.0
        ))
        .await;
    assert_eq!(first_ledger, 3);
    let quantities = db.ml_quantities().await;
    assert_eq!(quantities.len(), 3);
    assert_eq!(quantities.get(p2.as_str()), Some(&4));
    assert_eq!(quantities.get(p3.as_str()), Some(&0));

    // The loaders see what apply wrote, keyed by the same text ids.
    let (warehouse, stock) = db.store.load_ml_stock(&layout).await.unwrap();
    assert_eq!(warehouse.as_deref(), Some(second.warehouse_id.as_str()));
    assert_eq!(stock.get(p1.as_str()), Some(&5));
    let by_item = db.store.load_products(&layout).await.unwrap();
    assert_eq!(by_item.len(), 3, "the non-ML product must not be loaded");
    assert_eq!(by_item.get(&products[2].1), Some(p3));
}

async fn apply_upserts_and_counts_bigint_ids(db: TestDb) {
    upsert_scenario(&db, SellerSchema::default()).await;
}

async fn apply_upserts_and_counts_uuid_ids(db: TestDb) {
    upsert_scenario(
        &db,
        SellerSchema {
            ids: IdKind::Uuid,
            ..SellerSchema::default()
        },
    )
    .await;
}

async fn apply_upserts_and_counts_text_ids(db: TestDb) {
    let schema = SellerSchema {
        ids: IdKind::Text,
        quantity_type: "numeric(12,2)",
        last_updated_type: "timestamp",
        ..SellerSchema::default()
    };
    upsert_scenario(&db, schema).await;
}

async fn monitoring_query_reports_the_last_run(db: TestDb) {
    // Arrange
    db.create_seller_schema(&SellerSchema::default()).await;
    let products = db.insert_products(IdKind::Bigint, 4).await;
    let layout = db.store.check_inventory(&names()).await.unwrap();
    let run = db.store.start_run(SELLER, at(7200), false).await.unwrap();
    let desired: Vec<(&str, i64)> = products.iter().map(|p| (p.0.as_str(), 3)).collect();

    // Act
    db.store
        .apply(&layout, &stock_writes(run, SELLER, at(7200), &desired))
        .await
        .unwrap();

    // Assert: the query from the replaced script's README
    let (name, last_updated, updated_by, count) = db.monitoring_query().await;
    assert_eq!(name, "Mercado Libre");
    assert_eq!(last_updated, at(7200));
    assert_eq!(updated_by, "meli-stock");
    assert_eq!(count, 4);
}

async fn apply_rolls_back_everything_on_error(db: TestDb) {
    // Arrange: one good run, so there is state to keep
    db.create_seller_schema(&SellerSchema::default()).await;
    let products = db.insert_products(IdKind::Bigint, 2).await;
    let (p1, p2) = (products[0].0.as_str(), products[1].0.as_str());
    let layout = db.store.check_inventory(&names()).await.unwrap();
    let run1 = db.store.start_run(SELLER, at(0), false).await.unwrap();
    let mut good = stock_writes(run1, SELLER, at(0), &[(p1, 1), (p2, 2)]);
    good.item_map = vec![common_item("MLC1", Some(p1))];
    db.store.apply(&layout, &good).await.unwrap();
    let before = snapshot(&db).await;

    // Act: the second run carries new state and one id that cannot be a bigint
    let run2 = db.store.start_run(SELLER, at(60), false).await.unwrap();
    let mut bad = stock_writes(
        run2,
        SELLER,
        at(60),
        &[(p1, 9), ("not-a-number", 4), (p2, 0)],
    );
    bad.item_map = vec![common_item("MLC2", Some(p2))];
    bad.unmatched = vec![meli_stock::store::UnmatchedRow {
        item_id: "MLC3".into(),
        variation_id: 0,
        match_key: Some("MLC3".into()),
        status: "active".into(),
        available_quantity: Some(1),
    }];
    let err = db
        .store
        .apply(&layout, &bad)
        .await
        .expect_err("bad id must fail");

    // Assert: the error names the id, and nothing of run 2 is left anywhere
    assert!(err.to_string().contains("not-a-number"), "{err}");
    assert_eq!(snapshot(&db).await, before);
}

async fn a_failed_first_apply_leaves_no_warehouse_row(db: TestDb) {
    // Arrange
    db.create_seller_schema(&SellerSchema::default()).await;
    let layout = db.store.check_inventory(&names()).await.unwrap();
    let run = db.store.start_run(SELLER, at(0), false).await.unwrap();

    // Act
    let result = db
        .store
        .apply(&layout, &stock_writes(run, SELLER, at(0), &[("x1", 1)]))
        .await;

    // Assert
    assert!(result.is_err());
    assert_eq!(db.scalar("SELECT COUNT(*) FROM warehouses").await, 0);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM warehouse_stock").await, 0);
}

async fn duplicate_products_are_refused_before_writing(db: TestDb) {
    // Arrange
    db.create_seller_schema(&SellerSchema::default()).await;
    let products = db.insert_products(IdKind::Bigint, 1).await;
    let layout = db.store.check_inventory(&names()).await.unwrap();
    let run = db.store.start_run(SELLER, at(0), false).await.unwrap();
    let p = products[0].0.as_str();

    // Act
    let err = db
        .store
        .apply(
            &layout,
            &stock_writes(run, SELLER, at(0), &[(p, 1), (p, 2)]),
        )
        .await
        .expect_err("duplicate");

    // Assert
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err}");
    assert!(err.to_string().contains(p), "{err}");
    assert_eq!(db.scalar("SELECT COUNT(*) FROM warehouses").await, 0);
}

fn common_item(item_id: &str, product_id: Option<&str>) -> meli_stock::store::ItemMapRow {
    meli_stock::store::ItemMapRow {
        item_id: item_id.into(),
        variation_id: 0,
        user_product_id: Some(format!("{item_id}U")),
        status: "active".into(),
        sub_status: vec![],
        available_quantity: Some(1),
        inventory_id: None,
        seller_sku: None,
        product_key: Some(item_id.into()),
        product_id: product_id.map(str::to_string),
    }
}

/// Everything apply touches, as text, for before/after comparisons.
async fn snapshot(db: &TestDb) -> Vec<Vec<Vec<Option<String>>>> {
    let mut tables = vec![
        db.texts(
            "SELECT CAST(warehouse_id AS TEXT), CAST(product_id AS TEXT), \
             CAST(quantity AS TEXT), CAST(last_updated AS TEXT), updated_by \
             FROM warehouse_stock ORDER BY product_id",
        )
        .await,
        db.texts("SELECT CAST(id AS TEXT), code, name FROM warehouses ORDER BY id")
            .await,
    ];
    let state = [
        (
            "stock_changes",
            "product_id, CAST(old_quantity AS TEXT), CAST(new_quantity AS TEXT)",
        ),
        (
            "item_map",
            "item_id, product_id, CAST(written_by_run AS TEXT)",
        ),
        ("unmatched_items", "item_id, CAST(last_seen_run AS TEXT)"),
        (
            "user_product_stock",
            "user_product_id, location_key, CAST(quantity AS TEXT)",
        ),
    ];
    for (table, columns) in state {
        let sql = format!(
            "SELECT {columns} FROM {} ORDER BY 1, 2",
            db.state_table(table)
        );
        tables.push(db.texts(&sql).await);
    }
    tables
}

both_stores!(
    apply_upserts_and_counts_bigint_ids,
    apply_upserts_and_counts_uuid_ids,
    apply_upserts_and_counts_text_ids,
    monitoring_query_reports_the_last_run,
    apply_rolls_back_everything_on_error,
    a_failed_first_apply_leaves_no_warehouse_row,
    duplicate_products_are_refused_before_writing,
);
