"""Catch-up-then-live reading of the global log (SubscribeAll and consumer groups).

Why no event is ever skipped: positions are handed out under the ``log_head``
row lock, held until commit (see event_store.py), so they become visible in
commit order. When a reader has seen position N, every transaction that took
a position below N has already committed, and none can commit one later.
Reading "everything after the last position seen" again and again therefore
neither skips a slow transaction's events nor repeats any, however long the
concurrent transactions run. A sequence-ordered log without that lock would
need a commit-safe watermark instead (a slow transaction holding position 7
while position 8 commits would make a reader at 8 skip 7 for ever).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from services.l01_data.log.event_store import EventStore
from services.l01_data.log.events import LogPage, RecordedEvent
from services.l01_data.log.head import LogHead

CATCH_UP_PAGE = 1_000
# Waiters re-read the log at least this often even without a notification.
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class CaughtUp:
    """The subscriber has seen everything up to ``position``; live events follow."""

    position: int


async def follow_pages(
    store: EventStore,
    head: LogHead,
    from_position: int,
    type_prefix: str = "",
    page_size: int = CATCH_UP_PAGE,
    stop: asyncio.Event | None = None,
) -> AsyncIterator[list[RecordedEvent] | CaughtUp]:
    """Pages of events from ``from_position`` on, in order, then new ones as they commit.

    Ends when ``stop`` is set (noticed within POLL_SECONDS while idle).
    """
    position = max(from_position, 1)
    announced = False
    ahead: asyncio.Future[LogPage] | None = None
    try:
        while stop is None or not stop.is_set():
            if ahead is None:
                page = await store.read_all(position, page_size, type_prefix)
            else:
                page, ahead = await ahead, None
            position = page.next_position
            if not page.end_of_log:
                # Behind the head: PostgreSQL reads the next page on the other core
                # while this one is converted and sent.
                ahead = asyncio.ensure_future(store.read_all(position, page_size, type_prefix))
            if page.events:
                yield page.events
            if not page.end_of_log:
                continue
            if not announced:
                announced = True
                yield CaughtUp(position - 1)
            await head.wait_beyond(position - 1, timeout=POLL_SECONDS)
    finally:
        if ahead is not None:
            ahead.cancel()


async def follow_log(
    store: EventStore, head: LogHead, from_position: int, type_prefix: str = ""
) -> AsyncIterator[RecordedEvent | CaughtUp]:
    """Every event from ``from_position`` on, one at a time, then new ones as they commit."""
    async for item in follow_pages(store, head, from_position, type_prefix):
        if isinstance(item, CaughtUp):
            yield item
        else:
            for event in item:
                yield event
