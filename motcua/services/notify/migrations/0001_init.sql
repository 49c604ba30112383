-- The notify schema. Plumbing tables (outbox, inbox) come from shared/bus/migrations.
-- Contacts live here and nowhere else; everything outside this schema knows a
-- citizen only by recipient_ref (a keyed HMAC of the normalised contact).

-- Contacts given with consent, per ticket or dossier.
CREATE TABLE contacts (
    subject_kind  text NOT NULL CHECK (subject_kind IN ('ticket', 'dossier')),
    subject_id    uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('phone', 'email')),
    address       text NOT NULL,
    recipient_ref text NOT NULL,
    language      text NOT NULL,
    center_id     text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject_kind, subject_id, kind)
);
CREATE INDEX contacts_by_ref ON contacts (recipient_ref);

CREATE TABLE opt_outs (
    recipient_ref text PRIMARY KEY,
    source        text NOT NULL CHECK (source IN ('link', 'keyword')),
    opted_out_at  timestamptz NOT NULL DEFAULT now()
);

-- Dossiers notify has heard of, for the messages that come after dossier.received.
CREATE TABLE dossiers (
    dossier_id   uuid PRIMARY KEY,
    center_id    text NOT NULL,
    dossier_code text NOT NULL,
    received_at  timestamptz NOT NULL
);

CREATE TABLE feedback (
    dossier_id  uuid PRIMARY KEY REFERENCES dossiers (dossier_id),
    rating      smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment     text,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- The waiting line as the queue's events describe it, for "your turn soon".
CREATE TABLE waiting_tickets (
    ticket_id  uuid PRIMARY KEY,
    center_id  text NOT NULL,
    line_code  text NOT NULL,
    number     text NOT NULL,
    priority   boolean NOT NULL,
    entered_at timestamptz NOT NULL,
    soon_state text NOT NULL CHECK (soon_state IN ('pending', 'notified', 'close_on_entry'))
);
CREATE INDEX waiting_by_line ON waiting_tickets (center_id, line_code);

CREATE TABLE line_stats (
    center_id       text NOT NULL,
    line_code       text NOT NULL,
    service_seconds double precision NOT NULL,
    PRIMARY KEY (center_id, line_code)
);

CREATE TABLE open_counters (
    center_id  text NOT NULL,
    counter_id text NOT NULL,
    line_codes text[] NOT NULL,
    PRIMARY KEY (center_id, counter_id)
);

-- The event behind each message, kept to dead-letter it if every channel fails.
CREATE TABLE source_events (
    event_id       uuid PRIMARY KEY,
    topic          text NOT NULL,
    key            text NOT NULL,
    payload        bytea NOT NULL,
    correlation_id uuid,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- The outbox of deliveries: written in the consumer's transaction, sent by the worker.
CREATE TABLE deliveries (
    id              uuid PRIMARY KEY,
    source_event_id uuid NOT NULL REFERENCES source_events (event_id),
    center_id       text NOT NULL,
    kind            text NOT NULL,
    channel         text NOT NULL,
    recipient_ref   text NOT NULL,
    subject_kind    text NOT NULL,
    subject_id      uuid NOT NULL,
    contact_kind    text NOT NULL,
    language        text NOT NULL,
    title           text NOT NULL,
    body            text NOT NULL,
    segments        integer,
    context         jsonb NOT NULL,
    fallback        jsonb NOT NULL DEFAULT '[]',
    status          text NOT NULL
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
    attempts        integer NOT NULL DEFAULT 0,
    due_at          timestamptz NOT NULL,
    lease_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    CONSTRAINT deliveries_once UNIQUE (source_event_id, kind, channel, recipient_ref)
);
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'sending';
CREATE INDEX deliveries_by_center ON deliveries (center_id, created_at DESC);
CREATE INDEX deliveries_by_ref ON deliveries (recipient_ref) WHERE status = 'pending';

-- The delivery log: every attempt, the audit trail the API serves.
CREATE TABLE delivery_attempts (
    id          bigserial PRIMARY KEY,
    delivery_id uuid NOT NULL REFERENCES deliveries (id),
    attempt     integer NOT NULL,
    channel     text NOT NULL,
    outcome     text NOT NULL
        CHECK (outcome IN ('sent', 'failed', 'deferred', 'suppressed', 'interrupted')),
    error       text,
    segments    integer,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL
);
CREATE INDEX attempts_by_delivery ON delivery_attempts (delivery_id, id);

-- Source events of deliveries that failed on every channel, waiting to be
-- published to their topic's dead-letter twin with the error in the headers.
CREATE TABLE dead_letters (
    id         bigserial PRIMARY KEY,
    topic      text NOT NULL,
    key        text,
    payload    bytea NOT NULL,
    headers    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
