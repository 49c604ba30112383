-- Messages about a dossier consumed before its dossier.received: deadline events travel
-- on another topic, so nothing orders the two, and the contact comes with the receipt.
-- The receipt releases them in its own transaction; those it never brings expire.
-- No contact is kept here: the context, and the source event to dead-letter it with.
CREATE TABLE held_messages (
    event_id   uuid NOT NULL,
    kind       text NOT NULL,
    dossier_id uuid NOT NULL,
    center_id  text NOT NULL,
    context    jsonb NOT NULL,
    payload    bytea NOT NULL,
    held_at    timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (event_id, kind)
);
CREATE INDEX held_by_dossier ON held_messages (dossier_id);
CREATE INDEX held_by_expiry ON held_messages (expires_at);
