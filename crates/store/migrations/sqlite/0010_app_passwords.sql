-- App passwords: one per device, random and long, so a calendar app is let
-- in by a digest lookup instead of an argon2 check. Only the SHA-256 of the
-- password is kept.
CREATE TABLE app_passwords (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX app_passwords_user ON app_passwords (user_id);
