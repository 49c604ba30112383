-- Business time of the event, so benchmarks can measure commit-to-effect latency.
ALTER TABLE effects ADD COLUMN occurred_at timestamptz;
