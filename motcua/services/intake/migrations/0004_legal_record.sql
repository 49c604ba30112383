-- The dossier's legal record (docs/portal-statuses.md).

-- Two lifecycle statuses join the list: 11 not accepted (an online submission a
-- clerk refused; portal 3) and 12 withdrawn at the citizen's request (portal 7).
ALTER TABLE dossiers DROP CONSTRAINT IF EXISTS dossiers_status_check;
ALTER TABLE dossiers ADD CONSTRAINT dossiers_status_check CHECK (status BETWEEN 1 AND 12);

-- Supplements requested so far: the national scoring counts a dossier asked more
-- than once against the center, so the second request is flagged on the dossier.
ALTER TABLE dossiers ADD COLUMN IF NOT EXISTS supplement_requests int NOT NULL DEFAULT 0;

-- The appointment follows the legal clock (deadline.* events from deadlines). The
-- time of the clock event it was last set from: an older event, delivered late,
-- must not move the date back.
ALTER TABLE dossiers ADD COLUMN IF NOT EXISTS appointment_as_of timestamptz;
