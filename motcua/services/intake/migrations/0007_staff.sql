-- The staff directories notify keeps, as ``staff.configured`` tells them (no name, no
-- contact): a dossier is assigned to an active member of its center (docs/staff.md).
-- A center with no row here has loaded no directory and still takes any assignee.
CREATE TABLE staff_members (
    center_id   text NOT NULL,
    staff_id    text NOT NULL,
    department  text,
    role        text NOT NULL,
    active      boolean NOT NULL,
    revision    integer NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (center_id, staff_id)
);
