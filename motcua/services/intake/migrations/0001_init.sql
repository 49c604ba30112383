-- The intake schema. Plumbing tables (outbox, inbox) come from shared/bus/migrations.

-- One counter per code prefix (center + local day). Incremented inside the
-- receipt's transaction: the row lock serialises concurrent receipts of one
-- center-day, so codes are unique and gapless.
CREATE TABLE dossier_sequences (
    prefix     text PRIMARY KEY,
    last_value int  NOT NULL
);

CREATE TABLE dossiers (
    id                  uuid PRIMARY KEY,
    code                text NOT NULL UNIQUE,
    center_id           text NOT NULL,
    procedure_code      text NOT NULL,
    -- The procedure as it stood at receipt; catalog edits never change it.
    procedure           jsonb NOT NULL,
    line_code           text,
    channel             text NOT NULL CHECK (channel IN ('counter', 'online')),
    status              smallint NOT NULL CHECK (status BETWEEN 1 AND 10),
    time_limit_amount   int  NOT NULL CHECK (time_limit_amount >= 0),
    time_limit_unit     text NOT NULL CHECK (time_limit_unit IN ('working_days', 'working_hours')),
    time_limit_rollover boolean NOT NULL,
    received_at         timestamptz NOT NULL,
    appointment_at      timestamptz NOT NULL,
    secret_hash         bytea NOT NULL,
    -- Sealed so that a clerk can reprint the receipt; never compared.
    secret_sealed       text NOT NULL,
    applicant_name      text,
    contact_kind        text CHECK (contact_kind IN ('phone', 'email')),
    contact_sealed      text,
    contact_language    text,
    contact_consent     boolean NOT NULL DEFAULT false,
    documents_received  jsonb NOT NULL DEFAULT '[]',
    note                text,
    ticket_id           uuid,
    assignee            text,
    department          text,
    outcome             text CHECK (outcome IN ('approved', 'refused')),
    received_by         text NOT NULL,
    correlation_id      uuid NOT NULL,
    version             int  NOT NULL DEFAULT 1,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX dossiers_center_status ON dossiers (center_id, status, received_at DESC);
CREATE INDEX dossiers_ticket ON dossiers (ticket_id) WHERE ticket_id IS NOT NULL;

-- Every change, in order: the timeline citizens see and the audit trail clerks see.
CREATE TABLE dossier_history (
    dossier_id  uuid NOT NULL REFERENCES dossiers (id),
    seq         int  NOT NULL,
    event_id    uuid NOT NULL UNIQUE,
    event_type  text NOT NULL,
    from_status smallint,
    status      smallint NOT NULL,
    occurred_at timestamptz NOT NULL,
    actor       text NOT NULL,
    via         text NOT NULL CHECK (via IN ('http', 'bus', 'online')),
    details     jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (dossier_id, seq)
);

-- Idempotency of commands: bus commands by command id, HTTP and online
-- submissions by their Idempotency-Key (scoped by center). Claimed in the same
-- transaction as the effect, so a duplicate has no second effect.
CREATE TABLE processed_commands (
    command_key  text PRIMARY KEY,
    command_type text,
    center_id    text,
    dossier_id   uuid,
    outcome      text NOT NULL CHECK (outcome IN ('applied', 'rejected')),
    reason       text,
    request_hash bytea,
    processed_at timestamptz NOT NULL DEFAULT now()
);

-- Tickets served at a counter (from ticket.service_completed), whichever of the
-- ticket event and the dossier arrives first.
CREATE TABLE served_tickets (
    ticket_id    uuid PRIMARY KEY,
    center_id    text NOT NULL,
    number       text NOT NULL,
    line_code    text NOT NULL,
    counter_id   text,
    dossier_id   uuid,
    completed_at timestamptz NOT NULL,
    event_id     uuid NOT NULL
);
CREATE INDEX served_tickets_dossier ON served_tickets (dossier_id) WHERE dossier_id IS NOT NULL;
