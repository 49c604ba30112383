-- The queue schema. Plumbing tables (outbox, inbox) come from shared/bus/migrations.
-- Centers, lines and counter definitions live in the data file; these tables hold
-- what changes during the day.

-- Which counters are open, what they serve, and the fairness guard's streak.
CREATE TABLE counters (
    center_id       text        NOT NULL,
    counter_id      text        NOT NULL,
    is_open         boolean     NOT NULL DEFAULT false,
    line_codes      text[]      NOT NULL DEFAULT '{}',
    clerk_id        text,
    opened_at       timestamptz,
    priority_streak integer     NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (center_id, counter_id)
);

-- Last number issued per line per local day; the row lock makes numbering race-free.
CREATE TABLE ticket_sequences (
    center_id  text    NOT NULL,
    line_code  text    NOT NULL,
    local_day  date    NOT NULL,
    last_seq   integer NOT NULL,
    PRIMARY KEY (center_id, line_code, local_day)
);

CREATE TABLE tickets (
    ticket_id          uuid PRIMARY KEY,
    issue_seq          bigint GENERATED ALWAYS AS IDENTITY,
    center_id          text        NOT NULL,
    local_day          date        NOT NULL,
    issued_line_code   text        NOT NULL,
    line_code          text        NOT NULL,
    seq                integer     NOT NULL,
    number             text        NOT NULL,
    lookup_code        text        NOT NULL,
    priority_reason    text        CHECK (priority_reason IN
                           ('elderly', 'disability', 'pregnancy', 'young_child', 'meritorious')),
    status             text        NOT NULL CHECK (status IN
                           ('waiting', 'called', 'serving', 'served', 'no_show', 'cancelled')),
    issued_at          timestamptz NOT NULL,
    order_at           timestamptz NOT NULL,
    queued_at          timestamptz NOT NULL,
    counter_id         text,
    call_count         integer     NOT NULL DEFAULT 0,
    called_at          timestamptz,
    service_started_at timestamptz,
    finished_at        timestamptz,
    dossier_id         uuid,
    contact            jsonb,      -- sealed (shared.crypto) or NULL; never a clear contact
    idempotency_key    text,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tickets_number_unique UNIQUE (center_id, issued_line_code, local_day, seq),
    CONSTRAINT tickets_lookup_code_unique UNIQUE (lookup_code),
    CONSTRAINT tickets_idempotency_unique UNIQUE (center_id, idempotency_key),
    CONSTRAINT tickets_active_at_counter CHECK (
        (status IN ('called', 'serving')) = (counter_id IS NOT NULL) OR status IN
            ('served', 'no_show', 'cancelled'))
);

-- Call-next scans the day's waiting tickets in queue order.
CREATE INDEX tickets_waiting ON tickets (center_id, local_day, order_at, issue_seq)
    WHERE status = 'waiting';
-- The clerks' list of the day's tickets.
CREATE INDEX tickets_day ON tickets (center_id, local_day, issued_at);
-- At most one ticket occupies a counter.
CREATE UNIQUE INDEX tickets_one_per_counter ON tickets (center_id, counter_id)
    WHERE status IN ('called', 'serving');

-- Every ticket change: daily statistics, recent service times, the board's last calls.
CREATE TABLE ticket_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id       uuid             NOT NULL REFERENCES tickets (ticket_id),
    center_id       text             NOT NULL,
    local_day       date             NOT NULL,
    kind            text             NOT NULL,
    line_code       text             NOT NULL,
    counter_id      text,
    at              timestamptz      NOT NULL,
    wait_seconds    double precision,
    service_seconds double precision
);

CREATE INDEX ticket_log_day ON ticket_log (center_id, local_day);
CREATE INDEX ticket_log_service ON ticket_log (center_id, line_code, at DESC)
    WHERE kind = 'ticket.service_completed';
CREATE INDEX ticket_log_calls ON ticket_log (center_id, local_day, at DESC)
    WHERE kind IN ('ticket.called', 'ticket.recalled');
