-- Series submitted from outside Almanac (e.g. client downloads counted
-- elsewhere): one value per series and day.
CREATE TABLE external_points (
    series TEXT NOT NULL,
    day    TEXT NOT NULL,
    value  REAL NOT NULL,
    PRIMARY KEY (series, day)
);
