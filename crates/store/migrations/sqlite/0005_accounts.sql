-- Accounts made on the web site: an address to validate, a lock for staff,
-- log-in sessions, single-use mail links, and the support queue.
-- Accounts that existed before sign-up (made by the CLI) count as validated.
ALTER TABLE users ADD COLUMN verified_at INTEGER;
ALTER TABLE users ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;
UPDATE users SET verified_at = created_at;
-- Addresses are looked up for sign-up checks and password resets.
CREATE INDEX users_email ON users (lower(email));

-- Only SHA-256 digests of session and mail-link tokens are stored.
CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- purpose: 'verify' (a new account), 'email' (a changed address, in
-- new_email) or 'reset' (a forgotten password).
CREATE TABLE mail_tokens (
    token_hash  TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose     TEXT    NOT NULL,
    new_email   TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX mail_tokens_user ON mail_tokens (user_id, purpose);

CREATE TABLE support_requests (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    name        TEXT    NOT NULL,
    email       TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX support_requests_status ON support_requests (status, updated_at);

-- The request's text is its first message; author is 'requester' or 'staff'.
CREATE TABLE support_messages (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES support_requests(id) ON DELETE CASCADE,
    author      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX support_messages_request ON support_messages (request_id, id);
