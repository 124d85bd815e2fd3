"""Catch-up-then-live reading of the global log for SubscribeAll."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from services.l01_data.event_store import EventStore
from services.l01_data.events import RecordedEvent
from services.l01_data.log_head import LogHead

CATCH_UP_PAGE = 1_000
# Waiters re-read the log at least this often even without a notification.
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class CaughtUp:
    """The subscriber has seen everything up to ``position``; live events follow."""

    position: int


async def follow_log(
    store: EventStore, head: LogHead, from_position: int, type_prefix: str = ""
) -> AsyncIterator[RecordedEvent | CaughtUp]:
    """Every event from ``from_position`` on, in order, then new ones as they commit.

    Positions are gapless and visible in commit order (see event_store.py), so
    reading "from the next position" repeatedly neither skips nor repeats.
    """
    position = max(from_position, 1)
    announced = False
    while True:
        page = await store.read_all(position, CATCH_UP_PAGE, type_prefix)
        for event in page.events:
            yield event
        position = page.next_position
        if not page.end_of_log:
            continue
        if not announced:
            announced = True
            yield CaughtUp(position - 1)
        await head.wait_beyond(position - 1, timeout=POLL_SECONDS)
