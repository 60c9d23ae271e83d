//! Tests of settings layering and validation.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use super::*;

fn load_with(
    file: Option<&Path>,
    dotenv: &[(&str, &str)],
    env: &[(&str, &str)],
    flags: &[(&'static str, &str)],
) -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let dotenv: Vec<(String, String)> = dotenv
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let flags: Vec<(&'static str, String)> =
        flags.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let lookup = move |name: &str| env.get(name).cloned();
    let sources = Sources::collect(file, &dotenv, &lookup, &flags)?;
    Config::from_sources(&sources)
}

#[test]
fn defaults_need_no_settings_and_mean_the_embedded_database() {
    let config = load_with(None, &[], &[], &[]).unwrap();

    assert!(config.database_url.is_none());
    assert_eq!(config.sqlite_path, PathBuf::from("meli-stock.db"));
    assert_eq!(config.ml.api_url.as_str(), "https://api.mercadolibre.com/");
    assert_eq!(config.sync.updated_by, "meli-stock");
    assert_eq!(config.sync.stock_read_budget, ReadBudget::Limited(1000));
    assert_eq!(config.sync.mass_zero_max, 0.2);
}

#[test]
fn later_layers_win_file_then_dotenv_then_env_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meli-stock.toml");
    std::fs::write(
        &path,
        "[sync]\nupdated_by = \"file\"\nmatch = \"sku\"\n[ml]\nseller_id = 1\n",
    )
    .unwrap();

    let config = load_with(
        Some(&path),
        &[("MELI_STOCK_UPDATED_BY", "dotenv"), ("ML_SELLER_ID", "2")],
        &[("MELI_STOCK_UPDATED_BY", "env")],
        &[("ml.seller_id", "3")],
    )
    .unwrap();

    assert_eq!(config.sync.updated_by, "env");
    assert_eq!(config.sync.match_mode, MatchMode::Sku);
    assert_eq!(config.ml.seller_id, Some(3));
}

#[test]
fn a_bad_value_names_the_setting_and_its_origin() {
    let err = load_with(None, &[], &[("MELI_STOCK_MASS_ZERO_MAX", "lots")], &[]).unwrap_err();

    let message = err.to_string();
    assert!(message.contains("MELI_STOCK_MASS_ZERO_MAX"), "{message}");
    assert!(message.contains("the environment"), "{message}");
}

#[test]
fn an_unknown_key_in_the_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meli-stock.toml");
    std::fs::write(&path, "[sync]\nupdated_byy = \"x\"\n").unwrap();

    let err = load_with(Some(&path), &[], &[], &[]).unwrap_err();

    assert!(
        err.to_string()
            .contains("unknown setting `sync.updated_byy`"),
        "{err}"
    );
}

#[test]
fn a_non_postgres_database_url_is_refused_without_echoing_it() {
    let err = load_with(
        None,
        &[],
        &[("DATABASE_URL", "mysql://u:hunter2@h/db")],
        &[],
    )
    .unwrap_err();

    let message = err.to_string();
    assert!(message.contains("DATABASE_URL"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn an_invalid_table_name_is_refused() {
    let err = load_with(None, &[], &[("MELI_STOCK_STOCK_TABLE", "stock; drop")], &[]).unwrap_err();

    assert!(err.to_string().contains("stock; drop"), "{err}");
}

#[test]
fn debug_output_hides_secrets() {
    let config = load_with(
        None,
        &[],
        &[
            ("ML_SECRET", "s3cr3t-value"),
            ("ML_REFRESH_TOKEN", "TG-abcdef-1"),
            ("DATABASE_URL", "postgres://u:hunter2@localhost/db"),
        ],
        &[],
    )
    .unwrap();

    let debug = format!("{config:?}");
    assert!(!debug.contains("s3cr3t-value"), "{debug}");
    assert!(!debug.contains("TG-abcdef-1"), "{debug}");
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[test]
fn budget_accepts_all_and_durations_accept_units() {
    let config = load_with(
        None,
        &[],
        &[
            ("MELI_STOCK_STOCK_READ_BUDGET", "all"),
            ("MELI_STOCK_STOCK_MAX_AGE", "90m"),
        ],
        &[],
    )
    .unwrap();

    assert_eq!(config.sync.stock_read_budget, ReadBudget::Unlimited);
    assert_eq!(config.sync.stock_max_age, Duration::from_secs(90 * 60));
}

#[test]
fn an_empty_variable_falls_back_to_the_default() {
    let config = load_with(
        None,
        &[],
        &[("MELI_STOCK_SOURCE", ""), ("ML_SELLER_ID", "  ")],
        &[],
    )
    .unwrap();

    assert_eq!(config.inventory.source_value, "mercadolibre");
    assert_eq!(config.ml.seller_id, None);
}

#[test]
fn a_column_name_setting_is_checked_and_named() {
    let err = load_with(
        None,
        &[],
        &[("MELI_STOCK_STOCK_QUANTITY_COLUMN", "qty\"x")],
        &[],
    )
    .unwrap_err();

    let message = err.to_string();
    assert!(
        message.contains("MELI_STOCK_STOCK_QUANTITY_COLUMN"),
        "{message}"
    );
    assert!(message.contains("not a plain SQL identifier"), "{message}");
}

#[test]
fn column_names_reach_the_inventory_names() {
    let config = load_with(
        None,
        &[],
        &[
            ("MELI_STOCK_STOCK_QUANTITY_COLUMN", "qty"),
            ("MELI_STOCK_PRODUCTS_ID_COLUMN", "pid"),
        ],
        &[],
    )
    .unwrap();

    assert_eq!(config.inventory.stock_quantity, "qty");
    assert_eq!(config.inventory.products_id, "pid");
}

#[test]
fn the_readme_lists_every_setting_as_config_markdown_prints_it() {
    let readme = include_str!("../../../../README.md");

    assert!(
        readme.contains(&settings_markdown()),
        "README.md's settings table differs from `meli-stock config --markdown`; paste its output"
    );
}
