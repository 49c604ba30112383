-- Indexes for the retention sweep (services/intake/retention.py), which deletes
-- expired rows a batch per statement. Without them each batch, and every sweep
-- that finds nothing, reads the whole table; with them a sweep costs what it
-- deletes. Both columns only grow, so inserts add at the index's right edge.
-- IF NOT EXISTS: on a large table, build one beforehand with CREATE INDEX
-- CONCURRENTLY under this name, and the migration will not block writes.

-- Command keys past the horizon go, oldest first.
CREATE INDEX IF NOT EXISTS processed_commands_processed_at ON processed_commands (processed_at);

-- Served tickets are walked in this order, and those a dossier names are kept; the
-- sweep resumes after the last ticket it looked at, so it never walks them again.
CREATE INDEX IF NOT EXISTS served_tickets_completed ON served_tickets (completed_at, ticket_id);
