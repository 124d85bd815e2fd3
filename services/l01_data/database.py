"""The PostgreSQL connection pool, and the translation of outages into E1007."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import asyncpg
import structlog

from services.kit.errors import PlatformError
from services.l01_data import errors
from services.l01_data.config import DataSettings
from services.l01_data.migrate import apply_migrations
from services.l01_data.vectors.session import prepare_vector_session

log = structlog.get_logger("l01.database")

T = TypeVar("T")

# Errors that mean "the database is not reachable right now", as opposed to a
# bug or bad input: the client may retry, and the pool heals by itself.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)


@asynccontextmanager
async def translate_outages() -> AsyncIterator[None]:
    """Turns a lost or refused database connection into UNAVAILABLE / E1007."""
    try:
        yield
    except OUTAGE_ERRORS as exc:
        log.warning("database.unavailable", error=type(exc).__name__, detail=str(exc)[:200])
        raise PlatformError(
            errors.STORE_UNAVAILABLE, "the event store's database is unavailable; retry shortly"
        ) from exc


async def _rollback_if_needed(conn: asyncpg.Connection) -> None:
    """Pool reset without the default's extra round trip per request.

    Pool connections hold no LISTEN or advisory locks (the listener and the
    outbox use connections of their own); the settings the ``init`` hook SETs
    are meant to last as long as the connection, so nothing else needs undoing.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def _with_startup_wait(settings: DataSettings, connect: Callable[[], Awaitable[T]]) -> T:
    """Retries ``connect`` while the server is not up yet, for ``startup_wait_seconds``."""
    deadline = asyncio.get_running_loop().time() + settings.startup_wait_seconds
    while True:
        try:
            return await connect()
        except OUTAGE_ERRORS as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.info("database.waiting", error=type(exc).__name__)
            await asyncio.sleep(0.5)


async def migrate(settings: DataSettings) -> None:
    """Applies pending migrations on a connection of its own, before the pool opens:
    pool connections register pgvector's codec, which needs the migrated schema."""

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(
            settings.database_url, timeout=settings.connect_timeout_seconds
        )

    conn = await _with_startup_wait(settings, connect)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()


async def create_pool(settings: DataSettings) -> asyncpg.Pool:
    """A pool to ``settings.database_url``, waiting for the server at start-up."""

    async def connect() -> asyncpg.Pool:
        pool = await asyncpg.create_pool(
            settings.database_url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            timeout=settings.connect_timeout_seconds,
            command_timeout=settings.statement_timeout_seconds,
            reset=_rollback_if_needed,
            init=prepare_vector_session,
        )
        assert pool is not None
        return pool

    return await _with_startup_wait(settings, connect)
