-- Bearer tokens of the SNMS-compatible API. Only a token's SHA-256 is kept. A token names
-- the identity (handle, idx) whose secret issued it and a digest of that secret's stored
-- hash (`secret_tag`): setting a new secret retires every token issued under the old one.
CREATE TABLE tokens (
    hash        BYTEA  PRIMARY KEY,
    handle      TEXT   COLLATE "C" NOT NULL,
    idx         BIGINT NOT NULL,
    secret_tag  BYTEA  NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX tokens_expiry ON tokens (expires_at);
