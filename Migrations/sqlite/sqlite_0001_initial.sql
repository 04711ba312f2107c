-- Collections, documents, chunks with their full-dimension vectors, and the HNSW graph row by
-- row, so that one transaction per ingest batch keeps rows and graph in agreement.
CREATE TABLE collections (
    name                 TEXT PRIMARY KEY,
    model                TEXT NOT NULL,
    dimensions           INTEGER NOT NULL CHECK (dimensions > 0),
    coarse_dimensions    INTEGER NOT NULL CHECK (coarse_dimensions > 0 AND coarse_dimensions <= dimensions),
    metric               TEXT NOT NULL,
    hnsw_m               INTEGER NOT NULL,
    hnsw_ef_construction INTEGER NOT NULL,
    seed                 INTEGER NOT NULL,
    created_at           TEXT NOT NULL
);

CREATE TABLE documents (
    collection TEXT NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    text       TEXT NOT NULL,
    metadata   TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);

-- `node` is the chunk's label in the HNSW graph; `vector` is float32 little-endian.
CREATE TABLE chunks (
    collection  TEXT NOT NULL,
    node        INTEGER NOT NULL,
    document_id TEXT NOT NULL,
    ordinal     INTEGER NOT NULL,
    text        TEXT NOT NULL,
    token_start INTEGER NOT NULL,
    token_end   INTEGER NOT NULL,
    vector      BLOB NOT NULL,
    PRIMARY KEY (collection, node),
    FOREIGN KEY (collection, document_id) REFERENCES documents (collection, id) ON DELETE CASCADE
);
CREATE INDEX chunks_by_document ON chunks (collection, document_id, ordinal);

-- One row per graph node (deleted ones too: they still route searches until compaction).
-- `coarse` is the vector the graph was built over; `links` the neighbour lists per level.
CREATE TABLE graph_nodes (
    collection TEXT NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
    node       INTEGER NOT NULL,
    label      INTEGER NOT NULL,
    level      INTEGER NOT NULL,
    deleted    INTEGER NOT NULL,
    coarse     BLOB NOT NULL,
    links      BLOB NOT NULL,
    PRIMARY KEY (collection, node)
);

CREATE TABLE graph_meta (
    collection  TEXT PRIMARY KEY REFERENCES collections (name) ON DELETE CASCADE,
    entry_point INTEGER NOT NULL,
    max_level   INTEGER NOT NULL,
    node_count  INTEGER NOT NULL,
    rng_state   INTEGER NOT NULL,
    next_label  INTEGER NOT NULL,
    checksum    INTEGER NOT NULL
);
