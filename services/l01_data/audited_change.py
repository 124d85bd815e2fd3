"""A state change and its audit event, committed in one transaction, in one of two orders.

``run_audited``: the change runs first and the audit event is appended last, so the log lock
(which every append in the platform waits for) is held only from the append to the commit,
not while the change works: an HNSW insert of a thousand vectors takes a second, and must not
stall every other writer meanwhile. This lock order cannot deadlock: the log lock's other
holders never wait for the rows of vector collections, nor for a document's row held by
another writer (an append that puts documents first takes their advisory locks, which a
document change holds too: see event_store.py).

``run_after_audit``: the audit event is appended first, for changes to ``streams`` rows and
what depends on them (stream metadata and deletion, snapshots, consumer groups). Appends take
the log lock before touching ``streams`` rows, so taking it first here keeps one lock order
(no deadlock with concurrent appends) and makes the change see the stream states every append
sees.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from services.l01_data.database import translate_outages
from services.l01_data.log.append_plan import AppendRequest
from services.l01_data.log.event_store import append_audit
from services.l01_data.log.head import LogHead

T = TypeVar("T")

# The change returns its result and the audit append recording it (None: nothing changed).
Change = Callable[[asyncpg.Connection], Awaitable[tuple[T, AppendRequest | None]]]


async def run_after_audit(
    pool: asyncpg.Pool,
    head: LogHead,
    audit: AppendRequest,
    work: Callable[[asyncpg.Connection], Awaitable[T]],
) -> T:
    """Appends ``audit``, then runs ``work``, in one transaction. If ``work`` raises, neither is
    committed."""
    async with translate_outages(), pool.acquire() as conn:
        async with conn.transaction():
            position = await append_audit(conn, audit)
            result = await work(conn)
    head.advance(position)
    return result


async def run_audited(pool: asyncpg.Pool, head: LogHead, change: Change[T]) -> T:
    """Runs ``change`` and appends its audit event in one transaction; neither or both commit."""
    async with translate_outages(), pool.acquire() as conn:
        async with conn.transaction():
            result, audit = await change(conn)
            if audit is None:
                return result
            position = await append_audit(conn, audit)
    head.advance(position)
    return result
