-- Escrow deposits made by this node. history_cursor is the last history row at or before the
-- watermark: a DIFF covers the history rows after the previous deposit's cursor up to its own.
CREATE TABLE deposits (
    id              TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('FULL', 'DIFF')),
    watermark       INTEGER NOT NULL,
    prev_id         TEXT,
    resend          INTEGER NOT NULL,
    history_cursor  INTEGER NOT NULL,
    nodes           INTEGER NOT NULL,
    handles         INTEGER NOT NULL,
    files           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX deposits_watermark ON deposits (watermark, resend);
