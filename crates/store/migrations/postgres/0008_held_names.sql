-- The user names of deleted accounts, held for a while so that nobody else
-- signs up with one and receives mail or share links meant for its owner.
CREATE TABLE held_names (
    name TEXT PRIMARY KEY,
    held_until BIGINT NOT NULL
);
