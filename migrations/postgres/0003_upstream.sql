-- The connection to the top-level node.

-- Registration material sent upstream with ent:create (JSON, idnode_core::EnterpriseProfile),
-- and the enterprise's id at the top-level node once it has one.
ALTER TABLE enterprises ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';
ALTER TABLE enterprises ADD COLUMN upstream_id TEXT;

-- The top-level node's review of a prefix application: 'none' (no upstream connection),
-- 'pending' (applied for; writes refused), 'approved', 'rejected' (writes refused; note says why).
ALTER TABLE prefixes ADD COLUMN review TEXT NOT NULL DEFAULT 'none'
    CHECK (review IN ('none', 'pending', 'approved', 'rejected'));
ALTER TABLE prefixes ADD COLUMN review_note TEXT NOT NULL DEFAULT '';

-- Upstream actions, written in the transaction of the local change that causes them and
-- delivered in id order by the upstream worker. cursor counts the steps of the action
-- already acknowledged upstream; done and dead rows stay for inspection.
CREATE TABLE outbox (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    cursor      BIGINT  NOT NULL DEFAULT 0,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
    attempts    BIGINT  NOT NULL DEFAULT 0,
    next_at     BIGINT  NOT NULL,
    last_error  TEXT,
    created_at  BIGINT  NOT NULL,
    done_at     BIGINT
);
CREATE INDEX outbox_state ON outbox (state, id);
