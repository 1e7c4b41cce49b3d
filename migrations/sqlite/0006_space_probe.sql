-- One row rewritten by the readiness probe while the last write ran out of space: a commit
-- of this row needs fresh space, so its success shows that writes fit again.
CREATE TABLE space_probe (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    pad BLOB NOT NULL
);
