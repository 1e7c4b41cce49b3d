-- Unique values keyed by the value first, as on PostgreSQL (where a key led by (prefix, idx)
-- let the planner filter looked-up values row by row while statistics lagged a bulk load).
CREATE TABLE unique_values_by_value (
    prefix  TEXT    NOT NULL,
    idx     INTEGER NOT NULL,
    value   TEXT    NOT NULL,
    handle  TEXT    NOT NULL,
    PRIMARY KEY (value, prefix, idx)
) WITHOUT ROWID;
INSERT INTO unique_values_by_value (prefix, idx, value, handle)
    SELECT prefix, idx, value, handle FROM unique_values;
DROP TABLE unique_values;
ALTER TABLE unique_values_by_value RENAME TO unique_values;
CREATE INDEX unique_values_handle ON unique_values (handle);
