-- The purge of tickets' personal data (services/queue/personal_data.py): finished
-- tickets still holding a contact or a priority reason. Partial: once erased, a
-- ticket leaves the index, so a sweep costs what it erases.
CREATE INDEX IF NOT EXISTS tickets_personal_data ON tickets (updated_at)
    WHERE contact IS NOT NULL OR priority_reason IS NOT NULL;
