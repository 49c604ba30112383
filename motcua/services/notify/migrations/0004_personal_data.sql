-- Personal data at rest (services/notify/repository.py, delivery_repository.py and
-- personal_data.py): contact addresses and message bodies are sealed with the contact
-- keyring, the key id beside each value; both are purged a set time after their case
-- closes (Law 91/2025 on personal data: kept no longer than needed).

-- The key that sealed the address; NULL: stored in clear before sealing.
ALTER TABLE contacts ADD COLUMN IF NOT EXISTS address_key_id text;

-- The key that sealed the body; NULL: stored in clear before sealing, or purged.
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS body_key_id text;
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS purged_at timestamptz;

-- When the dossier closed (resolved, withdrawn or stopped): the purge counts from it.
ALTER TABLE dossiers ADD COLUMN IF NOT EXISTS closed_at timestamptz;
CREATE INDEX IF NOT EXISTS dossiers_closed ON dossiers (closed_at) WHERE closed_at IS NOT NULL;

-- The purge finds what is left to erase without reading what it erased already.
CREATE INDEX IF NOT EXISTS deliveries_unpurged
    ON deliveries (subject_kind, subject_id) WHERE purged_at IS NULL;
CREATE INDEX IF NOT EXISTS contacts_by_created ON contacts (subject_kind, created_at);
