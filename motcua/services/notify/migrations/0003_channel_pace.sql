-- Each channel's rate limit, shared by every replica: the theoretical arrival time of
-- the next message (see services/notify/pace.py). One row per channel, updated a few
-- times a second; a replica never holds its lock beyond that one statement.
CREATE TABLE channel_pace (
    channel text PRIMARY KEY,
    tat     timestamptz NOT NULL
);
