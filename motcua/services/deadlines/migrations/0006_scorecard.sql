-- The 766 scorecard (services/deadlines/scorecard.py, docs/score766.md).

-- How each dossier was filed, from its dossier.received (an accepted online submission's
-- receipt says "online"): indicator 3.3. NULL for receipts stored before this column.
ALTER TABLE clocks ADD COLUMN channel text CHECK (channel IN ('counter', 'online'));

-- What was attached to each dossier (dossier.document_attached), one row per component
-- or result; never the file, only the flags the indicators 4.1-4.3 count. A component
-- attached again keeps the flags it ever had, so a replaced scan stays a digitised one.
CREATE TABLE dossier_documents (
    dossier_id uuid NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('component', 'result')),
    component  smallint NOT NULL,
    digitised  boolean NOT NULL DEFAULT false,
    reused     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (dossier_id, kind, component)
);

-- The province's scorecard reads every center's cohort in one pass; the supplement
-- requests of that cohort are found through this partial index instead of every fact.
CREATE INDEX clock_facts_supplement_requests ON clock_facts (dossier_id)
    WHERE kind = 'pause_start' AND channel = 'supplement';
