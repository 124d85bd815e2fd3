"""The newest committed global position, and waiting for it to move.

Appends in this process advance it directly; appends by other L01 processes
arrive as PostgreSQL notifications. Waiters also time out and re-read the log,
so a lost notification (e.g. while the listener reconnects) only adds latency.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

log = structlog.get_logger("l01.log_head")


class LogHead:
    def __init__(self, position: int = 0) -> None:
        self.position = position
        self._moved = asyncio.Event()

    def advance(self, position: int) -> None:
        if position > self.position:
            self.position = position
            self._moved.set()
            self._moved = asyncio.Event()

    async def wait_beyond(self, position: int, timeout: float) -> bool:
        """Waits until the head passes ``position``; False on timeout."""
        if self.position > position:
            return True
        moved = self._moved
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(moved.wait(), timeout)
        return self.position > position


async def listen_for_appends(database_url: str, channel: str, head: LogHead) -> None:
    """Runs until cancelled: LISTENs for append notifications, reconnecting on loss."""

    def on_notify(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            head.advance(int(payload))

    while True:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(database_url, timeout=2)
            await conn.add_listener(channel, on_notify)
            head.advance(await conn.fetchval("SELECT last_position FROM log_head"))
            while not conn.is_closed():
                await asyncio.sleep(1)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.debug("listener.reconnecting", error=type(exc).__name__)
        finally:
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close(timeout=1)
        await asyncio.sleep(1)
