-- Invitations mailed to people without an account here (iMIP, RFC 6047):
-- one row per mail, whose Accept / Maybe / Decline links carry a token
-- kept only as its SHA-256. A link answers once and expires.
CREATE TABLE invitations (
    id            INTEGER PRIMARY KEY,
    token_hash    TEXT    NOT NULL UNIQUE,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    uid           TEXT    NOT NULL,
    attendee      TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    answered_at   INTEGER,
    answer        TEXT
);
CREATE INDEX invitations_event ON invitations (collection_id, uid);
CREATE INDEX invitations_guest ON invitations (uid, attendee);
