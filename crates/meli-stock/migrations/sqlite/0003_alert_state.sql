-- Alert state per seller and alert kind (see the PostgreSQL migration of the same number).

CREATE TABLE meli_stock_alert_state (
    seller_id   INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 0,
    since       TEXT,
    notified_at TEXT,
    count       INTEGER NOT NULL DEFAULT 0,
    detail      TEXT,
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (seller_id, kind)
);
