-- Escrow deposits made by this node. history_cursor is the last history row at or before the
-- watermark: a DIFF covers the history rows after the previous deposit's cursor up to its own.
CREATE TABLE deposits (
    id              TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('FULL', 'DIFF')),
    watermark       BIGINT  NOT NULL,
    prev_id         TEXT,
    resend          BIGINT  NOT NULL,
    history_cursor  BIGINT  NOT NULL,
    nodes           BIGINT  NOT NULL,
    handles         BIGINT  NOT NULL,
    files           TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX deposits_watermark ON deposits (watermark, resend);

-- Escrow reads history by id ranges (SQLite's rowid serves that already).
CREATE INDEX history_id ON history (id);
