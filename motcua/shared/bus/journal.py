"""The outbox journal: what a relay published, kept to publish again.

The relay moves each acknowledged batch from ``outbox`` to ``outbox_journal`` in
one statement instead of deleting it. The journal is kept for a bounded horizon
(``MOTCUA_OUTBOX_JOURNAL_HOURS``, pruned by the retention sweep) and published
again, in id order and in keyset pages, when

* the broker lost its log: its bus epoch (``motcua.shared.bus.epoch``) is not the one the
  relay last published under; or
* an operator asks, with ``motcua outbox replay --since`` (after a Kafka disaster, or
  a PostgreSQL point-in-time restore that rolled the consumers' inboxes back).

The relay's row in ``outbox_relay`` remembers the epoch, and a replay in progress
(``replay_after``: the last journal id published again), so a relay killed halfway
carries on where it stopped. Consumers' inboxes absorb the repeats.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

# The acknowledged batch leaves the outbox and enters the journal in one statement.
MOVE = """
    WITH moved AS (
        DELETE FROM outbox WHERE id = ANY($1::bigint[])
        RETURNING id, event_id, topic, key, event_type, payload, created_at
    )
    INSERT INTO outbox_journal (id, event_id, topic, key, event_type, payload, created_at)
    SELECT id, event_id, topic, key, event_type, payload, created_at FROM moved
"""

# One keyset page of a replay, in publish order.
PAGE = """
    SELECT id, topic, key, event_type, payload FROM outbox_journal
    WHERE id > $1 ORDER BY id LIMIT $2
"""

STATE = "SELECT bus_epoch, replay_after, replay_epoch, replay_request FROM outbox_relay"

# The leading relay takes an operator's request: a replay from the earlier of the two
# starting points (LEAST ignores NULL), the request cleared in the same statement.
TAKE_REQUEST = """
    UPDATE outbox_relay
    SET replay_after = LEAST(replay_after, replay_request), replay_request = NULL,
        requested_at = NULL, updated_at = now()
    RETURNING bus_epoch, replay_after, replay_epoch, replay_request
"""

# The broker names an epoch this relay has not published under: replay everything.
START_EPOCH_REPLAY = """
    UPDATE outbox_relay
    SET replay_after = 0, replay_epoch = $1, updated_at = now()
    RETURNING bus_epoch, replay_after, replay_epoch, replay_request
"""

ADOPT_EPOCH = "UPDATE outbox_relay SET bus_epoch = $1, updated_at = now()"

PROGRESS = "UPDATE outbox_relay SET replay_after = $1, updated_at = now()"

# The replay is complete: the epoch it was for (if any) is now the relay's.
FINISH = """
    UPDATE outbox_relay
    SET replay_after = NULL, bus_epoch = COALESCE($1, bus_epoch), replay_epoch = NULL,
        updated_at = now()
"""

# The first journal row published at or after $1; the request replays from there.
REQUEST = """
    WITH since AS (
        SELECT min(id) AS first, count(*) AS rows
        FROM outbox_journal WHERE published_at >= $1
    )
    UPDATE outbox_relay
    SET replay_request = LEAST(replay_request, since.first - 1), requested_at = now(),
        updated_at = now()
    FROM since WHERE since.first IS NOT NULL
    RETURNING since.rows
"""


async def request_replay(conn: asyncpg.Connection, since: datetime) -> int:
    """Ask the schema's relay (through its ``outbox_relay`` row) to publish again every
    journal row published at or after ``since``, before any newer outbox row; wake it.
    Returns how many rows that is (0: nothing to replay, nothing asked)."""
    async with conn.transaction():
        rows = await conn.fetchval(REQUEST, since)
        if rows:
            # Delivered at commit; an awake relay also finds the request within a second.
            await conn.execute("SELECT pg_notify(current_schema() || '_outbox_replay', '')")
    return int(rows or 0)


async def pending(conn: asyncpg.Connection) -> tuple[int | None, int | None]:
    """The replay in progress and the request not yet taken (journal ids to replay
    after), for ``motcua outbox status``."""
    row = await conn.fetchrow(STATE)
    return row["replay_after"], row["replay_request"]
