-- What a service knows of the center registry: each center's latest configuration
-- (a center.configured payload) and its revision. A follower writes a row only for a
-- revision newer than the one it holds (motcua/shared/centers.py), so a duplicate or a
-- late event changes nothing, and a restart reads the centers back from here.
CREATE TABLE registry_centers (
    center_id  text        PRIMARY KEY,
    revision   integer     NOT NULL,
    config     jsonb       NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
