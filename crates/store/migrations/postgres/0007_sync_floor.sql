-- Tombstones are kept for the newest deletions of each collection only; a
-- sync token below sync_floor is too old to be answered (the client
-- syncs from scratch).
ALTER TABLE collections ADD COLUMN sync_floor BIGINT NOT NULL DEFAULT 0;

-- The tombstones of a collection, newest first, without reading its items.
CREATE INDEX changes_tombstones ON changes (collection_id, deleted, revision);
