-- Jobs that must run once however many instances share the database (the
-- scheduled probe): the instance holding a job's lease runs it, and
-- renews the lease each time; another takes over once it has expired.
CREATE TABLE job_leases (
    job        TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
