-- Plumbing tables every service schema carries. Applied with search_path set to
-- the service's schema, so these names are schema-local.

-- Transactional outbox: written in the same transaction as the state change,
-- published by the relay, deleted once the broker has acknowledged (acks=all).
CREATE TABLE outbox (
    id          bigserial   PRIMARY KEY,          -- publish order; per-key order follows it
    event_id    uuid        NOT NULL UNIQUE,
    topic       text        NOT NULL,             -- stream name, without deployment prefix
    key         text        NOT NULL,
    event_type  text        NOT NULL,
    payload     bytea       NOT NULL,             -- the exact bytes to publish
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Inbox: one row per (consumer, event) applied, written with the effect.
CREATE TABLE inbox (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
