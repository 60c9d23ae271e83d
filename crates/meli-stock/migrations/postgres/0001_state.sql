-- meli-stock state, all in schema meli_stock (created by the migration runner).
-- Every table carries seller_id so several seller accounts can share one database; a later
-- migration adds the accounts and tokens tables and can reference seller_id from there.

CREATE TABLE meli_stock.runs (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seller_id          bigint      NOT NULL,
    started_at         timestamptz NOT NULL,
    finished_at        timestamptz,
    outcome            text        NOT NULL DEFAULT 'running'
                       CHECK (outcome IN ('running', 'success', 'failed')),
    dry_run            boolean     NOT NULL DEFAULT false,
    listing_complete   boolean     NOT NULL DEFAULT false,
    items_listed       bigint      NOT NULL DEFAULT 0,
    items_read         bigint      NOT NULL DEFAULT 0,
    user_products_read bigint      NOT NULL DEFAULT 0,
    rows_written       bigint      NOT NULL DEFAULT 0,
    rows_changed       bigint      NOT NULL DEFAULT 0,
    rows_zeroed        bigint      NOT NULL DEFAULT 0,
    unmatched          bigint      NOT NULL DEFAULT 0,
    disagreements      bigint      NOT NULL DEFAULT 0,
    api_calls          jsonb       NOT NULL DEFAULT '{}'::jsonb
                       CHECK (jsonb_typeof(api_calls) = 'object'),
    retries            bigint      NOT NULL DEFAULT 0,
    rate_limited       bigint      NOT NULL DEFAULT 0,
    error              text
);
CREATE INDEX runs_seller_started_idx ON meli_stock.runs (seller_id, started_at DESC, id DESC);
CREATE INDEX runs_started_idx ON meli_stock.runs (started_at DESC, id DESC);
CREATE INDEX runs_seller_success_idx ON meli_stock.runs (seller_id, finished_at DESC)
    WHERE outcome = 'success' AND NOT dry_run;

-- Latest stock of each user product per location (selling_address, meli_facility,
-- seller_warehouse:<store>).
CREATE TABLE meli_stock.user_product_stock (
    seller_id       bigint      NOT NULL,
    user_product_id text        NOT NULL,
    location_key    text        NOT NULL,
    location_type   text        NOT NULL,
    store_id        text,
    network_node_id text,
    quantity        bigint      NOT NULL,
    version         bigint,
    read_at         timestamptz NOT NULL,
    run_id          bigint      NOT NULL,
    PRIMARY KEY (seller_id, user_product_id, location_key)
);

CREATE TABLE meli_stock.user_products (
    seller_id             bigint      NOT NULL,
    user_product_id       text        NOT NULL,
    total                 bigint      NOT NULL,
    item_quantity_at_read bigint,
    version               bigint,
    read_at               timestamptz NOT NULL,
    PRIMARY KEY (seller_id, user_product_id)
);

CREATE TABLE meli_stock.item_map (
    seller_id          bigint NOT NULL,
    item_id            text   NOT NULL,
    variation_id       bigint NOT NULL DEFAULT 0,
    user_product_id    text,
    status             text   NOT NULL,
    sub_status         text   NOT NULL DEFAULT '',
    available_quantity bigint,
    inventory_id       text,
    seller_sku         text,
    product_key        text,
    product_id         text,
    last_seen_run      bigint NOT NULL,
    PRIMARY KEY (seller_id, item_id, variation_id)
);

-- Append-only ledger: one row per warehouse_stock row whose quantity a run changed.
-- run_id has no foreign key on purpose: the check would cost a lookup per changed row
-- and runs are never deleted.
CREATE TABLE meli_stock.stock_changes (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       bigint      NOT NULL,
    seller_id    bigint      NOT NULL,
    product_id   text        NOT NULL,
    item_id      text        NOT NULL,
    old_quantity bigint,
    new_quantity bigint      NOT NULL,
    changed_at   timestamptz NOT NULL
);
CREATE INDEX stock_changes_product_idx
    ON meli_stock.stock_changes (seller_id, product_id, changed_at DESC);
CREATE INDEX stock_changes_run_idx ON meli_stock.stock_changes (run_id);

CREATE TABLE meli_stock.unmatched_items (
    seller_id          bigint      NOT NULL,
    item_id            text        NOT NULL,
    variation_id       bigint      NOT NULL DEFAULT 0,
    match_key          text,
    status             text        NOT NULL,
    available_quantity bigint,
    first_seen         timestamptz NOT NULL,
    last_seen_run      bigint      NOT NULL,
    PRIMARY KEY (seller_id, item_id, variation_id)
);
