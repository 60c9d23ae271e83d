-- Seller accounts and their OAuth tokens, the account event log, and authorizations that
-- were started (`meli-stock auth url`) but not yet exchanged. Token columns hold
-- XChaCha20-Poly1305 ciphertext (version byte, nonce, ciphertext and tag); the key is
-- never stored, only its fingerprint in key_check.

CREATE TABLE meli_stock.key_check (
    id          smallint    PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    fingerprint text        NOT NULL,
    created_at  timestamptz NOT NULL,
    rotated_at  timestamptz
);

CREATE TABLE meli_stock.accounts (
    seller_id         bigint      PRIMARY KEY,
    app_id            text        NOT NULL,
    site_id           text,
    nickname          text,
    access_token      bytea       NOT NULL,
    refresh_token     bytea,
    access_expires_at timestamptz NOT NULL,
    refresh_issued_at timestamptz,
    last_refresh_at   timestamptz,
    refresh_count     bigint      NOT NULL DEFAULT 0,
    status            text        NOT NULL DEFAULT 'ok'
                      CHECK (status IN ('ok', 'reauth_required')),
    last_error        text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);

-- What happened to an account, for people and for alerting: refreshed, imported,
-- authorized, reauth_required, refresh_failed, removed, key_rotated.
CREATE TABLE meli_stock.account_events (
    id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL,
    seller_id bigint      NOT NULL,
    kind      text        NOT NULL,
    detail    text
);
CREATE INDEX account_events_seller_idx ON meli_stock.account_events (seller_id, at DESC, id DESC);
CREATE INDEX account_events_at_idx ON meli_stock.account_events (at DESC, id DESC);

-- One row per `meli-stock auth url` until its code is exchanged or it expires; the PKCE
-- verifier is encrypted like the tokens.
CREATE TABLE meli_stock.pending_authorizations (
    state        text        PRIMARY KEY,
    app_id       text        NOT NULL,
    site_id      text        NOT NULL,
    redirect_uri text        NOT NULL,
    verifier     bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
