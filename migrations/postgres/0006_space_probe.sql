-- One row rewritten by the readiness probe while the last write ran out of space: a commit
-- of this row needs fresh space, so its success shows that writes fit again.
CREATE TABLE space_probe (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    pad BYTEA NOT NULL
);
-- Store the pad uncompressed and out of line, so every probe writes its full size.
ALTER TABLE space_probe ALTER COLUMN pad SET STORAGE EXTERNAL;
