"""The decision log: every decision becomes a ``decision.made`` event in the L01 stream
``supervision.decisions``, appended in batches in the background so that an answer never
waits for it. Each decision is converted to its event when recorded (a few microseconds per
answer), so that sending a batch is only serialisation and never holds the event loop while
an answer waits. Events L01 cannot take are kept and retried (up to ``capacity``); any dropped
or still unsent at shutdown are logged as errors."""

from __future__ import annotations

import asyncio
from typing import Any

from agentic.data.v1 import event_store_pb2 as ev_pb
from services.kit import PlatformError, get_logger
from services.l08_supervision.events import EventLog

log = get_logger("l08.decision_log")

STREAM = "supervision.decisions"
EVENT_TYPE = "decision.made"
BATCH = 500


class DecisionLog:
    def __init__(self, events: EventLog, capacity: int = 10_000, pause: float = 0.05) -> None:
        self._events = events
        self._capacity = capacity
        self._pause = pause
        self._pending: list[ev_pb.NewEvent] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self.dropped = 0

    def record(self, decision: dict[str, Any]) -> None:
        """Queues one decision; never blocks."""
        if len(self._pending) >= self._capacity:
            self.dropped += 1
            log.error("decision_log.dropped", dropped=self.dropped)
            return
        event = ev_pb.NewEvent(type=EVENT_TYPE)
        event.data.update(decision)
        self._pending.append(event)
        self._wake.set()

    async def run(self) -> None:
        """Appends queued decisions until stopped, then flushes what is left."""
        while not (self._stopping and not self._pending):
            if not self._pending:
                self._wake.clear()
                if self._stopping:
                    break
                await self._wake.wait()
            batch = self._pending[:BATCH]
            try:
                await self._events.append_new(STREAM, batch)
            except PlatformError as error:
                log.warning(
                    "decision_log.append_failed", error=error.message, queued=len(self._pending)
                )
                if self._stopping:
                    break
                await asyncio.sleep(1.0)
                continue
            del self._pending[: len(batch)]
            await asyncio.sleep(self._pause)  # let a batch gather
        if self._pending:
            log.error("decision_log.unsent_at_shutdown", unsent=len(self._pending))

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
