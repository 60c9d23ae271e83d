//! The seller's inventory schema on both backends: `db init` creates only what is missing,
//! `check_inventory` explains what is wrong, names are configurable and validated.

#![allow(clippy::unwrap_used)]

mod common;

use common::{IdKind, SellerSchema, TestDb, at, names, stock_writes};
use meli_stock::store::{InventoryNames, StoreError};

async fn db_init_creates_the_missing_tables_and_warehouse_row(db: TestDb) {
    // Act
    let first = db.store.init_inventory(&names()).await.unwrap();
    let second = db.store.init_inventory(&names()).await.unwrap();

    // Assert
    let qualified = |t: &str| {
        if db.is_postgres() {
            format!("public.{t}")
        } else {
            t.into()
        }
    };
    let all = vec![
        qualified("products"),
        qualified("warehouses"),
        qualified("warehouse_stock"),
    ];
    assert_eq!(first.created_tables, all);
    assert!(first.warehouse_created);
    assert!(second.created_tables.is_empty());
    assert_eq!(second.existing_tables, all);
    assert!(!second.warehouse_created);
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM warehouses WHERE code = 'mercadolibre'")
            .await,
        1
    );
    let layout = db.store.check_inventory(&names()).await.unwrap();
    let (warehouse, stock) = db.store.load_ml_stock(&layout).await.unwrap();
    assert!(warehouse.is_some());
    assert!(stock.is_empty());
}

async fn db_init_never_alters_existing_tables(db: TestDb) {
    // Arrange: a seller schema lacking the unique key, with uuid ids
    let schema = SellerSchema {
        ids: IdKind::Uuid,
        unique_key: false,
        ..SellerSchema::default()
    };
    db.create_seller_schema(&schema).await;
    let before = db.columns("warehouse_stock").await;

    // Act
    let report = db.store.init_inventory(&names()).await.unwrap();

    // Assert: nothing created, nothing altered, the key is still missing
    assert!(report.created_tables.is_empty(), "{report}");
    assert_eq!(report.existing_tables.len(), 3);
    assert_eq!(db.columns("warehouse_stock").await, before);
    let err = db
        .store
        .check_inventory(&names())
        .await
        .expect_err("still no unique key");
    assert!(matches!(err, StoreError::MissingUniqueKey { .. }), "{err}");
}

async fn db_init_copies_the_id_type_of_existing_products(db: TestDb) {
    // Arrange: only a products table with uuid ids exists
    db.execute("CREATE TABLE products (id uuid PRIMARY KEY, external_id text, source text)")
        .await;

    // Act
    let report = db.store.init_inventory(&names()).await.unwrap();

    // Assert
    assert_eq!(report.created_tables.len(), 2, "{report}");
    let layout = db.store.check_inventory(&names()).await.unwrap();
    assert_eq!(layout.types().stock_product_id, "uuid");
    assert_eq!(layout.types().product_id, "uuid");
}

async fn check_reports_a_missing_table(db: TestDb) {
    db.create_seller_schema(&SellerSchema::default()).await;
    db.execute("DROP TABLE warehouse_stock").await;

    let err = db
        .store
        .check_inventory(&names())
        .await
        .expect_err("missing table");

    let text = err.to_string();
    assert!(matches!(err, StoreError::MissingTable { .. }), "{text}");
    assert!(text.contains("warehouse_stock"), "{text}");
    assert!(text.contains("meli-stock db init"), "{text}");
}

async fn check_reports_a_missing_column(db: TestDb) {
    db.create_seller_schema(&SellerSchema::default()).await;
    let names = InventoryNames {
        stock_quantity: "qty".into(),
        ..names()
    };

    let err = db
        .store
        .check_inventory(&names)
        .await
        .expect_err("missing column");

    let text = err.to_string();
    assert!(matches!(err, StoreError::MissingColumn { .. }), "{text}");
    assert!(text.contains("column qty"), "{text}");
    assert!(text.contains("warehouse_stock"), "{text}");
    assert!(
        text.contains("quantity"),
        "the columns found are listed: {text}"
    );
}

async fn check_reports_a_missing_unique_key_with_the_fix(db: TestDb) {
    // Arrange
    let schema = SellerSchema {
        unique_key: false,
        ..SellerSchema::default()
    };
    db.create_seller_schema(&schema).await;

    // Act
    let err = db
        .store
        .check_inventory(&names())
        .await
        .expect_err("missing key");

    // Assert: the message holds a statement that, once run, makes the check pass
    let text = err.to_string();
    assert!(text.contains("warehouse_stock"), "{text}");
    let StoreError::MissingUniqueKey { fix, .. } = err else {
        panic!("{text}")
    };
    db.execute(&fix).await;
    db.store.check_inventory(&names()).await.unwrap();
}

async fn a_unique_key_with_an_extra_column_is_not_accepted(db: TestDb) {
    let schema = SellerSchema {
        unique_key: false,
        ..SellerSchema::default()
    };
    db.create_seller_schema(&schema).await;
    db.execute(
        "CREATE UNIQUE INDEX ws_three ON warehouse_stock (warehouse_id, product_id, quantity)",
    )
    .await;

    let err = db
        .store
        .check_inventory(&names())
        .await
        .expect_err("not exact");

    assert!(matches!(err, StoreError::MissingUniqueKey { .. }), "{err}");
}

async fn check_reports_types_from_the_catalog(db: TestDb) {
    let schema = SellerSchema {
        ids: IdKind::Uuid,
        ..SellerSchema::default()
    };
    db.create_seller_schema(&schema).await;

    let layout = db.store.check_inventory(&names()).await.unwrap();

    let types = layout.types();
    assert_eq!(types.stock_product_id, "uuid");
    assert_eq!(types.stock_warehouse_id, "uuid");
    assert!(
        types.stock_quantity.eq_ignore_ascii_case("integer"),
        "{types:?}"
    );
}

async fn products_can_be_matched_on_another_column(db: TestDb) {
    // Arrange: match on the sku column
    db.create_seller_schema(&SellerSchema::default()).await;
    let products = db.insert_products(IdKind::Bigint, 3).await;
    let names = InventoryNames {
        match_column: "sku".into(),
        ..names()
    };

    // Act
    let layout = db.store.check_inventory(&names).await.unwrap();
    let by_sku = db.store.load_products(&layout).await.unwrap();

    // Assert
    assert_eq!(by_sku.len(), 3);
    assert_eq!(
        by_sku.get(&format!("SKU-{}", products[1].1)),
        Some(&products[1].0)
    );
}

async fn renamed_tables_and_columns_are_used(db: TestDb) {
    // Arrange: the seller's own names everywhere
    db.execute(
        "CREATE TABLE items (pk bigint PRIMARY KEY, ml_id text, origin text);
         CREATE TABLE depots (pk bigint PRIMARY KEY, slug text, label text);
         CREATE TABLE stock (depot bigint, item bigint, qty integer, touched_at timestamp,
                             touched_by text, PRIMARY KEY (item, depot));
         INSERT INTO items VALUES (1, 'MLC1', 'ml');
         INSERT INTO depots VALUES (7, 'meli', 'ML');",
    )
    .await;
    let names = InventoryNames {
        products_table: "items".into(),
        products_id: "pk".into(),
        match_column: "ml_id".into(),
        products_source: "origin".into(),
        source_value: "ml".into(),
        warehouses_table: "depots".into(),
        warehouses_id: "pk".into(),
        warehouses_code: "slug".into(),
        warehouses_name: "label".into(),
        warehouse_code: "meli".into(),
        stock_table: "stock".into(),
        stock_warehouse_id: "depot".into(),
        stock_product_id: "item".into(),
        stock_quantity: "qty".into(),
        stock_last_updated: "touched_at".into(),
        stock_updated_by: "touched_by".into(),
        ..InventoryNames::default()
    };
    let layout = db.store.check_inventory(&names).await.unwrap();
    let run = db.store.start_run(1, at(0), false).await.unwrap();

    // Act
    let products = db.store.load_products(&layout).await.unwrap();
    let report = db
        .store
        .apply(&layout, &stock_writes(run, 1, at(0), &[("1", 12)]))
        .await
        .unwrap();

    // Assert
    assert_eq!(products.get("MLC1").map(String::as_str), Some("1"));
    assert_eq!(report.warehouse_id, "7");
    assert!(!report.warehouse_created);
    assert_eq!(
        db.pairs("SELECT CAST(depot AS TEXT), CAST(qty AS BIGINT) FROM stock")
            .await,
        vec![("7".into(), 12)]
    );
}

async fn names_that_are_not_identifiers_are_refused(db: TestDb) {
    let names = InventoryNames {
        products_table: "products; DROP TABLE x".into(),
        ..names()
    };

    let check = db.store.check_inventory(&names).await.expect_err("invalid");
    let init = db.store.init_inventory(&names).await.expect_err("invalid");

    assert!(
        matches!(
            check,
            StoreError::InvalidName {
                field: "products_table",
                ..
            }
        ),
        "{check}"
    );
    assert!(matches!(init, StoreError::InvalidName { .. }), "{init}");
}

async fn a_missing_warehouse_row_that_cannot_be_inserted_is_explained(db: TestDb) {
    // Arrange: warehouses.id has no default and the ML row is absent
    db.execute(
        "CREATE TABLE products (id bigint PRIMARY KEY, external_id text, source text);
         CREATE TABLE warehouses (id bigint PRIMARY KEY, code text, name text);
         CREATE TABLE warehouse_stock (warehouse_id bigint, product_id bigint,
             quantity integer, last_updated timestamp, updated_by text,
             UNIQUE (warehouse_id, product_id));",
    )
    .await;

    // Act
    let err = db
        .store
        .check_inventory(&names())
        .await
        .expect_err("row cannot be inserted");
    let init = db.store.init_inventory(&names()).await.unwrap();

    // Assert
    let text = err.to_string();
    assert!(matches!(err, StoreError::WarehouseRow { .. }), "{text}");
    assert!(text.contains("INSERT INTO"), "{text}");
    assert!(!init.warehouse_created);
    assert_eq!(init.notes.len(), 1, "{init}");
}

both_stores!(
    db_init_creates_the_missing_tables_and_warehouse_row,
    db_init_never_alters_existing_tables,
    db_init_copies_the_id_type_of_existing_products,
    check_reports_a_missing_table,
    check_reports_a_missing_column,
    check_reports_a_missing_unique_key_with_the_fix,
    a_unique_key_with_an_extra_column_is_not_accepted,
    check_reports_types_from_the_catalog,
    products_can_be_matched_on_another_column,
    renamed_tables_and_columns_are_used,
    names_that_are_not_identifiers_are_refused,
    a_missing_warehouse_row_that_cannot_be_inserted_is_explained,
);
