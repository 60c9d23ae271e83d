//! The state a run leaves for the next one, on both backends: item map and unmatched items
//! replaced per seller, user-product stock replaced per user product read.

#![allow(clippy::unwrap_used)]

mod common;

use common::{IdKind, SellerSchema, TestDb, at, names, stock_writes};
use meli_stock::store::{
    ItemMapRow, LocationStock, RunId, UnmatchedRow, UserProductRead, WriteSet,
};

const SELLER: u64 = 2_506_482_242;
const OTHER_SELLER: u64 = 77;

fn item(item_id: &str, variation_id: u64, product_id: Option<&str>) -> ItemMapRow {
    ItemMapRow {
        item_id: item_id.into(),
        variation_id,
        user_product_id: Some(format!("MLCU{item_id}")),
        status: "paused".into(),
        sub_status: vec!["out_of_stock".into(), "warning".into()],
        available_quantity: Some(0),
        inventory_id: Some("LCQI05831".into()),
        seller_sku: Some(format!("SKU-{item_id}")),
        product_key: Some(item_id.into()),
        product_id: product_id.map(str::to_string),
    }
}

fn unmatched(item_id: &str) -> UnmatchedRow {
    UnmatchedRow {
        item_id: item_id.into(),
        variation_id: 0,
        match_key: Some(item_id.into()),
        status: "active".into(),
        available_quantity: Some(3),
    }
}

fn location(kind: &str, store: Option<&str>, quantity: i64) -> LocationStock {
    LocationStock {
        kind: kind.into(),
        store_id: store.map(str::to_string),
        network_node_id: None,
        quantity,
    }
}

fn up(id: &str, read_at: i64, locations: Vec<LocationStock>) -> UserProductRead {
    UserProductRead {
        user_product_id: id.into(),
        item_quantity_at_read: Some(locations.iter().map(|l| l.quantity).sum()),
        version: Some(read_at),
        read_at: at(read_at),
        locations,
    }
}

async fn prepared(db: &TestDb) -> meli_stock::store::InventoryLayout {
    db.create_seller_schema(&SellerSchema::default()).await;
    db.insert_products(IdKind::Bigint, 2).await;
    db.store.check_inventory(&names()).await.unwrap()
}

async fn run(db: &TestDb, seller: u64, seconds: i64) -> (RunId, WriteSet) {
    let id = db
        .store
        .start_run(seller, at(seconds), false)
        .await
        .unwrap();
    (id, stock_writes(id, seller, at(seconds), &[]))
}

async fn item_map_deltas_upsert_and_remove_per_seller(db: TestDb) {
    // Arrange: two sellers, each with its own first run
    let layout = prepared(&db).await;
    let (_, mut first) = run(&db, SELLER, 0).await;
    first.item_map = vec![item("MLC1", 0, Some("1")), item("MLC2", 0, None)];
    db.store.apply(&layout, &first).await.unwrap();
    let (_, mut other) = run(&db, OTHER_SELLER, 10).await;
    other.item_map = vec![item("MLC9", 0, None)];
    db.store.apply(&layout, &other).await.unwrap();

    // Act: the seller's next run no longer sees MLC1, changes MLC2 and sees a variation of
    // MLC3; the other seller also has an MLC1, which must stay
    let (_, mut extra) = run(&db, OTHER_SELLER, 20).await;
    extra.item_map = vec![item("MLC1", 0, None)];
    db.store.apply(&layout, &extra).await.unwrap();
    let (second_run, mut second) = run(&db, SELLER, 60).await;
    second.item_map = vec![
        item("MLC2", 0, Some("2")),
        item("MLC3", 4_742_223_403, None),
    ];
    second.item_map_removed = vec![("MLC1".into(), 0)];
    db.store.apply(&layout, &second).await.unwrap();

    // Assert
    let state = db.store.load_state(SELLER).await.unwrap();
    let mut keys: Vec<_> = state.items.keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![("MLC2".into(), 0), ("MLC3".into(), 4_742_223_403)]
    );
    assert_eq!(
        state.items[&("MLC2".to_string(), 0)],
        item("MLC2", 0, Some("2"))
    );
    let other_state = db.store.load_state(OTHER_SELLER).await.unwrap();
    assert_eq!(
        other_state.items.len(),
        2,
        "another seller's map must survive"
    );
    let written = db
        .scalar(&format!(
            "SELECT COUNT(*) FROM {} WHERE written_by_run = {}",
            db.state_table("item_map"),
            second_run.0
        ))
        .await;
    assert_eq!(written, 2, "only the rows the delta named were written");
}

async fn unmatched_items_keep_their_first_sighting(db: TestDb) {
    // Arrange
    let layout = prepared(&db).await;
    let (_, mut first) = run(&db, SELLER, 0).await;
    first.unmatched = vec![unmatched("MLC7"), unmatched("MLC8")];
    db.store.apply(&layout, &first).await.unwrap();

    // Act: MLC7 got matched, MLC8 is still unmatched
    let (second_id, mut second) = run(&db, SELLER, 3600).await;
    second.unmatched = vec![unmatched("MLC8")];
    db.store.apply(&layout, &second).await.unwrap();

    // Assert
    let report = db.store.unmatched(SELLER).await.unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].row, unmatched("MLC8"));
    assert_eq!(report[0].first_seen, at(0));
    assert_eq!(report[0].last_seen_run, second_id);
    assert!(db.store.unmatched(OTHER_SELLER).await.unwrap().is_empty());
}

async fn user_product_stock_is_replaced_only_for_products_read(db: TestDb) {
    // Arrange: two user products read in the first run
    let layout = prepared(&db).await;
    let (_, mut first) = run(&db, SELLER, 0).await;
    first.user_products = vec![
        up(
            "MLCU1",
            0,
            vec![
                location("selling_address", None, 3),
                location("meli_facility", None, 2),
            ],
        ),
        up(
            "MLCU2",
            0,
            vec![
                location("seller_warehouse", Some("100"), 4),
                location("seller_warehouse", Some("200"), 6),
            ],
        ),
    ];
    db.store.apply(&layout, &first).await.unwrap();

    // Act: the second run reads only MLCU1, whose Full stock is gone
    let (second_id, mut second) = run(&db, SELLER, 60).await;
    second.user_products = vec![up("MLCU1", 60, vec![location("selling_address", None, 4)])];
    db.store.apply(&layout, &second).await.unwrap();

    // Assert
    let rows = db
        .texts(&format!(
            "SELECT user_product_id, location_key, CAST(quantity AS TEXT), \
             CAST(run_id AS TEXT) FROM {} ORDER BY user_product_id, location_key",
            db.state_table("user_product_stock")
        ))
        .await;
    let s = |v: &str| Some(v.to_string());
    let second_run = second_id.0.to_string();
    assert_eq!(
        rows,
        vec![
            vec![s("MLCU1"), s("selling_address"), s("4"), Some(second_run)],
            vec![
                s("MLCU2"),
                s("seller_warehouse:100"),
                s("4"),
                rows[1][3].clone()
            ],
            vec![
                s("MLCU2"),
                s("seller_warehouse:200"),
                s("6"),
                rows[2][3].clone()
            ],
        ]
    );
    let state = db.store.load_state(SELLER).await.unwrap();
    assert_eq!(state.user_products["MLCU1"].total, 4);
    assert_eq!(state.user_products["MLCU1"].read_at, at(60));
    assert_eq!(state.user_products["MLCU1"].item_quantity_at_read, Some(4));
    assert_eq!(state.user_products["MLCU2"].total, 10);
    assert_eq!(state.user_products["MLCU2"].version, Some(0));
}

both_stores!(
    item_map_deltas_upsert_and_remove_per_seller,
    unmatched_items_keep_their_first_sighting,
    user_product_stock_is_replaced_only_for_products_read,
);
