-- Bearer tokens of the SNMS-compatible API. Only a token's SHA-256 is kept. A token names
-- the identity (handle, idx) whose secret issued it and a digest of that secret's stored
-- hash (`secret_tag`): setting a new secret retires every token issued under the old one.
CREATE TABLE tokens (
    hash        BLOB    PRIMARY KEY,
    handle      TEXT    NOT NULL,
    idx         INTEGER NOT NULL,
    secret_tag  BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_expiry ON tokens (expires_at);
