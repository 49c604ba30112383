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
    center_id   text PRIMARY KEY,
    ladder      jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The latest ``dossier.assigned`` of each dossier: whom its deadline events reach first.
CREATE TABLE dossier_assignees (
    dossier_id  uuid PRIMARY KEY,
    center_id   text NOT NULL,
    assignee    text NOT NULL,
    department  text,
    assigned_at timestamptz NOT NULL
);
