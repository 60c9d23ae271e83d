-- Seller accounts and their OAuth tokens, the account event log, and authorizations that
-- were started but not yet exchanged: the same tables as on PostgreSQL, named meli_stock_*.
-- Token columns hold XChaCha20-Poly1305 ciphertext; the key is never stored, only its
-- fingerprint in meli_stock_key_check.

CREATE TABLE meli_stock_key_check (
    id          INTEGER PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    fingerprint TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    rotated_at  TEXT
);

CREATE TABLE meli_stock_accounts (
    seller_id         INTEGER PRIMARY KEY,
    app_id            TEXT    NOT NULL,
    site_id           TEXT,
    nickname          TEXT,
    access_token      BLOB    NOT NULL,
    refresh_token     BLOB,
    access_expires_at TEXT    NOT NULL,
    refresh_issued_at TEXT,
    last_refresh_at   TEXT,
    refresh_count     INTEGER NOT NULL DEFAULT 0,
    status            TEXT    NOT NULL DEFAULT 'ok'
                      CHECK (status IN ('ok', 'reauth_required')),
    last_error        TEXT,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
);

CREATE TABLE meli_stock_account_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT    NOT NULL,
    seller_id INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    detail    TEXT
);
CREATE INDEX meli_stock_account_events_seller_idx
    ON meli_stock_account_events (seller_id, at DESC, id DESC);
CREATE INDEX meli_stock_account_events_at_idx ON meli_stock_account_events (at DESC, id DESC);

CREATE TABLE meli_stock_pending_authorizations (
    state        TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL,
    site_id      TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    verifier     BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
