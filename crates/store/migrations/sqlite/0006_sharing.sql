-- Share links (tickets): a calendar opened to anyone holding the link,
-- read-only, read-write or free-busy only. Only the token's SHA-256 is kept.
CREATE TABLE share_links (
    id            INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    token_hash    TEXT    NOT NULL UNIQUE,
    permission    TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER,
    use_count     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX share_links_collection ON share_links (collection_id);

-- Where each change came from: 'sync' (a client), 'web' (the web
-- calendar), 'import' (an .ics file) or 'share' (a share link).
ALTER TABLE changes ADD COLUMN origin TEXT NOT NULL DEFAULT 'sync';
