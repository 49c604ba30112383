-- The 766 scorecard (services/deadlines/scorecard.py, docs/score766.md).

-- What was attached to each dossier (dossier.document_attached), one row per component
-- or result; never the file, only the flags the indicators 4.1-4.3 count. A component
-- attached again keeps the flags it ever had, so a replaced scan stays a digitised one.
-- Kept apart from the clock because a citizen attaches files to an online submission
-- before its receipt creates the clock.
CREATE TABLE dossier_documents (
    dossier_id uuid NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('component', 'result')),
    component  smallint NOT NULL,
    digitised  boolean NOT NULL DEFAULT false,
    reused     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (dossier_id, kind, component)
);

-- Each clock carries what the scorecard asks of its dossier, so the province's scorecard
-- (150 centers, millions of dossiers) is one scan of the period's clocks, with no join
-- per dossier. Each column is recomputed from its source rows (clock_facts,
-- dossier_documents, ratings) whenever one of them or the receipt changes
-- (repository/scorecard.py, refresh_flags), so a redelivered or reordered event cannot
-- make it drift. channel: how the dossier was filed, from its dossier.received (NULL for
-- receipts stored before this migration).
ALTER TABLE clocks
    ADD COLUMN channel             text CHECK (channel IN ('counter', 'online')),
    ADD COLUMN supplement_requests integer NOT NULL DEFAULT 0,
    ADD COLUMN has_component       boolean NOT NULL DEFAULT false,
    ADD COLUMN scanned_component   boolean NOT NULL DEFAULT false,
    ADD COLUMN reused_component    boolean NOT NULL DEFAULT false,
    ADD COLUMN has_result          boolean NOT NULL DEFAULT false,
    ADD COLUMN rating              smallint;

-- Clocks received before this migration: their supplement requests and ratings.
UPDATE clocks c SET
    supplement_requests = (SELECT count(*) FROM clock_facts f
                           WHERE f.dossier_id = c.dossier_id
                             AND f.kind = 'pause_start' AND f.channel = 'supplement'),
    rating = (SELECT r.rating FROM ratings r WHERE r.dossier_id = c.dossier_id)
WHERE EXISTS (SELECT 1 FROM clock_facts f WHERE f.dossier_id = c.dossier_id)
   OR EXISTS (SELECT 1 FROM ratings r WHERE r.dossier_id = c.dossier_id);
