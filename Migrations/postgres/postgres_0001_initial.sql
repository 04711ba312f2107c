-- The PostgreSQL twin of sqlite_0001_initial.sql (same tables, native types).
CREATE TABLE collections (
    name                 TEXT PRIMARY KEY,
    model                TEXT NOT NULL,
    dimensions           INTEGER NOT NULL CHECK (dimensions > 0),
    coarse_dimensions    INTEGER NOT NULL CHECK (coarse_dimensions > 0 AND coarse_dimensions <= dimensions),
    metric               TEXT NOT NULL,
    hnsw_m               INTEGER NOT NULL,
    hnsw_ef_construction INTEGER NOT NULL,
    seed                 BIGINT NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE documents (
    collection TEXT NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    text       TEXT NOT NULL,
    metadata   TEXT NOT NULL DEFAULT '{}',  -- the caller's JSON, byte for byte (cast to jsonb to query)
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (collection, id)
);

CREATE TABLE chunks (
    collection  TEXT NOT NULL,
    node        BIGINT NOT NULL,
    document_id TEXT NOT NULL,
    ordinal     INTEGER NOT NULL,
    text        TEXT NOT NULL,
    token_start INTEGER NOT NULL,
    token_end   INTEGER NOT NULL,
    vector      BYTEA NOT NULL,
    PRIMARY KEY (collection, node),
    FOREIGN KEY (collection, document_id) REFERENCES documents (collection, id) ON DELETE CASCADE
);
CREATE INDEX chunks_by_document ON chunks (collection, document_id, ordinal);

CREATE TABLE graph_nodes (
    collection TEXT NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
    node       INTEGER NOT NULL,
    label      BIGINT NOT NULL,
    level      INTEGER NOT NULL,
    deleted    BOOLEAN NOT NULL,
    coarse     BYTEA NOT NULL,
    links      BYTEA NOT NULL,
    PRIMARY KEY (collection, node)
);

CREATE TABLE graph_meta (
    collection  TEXT PRIMARY KEY REFERENCES collections (name) ON DELETE CASCADE,
    entry_point INTEGER NOT NULL,
    max_level   INTEGER NOT NULL,
    node_count  INTEGER NOT NULL,
    rng_state   BIGINT NOT NULL,
    next_label  BIGINT NOT NULL,
    checksum    BIGINT NOT NULL
);
