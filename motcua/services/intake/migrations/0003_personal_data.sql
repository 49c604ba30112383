-- The purge of applicants' personal data (services/intake/personal_data.py): closed
-- dossiers still holding a name or contact, oldest change first. Partial: once
-- erased, a dossier leaves the index, so a sweep costs what it erases.
CREATE INDEX IF NOT EXISTS dossiers_personal_data ON dossiers (updated_at)
    WHERE applicant_name IS NOT NULL OR contact_sealed IS NOT NULL;

-- Lookup hashes stored before the pepper (32 bytes, no version byte), keyed at start-up.
CREATE INDEX IF NOT EXISTS dossiers_unpeppered ON dossiers (id)
    WHERE octet_length(secret_hash) = 32;
