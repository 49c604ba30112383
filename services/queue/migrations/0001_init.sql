-- The queue schema. Plumbing tables (outbox, inbox) come from shared/bus/migrations.
SELECT 1;
