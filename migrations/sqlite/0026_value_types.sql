-- The dictionary of value type names: a packed record (idnode_core::packed) names a type
-- by its number here instead of spelling it out. Numbers are never reused or renamed, so
-- the store may cache the table and reload it on a number it does not know.
CREATE TABLE value_types (
    id    INTEGER PRIMARY KEY,
    name  TEXT    NOT NULL UNIQUE
);
