-- meli-stock state on SQLite: the same tables as the PostgreSQL schema meli_stock, named
-- meli_stock_*. Timestamps are RFC 3339 text in UTC; booleans are 0/1; api_calls is JSON text.

CREATE TABLE meli_stock_runs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    seller_id          INTEGER NOT NULL,
    started_at         TEXT    NOT NULL,
    finished_at        TEXT,
    outcome            TEXT    NOT NULL DEFAULT 'running'
                       CHECK (outcome IN ('running', 'success', 'failed')),
    dry_run            INTEGER NOT NULL DEFAULT 0,
    listing_complete   INTEGER NOT NULL DEFAULT 0,
    items_listed       INTEGER NOT NULL DEFAULT 0,
    items_read         INTEGER NOT NULL DEFAULT 0,
    user_products_read INTEGER NOT NULL DEFAULT 0,
    rows_written       INTEGER NOT NULL DEFAULT 0,
    rows_changed       INTEGER NOT NULL DEFAULT 0,
    rows_zeroed        INTEGER NOT NULL DEFAULT 0,
    unmatched          INTEGER NOT NULL DEFAULT 0,
    disagreements      INTEGER NOT NULL DEFAULT 0,
    api_calls          TEXT    NOT NULL DEFAULT '{}'
                       CHECK (json_valid(api_calls) AND json_type(api_calls) = 'object'),
    retries            INTEGER NOT NULL DEFAULT 0,
    rate_limited       INTEGER NOT NULL DEFAULT 0,
    error              TEXT
);
CREATE INDEX meli_stock_runs_seller_started_idx
    ON meli_stock_runs (seller_id, started_at DESC, id DESC);
CREATE INDEX meli_stock_runs_started_idx ON meli_stock_runs (started_at DESC, id DESC);

CREATE TABLE meli_stock_user_product_stock (
    seller_id       INTEGER NOT NULL,
    user_product_id TEXT    NOT NULL,
    location_key    TEXT    NOT NULL,
    location_type   TEXT    NOT NULL,
    store_id        TEXT,
    network_node_id TEXT,
    quantity        INTEGER NOT NULL,
    version         INTEGER,
    read_at         TEXT    NOT NULL,
    run_id          INTEGER NOT NULL,
    PRIMARY KEY (seller_id, user_product_id, location_key)
);

CREATE TABLE meli_stock_user_products (
    seller_id             INTEGER NOT NULL,
    user_product_id       TEXT    NOT NULL,
    total                 INTEGER NOT NULL,
    item_quantity_at_read INTEGER,
    version               INTEGER,
    read_at               TEXT    NOT NULL,
    PRIMARY KEY (seller_id, user_product_id)
);

CREATE TABLE meli_stock_item_map (
    seller_id          INTEGER NOT NULL,
    item_id            TEXT    NOT NULL,
    variation_id       INTEGER NOT NULL DEFAULT 0,
    user_product_id    TEXT,
    status             TEXT    NOT NULL,
    sub_status         TEXT    NOT NULL DEFAULT '',
    available_quantity INTEGER,
    inventory_id       TEXT,
    seller_sku         TEXT,
    product_key        TEXT,
    product_id         TEXT,
    last_seen_run      INTEGER NOT NULL,
    PRIMARY KEY (seller_id, item_id, variation_id)
);

CREATE TABLE meli_stock_stock_changes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER NOT NULL,
    seller_id    INTEGER NOT NULL,
    product_id   TEXT    NOT NULL,
    item_id      TEXT    NOT NULL,
    old_quantity INTEGER,
    new_quantity INTEGER NOT NULL,
    changed_at   TEXT    NOT NULL
);
CREATE INDEX meli_stock_stock_changes_product_idx
    ON meli_stock_stock_changes (seller_id, product_id, changed_at DESC);
CREATE INDEX meli_stock_stock_changes_run_idx ON meli_stock_stock_changes (run_id);

CREATE TABLE meli_stock_unmatched_items (
    seller_id          INTEGER NOT NULL,
    item_id            TEXT    NOT NULL,
    variation_id       INTEGER NOT NULL DEFAULT 0,
    match_key          TEXT,
    status             TEXT    NOT NULL,
    available_quantity INTEGER,
    first_seen         TEXT    NOT NULL,
    last_seen_run      INTEGER NOT NULL,
    PRIMARY KEY (seller_id, item_id, variation_id)
);

-- Run lease per seller: SQLite has no advisory locks. A holder renews expires_at (unix
-- milliseconds) while it runs; a lease left by a crashed process simply expires.
CREATE TABLE meli_stock_seller_locks (
    seller_id   INTEGER PRIMARY KEY,
    holder      TEXT    NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
