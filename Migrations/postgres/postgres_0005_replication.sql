-- Replicas on one database: every committed change is also a row of the change log, numbered
-- in commit order, so followers can apply the writer's changes to their memory one by one.
-- The head row is updated by every logging transaction: its row lock orders them (commit
-- order = sequence order, with no gaps), and its epoch fences a writer that has been replaced.
CREATE TABLE nestor_log_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seq        BIGINT NOT NULL,
    epoch      BIGINT NOT NULL,
    writer_url TEXT
);
INSERT INTO nestor_log_head (id, seq, epoch) VALUES (1, 0, 0);
-- One row per committed change: its collection and the change in the store's own encoding.
CREATE TABLE nestor_log (
    seq        BIGINT PRIMARY KEY,
    collection TEXT NOT NULL,
    change     BYTEA NOT NULL,
    epoch      BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Each live replica's applied position and heartbeat; the writer trims the log below the
-- lowest position of those seen within the retention.
CREATE TABLE nestor_replicas (
    id        TEXT PRIMARY KEY,
    url       TEXT,
    role      TEXT NOT NULL,
    position  BIGINT NOT NULL,
    heartbeat TIMESTAMPTZ NOT NULL DEFAULT now()
)
