//! Unit tests of the run arithmetic.
#![allow(clippy::unwrap_used)]

use super::*;

fn line(item: &str, variation: Option<u64>, up: Option<&str>, reported: i64) -> Line {
    Line {
        item_id: item.to_owned(),
        variation_id: variation,
        status: "active".to_owned(),
        sub_status: Vec::new(),
        reported,
        unit: match up {
            Some(up) => Unit::UserProduct(up.to_owned()),
            None => Unit::Line {
                item_id: item.to_owned(),
                variation_id: variation,
            },
        },
        seller_sku: None,
        inventory_id: None,
    }
}

fn products(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn plan(
    lines: &[Line],
    reads: &[(&str, i64)],
    prods: &[(&str, &str)],
    cur: &[(&str, i64)],
) -> Plan {
    let read_totals = reads.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let current = cur.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let products = products(prods);
    build_plan(&PlanInput {
        lines,
        read_totals: &read_totals,
        products: &products,
        current: &current,
        claimed_by_others: &HashSet::new(),
        mode: MatchMode::Item,
    })
}

#[test]
fn shared_user_product_counts_fully_for_each_item_and_once_per_item() {
    let lines = [
        line("MLC1", None, Some("MLCU1"), 7),
        line("MLC2", None, Some("MLCU1"), 7),
        line("MLC3", Some(1), Some("MLCU2"), 3),
        line("MLC3", Some(2), Some("MLCU2"), 3),
    ];

    let plan = plan(
        &lines,
        &[],
        &[("MLC1", "1"), ("MLC2", "2"), ("MLC3", "3")],
        &[],
    );

    assert_eq!(plan.desired["1"], 7);
    assert_eq!(plan.desired["2"], 7);
    assert_eq!(
        plan.desired["3"], 3,
        "two variations on one UP must not add up twice"
    );
}

#[test]
fn variations_with_their_own_user_products_add_up() {
    let lines = [
        line("MLC3", Some(1), Some("MLCU5"), 2),
        line("MLC3", Some(2), Some("MLCU6"), 4),
    ];

    let plan = plan(&lines, &[], &[("MLC3", "3")], &[]);

    assert_eq!(plan.desired["3"], 6);
}

#[test]
fn read_location_sum_wins_and_disagreements_are_counted() {
    let lines = [
        line("MLC1", None, Some("MLCU1"), 5),
        line("MLC2", None, Some("MLCU1"), 5),
    ];

    let plan = plan(
        &lines,
        &[("MLCU1", 9)],
        &[("MLC1", "1"), ("MLC2", "2")],
        &[],
    );

    assert_eq!(plan.desired["1"], 9);
    assert_eq!(plan.desired["2"], 9);
    assert_eq!(plan.disagreements.len(), 2);
}

#[test]
fn closed_listings_count_zero_and_gone_items_zero_their_rows() {
    let mut closed = line("MLC1", None, Some("MLCU1"), 4);
    closed.status = "closed".to_owned();

    let plan = plan(&[closed], &[], &[("MLC1", "1")], &[("1", 4), ("9", 3)]);

    assert_eq!(plan.desired["1"], 0);
    assert_eq!(
        plan.desired["9"], 0,
        "a row whose listing is gone goes to zero"
    );
    assert_eq!(plan.zeroed, 2);
    assert_eq!(plan.managed, 2);
    assert_eq!(plan.changes.len(), 2);
}

#[test]
fn unchanged_rows_are_not_changes_and_unmatched_lines_are_reported() {
    let lines = [line("MLC1", None, None, 4), line("MLC7", None, None, 2)];

    let plan = plan(&lines, &[], &[("MLC1", "1")], &[("1", 4)]);

    assert!(plan.changes.is_empty());
    assert_eq!(plan.unmatched.len(), 1);
    assert_eq!(plan.unmatched[0].item_id, "MLC7");
    assert_eq!(plan.unmatched[0].quantity, 2);
}

#[test]
fn sku_mode_counts_a_shared_user_product_once_per_sku() {
    let mut classic = line("MLC1", None, Some("MLCU1"), 6);
    classic.seller_sku = Some("SKU-1".to_owned());
    let mut premium = line("MLC2", None, Some("MLCU1"), 6);
    premium.seller_sku = Some("SKU-1".to_owned());
    let lines = [classic, premium];
    let products = products(&[("SKU-1", "10")]);

    let plan = build_plan(&PlanInput {
        lines: &lines,
        read_totals: &HashMap::new(),
        products: &products,
        current: &HashMap::new(),
        claimed_by_others: &HashSet::new(),
        mode: MatchMode::Sku,
    });

    assert_eq!(plan.desired["10"], 6);
}

#[test]
fn rows_another_seller_matched_are_neither_zeroed_nor_managed() {
    let lines = [line("MLC1", None, Some("MLCU1"), 4)];
    let products = products(&[("MLC1", "1")]);
    let current = [
        ("1".to_owned(), 4),
        ("2".to_owned(), 9),
        ("3".to_owned(), 5),
    ]
    .into_iter()
    .collect();
    let claimed = ["2".to_owned()].into_iter().collect();

    let plan = build_plan(&PlanInput {
        lines: &lines,
        read_totals: &HashMap::new(),
        products: &products,
        current: &current,
        claimed_by_others: &claimed,
        mode: MatchMode::Item,
    });

    assert!(
        !plan.desired.contains_key("2"),
        "another seller's row is left alone"
    );
    assert_eq!(
        plan.desired["3"], 0,
        "an unclaimed row whose listing is gone goes to 0"
    );
    assert_eq!(plan.managed, 2);
}
