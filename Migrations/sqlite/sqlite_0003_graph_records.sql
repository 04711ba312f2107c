-- The graph is stored as opaque records in the index's own versioned codec (the store no
-- longer knows its fields), and a chunk's number is its `label`, the name the index uses.
-- The old per-field graph tables are dropped: a collection without a graph header is rebuilt
-- from its chunk vectors on the next start, with a log line.
DROP TABLE graph_nodes;
DROP TABLE graph_meta;
CREATE TABLE graph_records (
    collection TEXT NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
    node       INTEGER NOT NULL,
    record     BLOB NOT NULL,
    PRIMARY KEY (collection, node)
);
CREATE TABLE graph_headers (
    collection TEXT PRIMARY KEY REFERENCES collections (name) ON DELETE CASCADE,
    header     BLOB NOT NULL
);
ALTER TABLE chunks RENAME COLUMN node TO label;
