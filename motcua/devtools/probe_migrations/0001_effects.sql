-- One row per applied event; a second effect would show as n > 1 or a second row.
CREATE TABLE effects (
    event_id   uuid PRIMARY KEY,
    key        text NOT NULL,
    seq        int  NOT NULL,
    n          int  NOT NULL DEFAULT 1,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
