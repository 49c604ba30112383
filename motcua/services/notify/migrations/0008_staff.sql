-- The staff directory of each center, its escalation ladder, and who holds each dossier
-- (docs/staff.md). Staff contacts live in ``contacts`` (subject_kind 'staff'), sealed
-- like the citizens'.
ALTER TABLE contacts DROP CONSTRAINT contacts_subject_kind_check;
ALTER TABLE contacts ADD CONSTRAINT contacts_subject_kind_check
    CHECK (subject_kind IN ('ticket', 'dossier', 'appointment', 'staff'));

CREATE TABLE staff (
    id            uuid PRIMARY KEY,  -- the subject id of the member's contacts
    center_id     text NOT NULL,
    staff_id      text NOT NULL,
    display_name  text NOT NULL,
    department    text,
    role          text NOT NULL CHECK (role IN ('officer', 'department_head', 'leader')),
    active        boolean NOT NULL DEFAULT true,
    revision      integer NOT NULL DEFAULT 1,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (center_id, staff_id)
);

-- Every change to the directory or a ladder: who, when, before and after. Contacts are
-- named by kind only: the audit is read in plain text.
CREATE TABLE staff_audit (
    id         bigserial PRIMARY KEY,
    center_id  text NOT NULL,
    subject    text NOT NULL,  -- a staff id, or 'ladder'
    action     text NOT NULL,
    actor      text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    before     jsonb,
    after      jsonb
);
CREATE INDEX staff_audit_by_center ON staff_audit (center_id, id);

CREATE TABLE escalation_ladders (
    center_id         text PRIMARY KEY,
    ladder            jsonb NOT NULL,
    still_open_hours  integer NOT NULL CHECK (still_open_hours >= 0),  -- 0: never
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Overdue dossiers whose leader hears again if they are still open by ``due_at``
-- (working hours after the overdue event); a closing event removes the row, the sweep
-- removes it with the message it records.
CREATE TABLE overdue_watches (
    dossier_id  uuid PRIMARY KEY,
    center_id   text NOT NULL,
    event       bytea NOT NULL,  -- the deadline.overdue, the messages' source
    due_at      timestamptz NOT NULL
);
CREATE INDEX overdue_watches_by_due ON overdue_watches (due_at);

-- The latest ``dossier.assigned`` of each dossier: whom its deadline events reach first.
CREATE TABLE dossier_assignees (
    dossier_id  uuid PRIMARY KEY,
    center_id   text NOT NULL,
    assignee    text NOT NULL,
    department  text,
    assigned_at timestamptz NOT NULL
);
