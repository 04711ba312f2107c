-- The orthogonal rotation (its leading rows, float32 little-endian, row-major) that maps a
-- collection's full vectors to the coarse vectors its graph is built over; NULL = identity
-- (the raw Matryoshka prefix).
ALTER TABLE collections ADD COLUMN coarse_rotation BLOB;
