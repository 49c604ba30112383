-- /deliveries?dossier_id=: every message about one dossier, newest first.
CREATE INDEX IF NOT EXISTS deliveries_by_subject
    ON deliveries (subject_kind, subject_id, created_at DESC);
