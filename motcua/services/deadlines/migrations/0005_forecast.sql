-- The breach forecast's memory (services/deadlines/forecast.py).

-- The active working time each resolved dossier took, one row per dossier: a replayed or
-- re-emitted resolution rewrites its own row instead of counting twice. The forecast
-- reads the latest few hundred per center and procedure.
CREATE TABLE forecast_durations (
    dossier_id      uuid PRIMARY KEY,
    center_id       text NOT NULL,
    procedure_code  text NOT NULL,
    resolved_at     timestamptz NOT NULL,
    working_seconds bigint NOT NULL CHECK (working_seconds >= 0)
);
CREATE INDEX forecast_durations_recent
    ON forecast_durations (center_id, procedure_code, resolved_at DESC);

-- One sample a day of each line's backlog (the mean, over its open dossiers, of the open
-- dossiers per staff member in front of each): the usual backlog that today's is compared
-- with. The first sweep of the day writes it.
CREATE TABLE forecast_load (
    center_id text NOT NULL,
    line_code text NOT NULL,
    day       date NOT NULL,
    load      double precision NOT NULL CHECK (load >= 0),
    PRIMARY KEY (center_id, line_code, day)
);

-- When each center was last swept, by any instance: an instance skips a center another
-- one swept less than half an interval ago, so replicas share the work instead of each
-- repeating it (the flags alone already keep the events exactly once).
CREATE TABLE forecast_sweeps (
    center_id text PRIMARY KEY,
    swept_at  timestamptz NOT NULL
);

-- Staff on duty (a proxy until a staff directory exists): the distinct assignees of a
-- center's dossiers assigned in the last few working days.
CREATE INDEX clocks_center_assigned ON clocks (center_id, assigned_at)
    WHERE assignee IS NOT NULL;
