-- The status site: probe results per component, and incidents and planned
-- maintenance written by operators, with their updates.
CREATE TABLE probe_results (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    component  TEXT    NOT NULL,
    ok         INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL,
    message    TEXT    NOT NULL
);
CREATE INDEX probe_results_at ON probe_results (component, at);

CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX incidents_updated ON incidents (updated_at);

CREATE TABLE incident_updates (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    message     TEXT    NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, at);
