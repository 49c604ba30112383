-- A component reused by reference (docs/documents.md, "Reuse"): the citizen proved they
-- hold an earlier dossier (its code and secret) and consented, and the file it holds
-- was attached again by its hash, without a new upload. The earlier dossier is named
-- here for the scorecard's count of reuse; no foreign key, as a purge may outlive it.
ALTER TABLE dossier_documents ADD COLUMN reused_from uuid;
