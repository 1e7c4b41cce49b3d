-- EPCIS named queries (`POST /epcis/queries`): per owner (the enterprise that created it, 0
-- the operator), so two enterprises may each have a `myQuery`. `definition` is the query
-- object as given (JSON); `extensions` the `GS1-Extensions` header it was created with (the
-- prefixes its values may use).
CREATE TABLE epcis_queries (
    owner       BIGINT NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    definition  TEXT COLLATE "C" NOT NULL,
    extensions  TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (owner, name)
);
