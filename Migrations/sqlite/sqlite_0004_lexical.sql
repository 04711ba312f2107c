-- The lexical index: each chunk's analysed terms as (term id, tf) pairs, written in the same
-- transaction as the chunk, and the collection's term table (id → text). Chunks stored before
-- this migration have no terms; the first start indexes them once from their text.
ALTER TABLE chunks ADD COLUMN terms BLOB;
ALTER TABLE collections ADD COLUMN bm25_k1 REAL NOT NULL DEFAULT 1.2;
ALTER TABLE collections ADD COLUMN bm25_b REAL NOT NULL DEFAULT 0.75;
ALTER TABLE collections ADD COLUMN fold_diacritics INTEGER NOT NULL DEFAULT 0;
CREATE TABLE lexical_terms (
    collection TEXT NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
    id         INTEGER NOT NULL,
    term       TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);
