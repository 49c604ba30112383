-- The outbox journal: published rows move here (one statement, in the relay's
-- transaction) instead of being deleted, and stay for a bounded horizon
-- (MOTCUA_OUTBOX_JOURNAL_HOURS; the retention sweep prunes by published_at). It is
-- what a relay publishes again when the broker has lost its log (a new bus epoch,
-- shared/bus/epoch.py) or when an operator asks (`motcua outbox replay --since`).
-- id is the outbox id: replaying in id order keeps each key's order, and the
-- journal's ids all precede the outbox's, so a replay before the outbox keeps it too.
CREATE TABLE outbox_journal (
    id           bigint      PRIMARY KEY,
    event_id     uuid        NOT NULL,
    topic        text        NOT NULL,
    key          text        NOT NULL,
    event_type   text        NOT NULL,
    payload      bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now()
);
-- The sweep deletes by published_at, and `replay --since` starts from it.
CREATE INDEX outbox_journal_published_at ON outbox_journal (published_at);

-- The relay's memory, one row: the bus epoch it last published under, and a replay
-- in progress (journal ids after replay_after still to publish again, for the epoch
-- replay_epoch when a broker lost its log). replay_request is where `motcua outbox
-- replay` leaves a request (a journal id to replay after); the leading relay takes it.
CREATE TABLE outbox_relay (
    singleton      boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    bus_epoch      text,
    replay_after   bigint,
    replay_epoch   text,
    replay_request bigint,
    requested_at   timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO outbox_relay DEFAULT VALUES;
