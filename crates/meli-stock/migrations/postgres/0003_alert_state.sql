-- Alert state per seller and alert kind, so a restart (or a `meli-stock check` run from
-- cron) neither repeats an alert already sent nor forgets one that is firing. `version` is
-- bumped by every write; a writer that read an older version loses and reads again, so two
-- processes never both send the same alert.

CREATE TABLE meli_stock.alert_state (
    seller_id   bigint      NOT NULL,
    kind        text        NOT NULL,
    active      boolean     NOT NULL DEFAULT false,
    since       timestamptz,
    notified_at timestamptz,
    count       bigint      NOT NULL DEFAULT 0,
    detail      text,
    version     bigint      NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, kind)
);
