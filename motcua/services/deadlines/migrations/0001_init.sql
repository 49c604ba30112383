-- The deadlines schema. Plumbing tables (outbox, inbox) come from shared/bus/migrations.
-- One legal clock per dossier, the facts it is computed from, the flags already emitted,
-- apology letters, and each center's calendar overrides.

CREATE TABLE centers (
    center_id  text PRIMARY KEY,
    name       text,
    -- Merged onto the packaged national calendar (services/deadlines/calendars.py).
    overrides  jsonb NOT NULL DEFAULT '{}'::jsonb,
    version    integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A flag planned for a clock's current due instant (services.deadlines.flags.PlannedFlag).
CREATE TYPE planned_flag AS (
    kind               text,
    fire_at            timestamptz,
    left_seconds       integer,
    new_appointment_at timestamptz
);

CREATE TABLE clocks (
    dossier_id           uuid PRIMARY KEY,
    center_id            text NOT NULL,
    dossier_code         text NOT NULL,
    procedure_code       text NOT NULL,
    line_code            text,
    -- The receipt; NULL until dossier.received is known (other events may come first).
    received_at          timestamptz,
    receipt_occurred_at  timestamptz,
    limit_amount         integer,
    limit_unit           text CHECK (limit_unit IN ('working_days', 'working_hours')),
    limit_rollover       boolean,
    appointment_at       timestamptz,
    -- Computed from the receipt and clock_facts by domain.compute_clock.
    started_at           timestamptz,
    due_at               timestamptz,
    budget_seconds       bigint,
    paused_since         timestamptz,
    adjusted             boolean NOT NULL DEFAULT false,
    closed_kind          text CHECK (closed_kind IN ('resolved', 'withdrawn', 'stopped')),
    closed_at            timestamptz,
    outcome              text CHECK (outcome IN ('early', 'on_time', 'late')),
    working_seconds_late bigint NOT NULL DEFAULT 0,
    -- Flags still to fire for the current due_at, and the earliest firing time among them.
    -- next_fire_at is NULL whenever nothing can fire: closed, paused or no receipt yet.
    schedule             planned_flag[] NOT NULL DEFAULT '{}',
    next_fire_at         timestamptz,
    -- The worklist's profile; each part keeps the latest by business time.
    assignee             text,
    department           text,
    assigned_at          timestamptz,
    status               smallint,
    status_at            timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- The scheduler's queue: open clocks by their next firing time.
CREATE INDEX clocks_next_fire ON clocks (next_fire_at)
    WHERE closed_kind IS NULL AND next_fire_at IS NOT NULL;
-- The leaders' worklist: a center's open clocks.
CREATE INDEX clocks_open_by_center ON clocks (center_id) WHERE closed_kind IS NULL;
-- Reports select a receipt period, for one center or for all.
CREATE INDEX clocks_center_received ON clocks (center_id, received_at);
CREATE INDEX clocks_received ON clocks (received_at);

-- Facts at their business time. fact_id is the event id (or the extension id), so a fact
-- recorded twice is one fact.
CREATE TABLE clock_facts (
    fact_id     uuid PRIMARY KEY,
    dossier_id  uuid NOT NULL,
    kind        text NOT NULL CHECK (
        kind IN ('pause_start', 'pause_end', 'extension', 'resolved', 'withdrawn', 'stopped')
    ),
    channel     text CHECK (channel IN ('supplement', 'financial')),
    occurred_at timestamptz NOT NULL,
    amount      integer,
    unit        text CHECK (unit IN ('working_days', 'working_hours')),
    reason      text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind IN ('pause_start', 'pause_end')) = (channel IS NOT NULL)),
    CHECK (kind <> 'extension' OR (amount IS NOT NULL AND amount >= 0 AND unit IS NOT NULL))
);
CREATE INDEX clock_facts_dossier ON clock_facts (dossier_id);

-- Every flag emitted: at most one per dossier, kind and due date. The row is written in the
-- same transaction as the flag's outbox row.
CREATE TABLE flags (
    dossier_id uuid NOT NULL,
    kind       text NOT NULL,
    due_at     timestamptz NOT NULL,
    event_id   uuid NOT NULL UNIQUE,
    emitted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (dossier_id, kind, due_at)
);

CREATE TABLE apology_letters (
    letter_id          uuid PRIMARY KEY,
    dossier_id         uuid NOT NULL,
    center_id          text NOT NULL,
    dossier_code       text NOT NULL,
    procedure_code     text NOT NULL,
    received_at        timestamptz NOT NULL,
    due_at             timestamptz NOT NULL,
    new_appointment_at timestamptz NOT NULL,
    issued_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (dossier_id, due_at)
);
