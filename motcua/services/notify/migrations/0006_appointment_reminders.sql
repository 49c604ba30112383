-- Appointments booked at the queue: their contacts, and the reminders still to send.

ALTER TABLE contacts DROP CONSTRAINT contacts_subject_kind_check;
ALTER TABLE contacts ADD CONSTRAINT contacts_subject_kind_check
    CHECK (subject_kind IN ('ticket', 'dossier', 'appointment'));

-- One reminder per booking, the working day before its slot. ``event`` is the booking's
-- last event (booked or rescheduled): the reminder is a message about it, so a retried
-- sweep finds the message already recorded (deliveries_once) and sends nothing twice.
CREATE TABLE appointment_reminders (
    appointment_id uuid PRIMARY KEY,
    center_id      text        NOT NULL,
    due_at         timestamptz NOT NULL,
    event          bytea       NOT NULL,
    context        jsonb       NOT NULL
);

CREATE INDEX appointment_reminders_due ON appointment_reminders (due_at);
