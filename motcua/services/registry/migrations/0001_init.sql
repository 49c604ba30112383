-- The registry schema. Plumbing tables (outbox, inbox) come from shared/bus/migrations.
-- Each center's current document with its revision, and the audit of every change.

CREATE TABLE centers (
    center_id  text        PRIMARY KEY,
    -- Grows by one with each change; the center.configured event carries it.
    revision   integer     NOT NULL CHECK (revision >= 1),
    document   jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per change, written in the change's transaction with its outbox event:
-- who (a token's subject and role, or file:<name> for a loaded file), when, why, and
-- the document before (NULL for a new center) and after.
CREATE TABLE audit (
    id        bigserial   PRIMARY KEY,
    center_id text        NOT NULL,
    revision  integer     NOT NULL,
    actor     text        NOT NULL,
    role      text        NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    reason    text,
    before    jsonb,
    after     jsonb       NOT NULL,
    UNIQUE (center_id, revision)
);
CREATE INDEX audit_by_center ON audit (center_id, id DESC);
