-- Appointments: a citizen books a slot of a line, then checks in at the kiosk.

-- Places taken per slot. A booking takes one with a conditional upsert, so two
-- citizens racing for the last place cannot both get it: the second finds the row at
-- capacity and books nothing. A line's daily cap is counted from these rows.
CREATE TABLE appointment_slots (
    center_id  text        NOT NULL,
    line_code  text        NOT NULL,
    slot_start timestamptz NOT NULL,
    booked     integer     NOT NULL CHECK (booked >= 0),
    PRIMARY KEY (center_id, line_code, slot_start)
);

CREATE TABLE appointments (
    appointment_id  uuid PRIMARY KEY,
    center_id       text        NOT NULL,
    line_code       text        NOT NULL,
    local_day       date        NOT NULL,
    slot_start      timestamptz NOT NULL,
    slot_end        timestamptz NOT NULL,
    code            text        NOT NULL,
    status          text        NOT NULL CHECK (status IN
                        ('booked', 'checked_in', 'cancelled', 'no_show')),
    booked_at       timestamptz NOT NULL,
    contact         jsonb,      -- sealed (shared.crypto) or NULL; never a clear contact
    ticket_id       uuid,
    idempotency_key text,       -- the booking request's
    last_request    text,       -- the Idempotency-Key of the last reschedule or cancel
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT appointments_code_unique UNIQUE (code),
    CONSTRAINT appointments_idempotency_unique UNIQUE (center_id, idempotency_key)
);

-- The no-show sweep: bookings still open whose slot has begun.
CREATE INDEX appointments_open ON appointments (slot_start) WHERE status = 'booked';
-- The day's figures of a center.
CREATE INDEX appointments_day ON appointments (center_id, local_day);
-- The purge of bookings' contacts (services/queue/personal_data.py): partial, so a
-- sweep costs what it erases.
CREATE INDEX appointments_personal_data ON appointments (updated_at) WHERE contact IS NOT NULL;

-- A ticket issued at check-in names its booking; its place in the queue is the slot.
ALTER TABLE tickets ADD COLUMN appointment_id uuid REFERENCES appointments (appointment_id);
-- Call-next reads the head of the booked tickets apart from the walk-ins'.
CREATE INDEX tickets_waiting_booked ON tickets (center_id, local_day, order_at, issue_seq)
    WHERE status = 'waiting' AND appointment_id IS NOT NULL;

-- Remote tickets: taken from a phone for today, called only once the citizen has
-- confirmed arrival (at the kiosk, or by the QR code on the center's door).
ALTER TABLE tickets ADD COLUMN remote boolean NOT NULL DEFAULT false;
ALTER TABLE tickets ADD COLUMN arrived_at timestamptz;
-- When a later ticket of its line was first called while it was unconfirmed.
ALTER TABLE tickets ADD COLUMN skipped_at timestamptz;
-- Keyed digests (never the number or the address) for the per-phone and per-address
-- limits; erased with the ticket's other personal data.
ALTER TABLE tickets ADD COLUMN requester text;
ALTER TABLE tickets ADD COLUMN client text;
CREATE INDEX tickets_remote_requester ON tickets (center_id, local_day, requester)
    WHERE remote;
CREATE INDEX tickets_remote_client ON tickets (center_id, local_day, client) WHERE remote;
CREATE INDEX tickets_unconfirmed ON tickets (skipped_at)
    WHERE remote AND arrived_at IS NULL AND status = 'waiting';
