-- The item map is now written as a delta: only rows that are new or changed are written,
-- so the column records the run that last wrote a row, not the last run that saw it.
ALTER TABLE meli_stock.item_map RENAME COLUMN last_seen_run TO written_by_run;
