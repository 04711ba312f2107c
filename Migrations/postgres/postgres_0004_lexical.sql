-- The PostgreSQL twin of sqlite_0004_lexical.sql.
ALTER TABLE chunks ADD COLUMN terms BYTEA;
ALTER TABLE collections ADD COLUMN bm25_k1 DOUBLE PRECISION NOT NULL DEFAULT 1.2;
ALTER TABLE collections ADD COLUMN bm25_b DOUBLE PRECISION NOT NULL DEFAULT 0.75;
ALTER TABLE collections ADD COLUMN fold_diacritics BOOLEAN NOT NULL DEFAULT false;
CREATE TABLE lexical_terms (
    collection TEXT NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
    id         INTEGER NOT NULL,
    term       TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);
