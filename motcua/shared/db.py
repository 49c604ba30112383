"""PostgreSQL access: an asyncpg pool opened in a lifespan, never at import time."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import asyncpg.exceptions._base as asyncpg_base

from motcua.shared.settings import DatabaseSettings

# Errors that mean "the database is not there right now"; callers retry or answer 503.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    ConnectionError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    # A pooled connection left half-way through a protocol exchange (e.g. by a server
    # restart) answers "cannot switch to state ...", "not connected" or a ProtocolError;
    # the pool replaces it, so a retry on another connection is the cure.
    asyncpg.InternalClientError,
)
# Errors a retry of the same transaction can cure.
RETRYABLE: tuple[type[BaseException], ...] = (
    *UNAVAILABLE,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)
# Client-side mistakes that asyncpg files under InterfaceError (an argument of the wrong
# type, say). No retry cures them: they are bugs or poison input, never "database away".
MISUSE: tuple[type[BaseException], ...] = (
    asyncpg_base.DataError,
    asyncpg.exceptions.ClientConfigurationError,
    asyncpg.exceptions.UnsupportedClientFeatureError,
    asyncpg.exceptions.UnsupportedServerFeatureError,
)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _release_as_is(conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing beyond asyncpg's own rollback of an open
    transaction. Request work keeps no session state, so the default reset query
    (unlock all, CLOSE ALL, UNLISTEN *, RESET ALL) would be a round trip and four
    statements for every request; work that does keep state runs in ``session()``."""


async def create_pool(settings: DatabaseSettings, **overrides: Any) -> asyncpg.Pool:
    """Open a pool with JSON codecs installed once per connection."""
    options: dict[str, Any] = {
        "min_size": settings.pool_min,
        "max_size": settings.pool_max,
        "command_timeout": settings.command_timeout,
        "init": _init_connection,
        "reset": _release_as_is,
    } | overrides
    return await asyncpg.create_pool(settings.url, **options)


@asynccontextmanager
async def session(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection for work that keeps session state: session advisory locks
    and LISTEN. That state is cleared before the connection serves anyone else, or the
    connection is closed (which ends its locks) when it cannot be; a leader lock left on
    an idle pooled connection would stop every relay."""
    async with pool.acquire() as conn:
        try:
            yield conn
        finally:
            if not conn.is_closed():
                try:
                    await conn.execute(conn.get_reset_query())
                except BaseException:
                    conn.terminate()
                    raise


def is_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, UNAVAILABLE) and not isinstance(exc, MISUSE)


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, RETRYABLE) and not isinstance(exc, MISUSE)
