-- CalDAV scheduling (RFC 6638): each account's schedule inbox (the iTIP
-- messages delivered to it: invitations, updates, cancellations, answers),
-- and the calendar new invitations land in when the account chose one.
CREATE TABLE schedule_messages (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    uid        TEXT    NOT NULL,
    method     TEXT    NOT NULL,
    data       BLOB    NOT NULL,
    etag       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (owner_id, name)
);
CREATE TABLE schedule_defaults (
    user_id       INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE
);
