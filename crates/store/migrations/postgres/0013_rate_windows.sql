-- Form rate limits shared by every instance on one PostgreSQL database:
-- attempts per form and client address in a fixed window.
CREATE TABLE rate_windows (
    key          TEXT PRIMARY KEY,
    attempts     BIGINT NOT NULL,
    window_start BIGINT NOT NULL
);
