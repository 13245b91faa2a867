-- Users, their collections (calendars and plain WebDAV collections), the
-- resources inside them, dead properties and the change log behind sync tokens.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE collections (
    id            INTEGER PRIMARY KEY,
    owner_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    path          TEXT    NOT NULL,
    is_calendar   INTEGER NOT NULL,
    displayname   TEXT,
    description   TEXT,
    color         TEXT,
    timezone      TEXT,
    components    TEXT    NOT NULL DEFAULT 'VEVENT,VTODO,VJOURNAL',
    sync_revision INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    modified_at   INTEGER NOT NULL,
    UNIQUE (owner_id, path)
);

CREATE TABLE items (
    id            INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    content_type  TEXT    NOT NULL,
    etag          TEXT    NOT NULL,
    data          BLOB    NOT NULL,
    size          INTEGER NOT NULL,
    uid           TEXT,
    component     TEXT,
    start_utc     INTEGER,
    end_utc       INTEGER,
    revision      INTEGER NOT NULL,
    modified_at   INTEGER NOT NULL,
    UNIQUE (collection_id, name)
);
CREATE UNIQUE INDEX items_uid ON items (collection_id, uid) WHERE uid IS NOT NULL;
CREATE INDEX items_span ON items (collection_id, start_utc, end_utc);

-- item_name is '' for a property of the collection itself.
CREATE TABLE dead_properties (
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    item_name     TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    PRIMARY KEY (collection_id, item_name, name)
);

-- The last change of each member; deleted = 1 rows are the tombstones.
CREATE TABLE changes (
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    revision      INTEGER NOT NULL,
    deleted       INTEGER NOT NULL,
    PRIMARY KEY (collection_id, name)
);
CREATE INDEX changes_revision ON changes (collection_id, revision);
