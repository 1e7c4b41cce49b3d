-- Unique values keyed by the value first. With (prefix, idx, value), a table whose statistics
-- lag behind a bulk load (never analysed yet) made the planner match only (prefix, idx) in the
-- index and filter the looked-up values row by row: each look-up of 500 values read every value
-- of the item (350 ms at 30,000 identifiers). With the value leading, a look-up is always an
-- index probe per value.
ALTER TABLE unique_values DROP CONSTRAINT unique_values_pkey;
ALTER TABLE unique_values ADD PRIMARY KEY (value, prefix, idx);
