-- Service-wide settings shared by every instance (maintenance mode first).
CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
