-- What a service knows of the registry's procedure catalog: each procedure's latest
-- procedure.configured payload and its revision. A follower writes a row only for a
-- revision newer than the one it holds (motcua/shared/procedures.py), so a duplicate
-- or a late event changes nothing, and a restart reads the procedures back from here.
CREATE TABLE registry_procedures (
    code       text        PRIMARY KEY,
    revision   integer     NOT NULL,
    config     jsonb       NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
