-- EPCIS named queries (`POST /epcis/queries`): per owner (the enterprise that created it, 0
-- the operator), so two enterprises may each have a `myQuery`. `definition` is the query
-- object as given (JSON); `extensions` the `GS1-Extensions` header it was created with (the
-- prefixes its values may use).
CREATE TABLE epcis_queries (
    owner       INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    definition  TEXT    NOT NULL,
    extensions  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (owner, name)
) WITHOUT ROWID;
