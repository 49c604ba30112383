"""PostgreSQL access: an asyncpg pool opened in a lifespan, never at import time."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import asyncpg.exceptions._base as asyncpg_base

from shared.settings import DatabaseSettings

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


async def create_pool(settings: DatabaseSettings, **overrides: Any) -> asyncpg.Pool:
    """Open a pool with JSON codecs installed once per connection."""
    options: dict[str, Any] = {
        "min_size": settings.pool_min,
        "max_size": settings.pool_max,
        "command_timeout": settings.command_timeout,
        "init": _init_connection,
    } | overrides
    return await asyncpg.create_pool(settings.url, **options)


def is_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, UNAVAILABLE) and not isinstance(exc, MISUSE)


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, RETRYABLE) and not isinstance(exc, MISUSE)
