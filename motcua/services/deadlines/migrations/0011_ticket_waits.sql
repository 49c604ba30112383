-- Each ticket's wait (services/deadlines/waits.py), from the queue's events: when it was
-- issued, first called, or ended uncalled (no-show, cancelled). Merged per ticket by the
-- earliest instant of each, so duplicates and any arrival order give the same row.
CREATE TABLE ticket_waits (
    ticket_id uuid PRIMARY KEY,
    center_id text NOT NULL,
    issued_at timestamptz,
    called_at timestamptz,
    ended_at  timestamptz
);

-- The province's page reads every center's tickets issued in a period.
CREATE INDEX ticket_waits_by_issue ON ticket_waits (issued_at, center_id)
    WHERE issued_at IS NOT NULL;
