-- Accounts whose credentials changed (password, lock, address, deletion):
-- every instance reads the new rows every second and forgets what it had
-- cached for those accounts, so a change takes effect everywhere at once.
CREATE TABLE credential_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL,
    changed_at INTEGER NOT NULL
);
