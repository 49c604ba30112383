-- Each dossier's timeline (services/deadlines/timeline.py): one row per event that is part
-- of a case, from the four topics deadlines reads; joined to a dossier when read.
CREATE TABLE timeline (
    event_id        uuid PRIMARY KEY,
    center_id       text NOT NULL,
    at              timestamptz NOT NULL,
    event_type      text NOT NULL,
    source          text NOT NULL CHECK (source IN ('queue', 'intake', 'deadlines', 'notify')),
    dossier_id      uuid,
    ticket_id       uuid,
    -- A notification's cause: the event that called for the message.
    source_event_id uuid,
    detail          jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX timeline_by_dossier ON timeline (dossier_id) WHERE dossier_id IS NOT NULL;
CREATE INDEX timeline_by_ticket ON timeline (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX timeline_by_cause ON timeline (source_event_id) WHERE source_event_id IS NOT NULL;
