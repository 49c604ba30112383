-- The province's procedure catalog: each procedure's current document with its
-- revision, and the audit of every change (the same rules as centers).

CREATE TABLE procedures (
    code       text        PRIMARY KEY,
    -- Grows by one with each change of this procedure; procedure.configured carries it.
    revision   integer     NOT NULL CHECK (revision >= 1),
    document   jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per change, written in the change's transaction with its outbox event.
CREATE TABLE procedure_audit (
    id        bigserial   PRIMARY KEY,
    code      text        NOT NULL,
    revision  integer     NOT NULL,
    actor     text        NOT NULL,
    role      text        NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    reason    text,
    before    jsonb,
    after     jsonb       NOT NULL,
    UNIQUE (code, revision)
);
CREATE INDEX procedure_audit_by_code ON procedure_audit (code, id DESC);
