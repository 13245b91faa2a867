-- Search in the web calendar: the words of each calendar object (SUMMARY,
-- LOCATION, DESCRIPTION, CATEGORIES), indexed with FTS5. The index reads
-- items.search_text (external content) and triggers keep it in step with
-- every write, in the same transaction. Rows written before this version
-- get their text from the server at start-up (NULL until then).
ALTER TABLE items ADD COLUMN search_text TEXT;
CREATE VIRTUAL TABLE items_search USING fts5(
    search_text,
    content = 'items',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER items_search_insert AFTER INSERT ON items
WHEN new.search_text IS NOT NULL BEGIN
    INSERT INTO items_search (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER items_search_delete AFTER DELETE ON items
WHEN old.search_text IS NOT NULL BEGIN
    INSERT INTO items_search (items_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
-- One trigger for updates, so the old words leave the index before the new
-- ones enter it (two triggers would fire in an unspecified order).
CREATE TRIGGER items_search_update AFTER UPDATE OF search_text ON items BEGIN
    INSERT INTO items_search (items_search, rowid, search_text)
        SELECT 'delete', old.id, old.search_text WHERE old.search_text IS NOT NULL;
    INSERT INTO items_search (rowid, search_text)
        SELECT new.id, new.search_text WHERE new.search_text IS NOT NULL;
END;
