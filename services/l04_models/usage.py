"""Usage and cost: counters in Redis (GetUsage, budgets) and events in L01.

Recording never delays an answer: records queue in memory and a background task writes
them in batches: Redis counters every ``flush_seconds`` (budgets read them, so they stay
close to current), events less often, one AppendEvents per batch to the L01 stream
``models.usage`` (event type ``model.usage_recorded``), so an L01 commit is not paid per
answer. While L01 is unreachable the events are kept and retried, up to a bound; what is
dropped at that bound or still unsent at shutdown is logged as an error with its count.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis
import structlog

from services.l04_models.conversation import Usage
from services.l04_models.limits import budget_key
from services.l04_models.tenancy import agent_owner

log = structlog.get_logger("l04.usage")

USAGE_STREAM = "models.usage"
EVENT_TYPE = "model.usage_recorded"
MAX_PENDING_EVENTS = 10_000
EVENTS_PER_APPEND = 1_000

# Appends events (dicts) to the stream; raises when L01 cannot be reached.
EventSink = Callable[[str, list[dict[str, Any]]], Awaitable[None]]


@dataclass(frozen=True)
class UsageRecord:
    model: str
    provider: str
    usage: Usage
    agent_id: str
    tenant_id: str
    cached: bool
    latency_ms: float

    def event(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "provider": self.provider,
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "cost_usd": self.usage.cost_usd,
            "agent_id": self.agent_id,
            "tenant_id": self.tenant_id,
            "cached": self.cached,
            "latency_ms": round(self.latency_ms, 3),
        }


def usage_key(scope: str, owner: str = "") -> str:
    return f"l04:usage:{scope}:{owner}" if owner else f"l04:usage:{scope}"


class UsageRecorder:
    def __init__(
        self, client: redis.Redis, sink: EventSink | None, flush_seconds: float = 0.2,
        event_seconds: float = 1.0,
    ) -> None:  # fmt: skip
        self._redis = client
        self._sink = sink
        self._flush_seconds = flush_seconds
        self._event_seconds = event_seconds
        self._queue: list[UsageRecord] = []
        self._unsent: list[dict[str, Any]] = []
        self._stopping = asyncio.Event()

    def record(self, record: UsageRecord) -> None:
        self._queue.append(record)

    async def run(self) -> None:
        """Flushes until stop(), then once more: stopping never interrupts a flush."""
        loop = asyncio.get_running_loop()
        events_due = loop.time() + self._event_seconds
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._flush_seconds):
                    await self._stopping.wait()
            send_events = self._stopping.is_set() or loop.time() >= events_due
            if send_events:
                events_due = loop.time() + self._event_seconds
            try:
                await self.flush(send_events=send_events)
            except Exception:  # the recorder must outlive any one failure
                log.exception("usage.flush_failed")

    async def flush(self, *, send_events: bool = True) -> None:
        batch, self._queue = self._queue, []
        if batch:
            # Pending first: a flush cancelled while counting still leaves the events to send.
            self._unsent += [r.event() for r in batch]
            if len(self._unsent) > MAX_PENDING_EVENTS:
                dropped = len(self._unsent) - MAX_PENDING_EVENTS
                log.error("usage.events_dropped", dropped=dropped)
                self._unsent = self._unsent[dropped:]
            try:
                await self._count(batch)
            except redis.RedisError as error:
                log.warning("usage.redis_failed", error=str(error), records=len(batch))
        if send_events and self._unsent and self._sink is not None:
            events, self._unsent = self._unsent, []
            sent = 0
            try:
                while sent < len(events):
                    await self._sink(USAGE_STREAM, events[sent : sent + EVENTS_PER_APPEND])
                    sent += EVENTS_PER_APPEND
            except Exception as error:
                log.warning("usage.l01_failed", error=str(error), events=len(events) - sent)
            finally:  # what was not sent (failed or cancelled) waits for the next flush
                self._unsent = events[sent:] + self._unsent

    async def _count(self, batch: list[UsageRecord]) -> None:
        # Summed per key and field first: one HINCRBY per counter per flush, however busy.
        totals: dict[tuple[str, str], float] = defaultdict(float)
        for record in batch:
            keys = [usage_key("all")]
            agent = agent_owner(record.tenant_id, record.agent_id)
            for scope, owner in (("agent", agent), ("tenant", record.tenant_id)):
                if owner:
                    keys.append(usage_key(scope, owner))
                    _spend(totals, budget_key(scope, owner), record.usage)
            for key in keys:
                _count(totals, key, record)
        async with self._redis.pipeline(transaction=False) as pipe:
            for (key, name), amount in totals.items():
                if name.endswith("cost_usd") or name == "spent_usd":
                    pipe.hincrbyfloat(key, name, amount)
                else:
                    pipe.hincrby(key, name, int(amount))
            await pipe.execute()

    def stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.flush()
        if self._unsent:
            log.error("usage.events_lost", events=len(self._unsent), stream=USAGE_STREAM)


def _spend(totals: dict[tuple[str, str], float], key: str, usage: Usage) -> None:
    totals[key, "spent_tokens"] += usage.total_tokens
    totals[key, "spent_usd"] += usage.cost_usd


def _count(totals: dict[tuple[str, str], float], key: str, record: UsageRecord) -> None:
    if record.cached:
        totals[key, "cache_hits"] += 1
        return
    usage = record.usage
    for prefix in ("", f"model:{record.model}:"):
        totals[key, f"{prefix}requests"] += 1
        totals[key, f"{prefix}input_tokens"] += usage.input_tokens
        totals[key, f"{prefix}output_tokens"] += usage.output_tokens
        totals[key, f"{prefix}cost_usd"] += usage.cost_usd


@dataclass(frozen=True)
class UsageReport:
    total: Usage
    requests: int
    cache_hits: int
    models: dict[str, tuple[int, Usage]]


async def read_usage(client: redis.Redis, scope: str, owner: str = "") -> UsageReport:
    raw = await client.hgetall(usage_key(scope, owner))
    fields = {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in raw.items()}

    def usage(prefix: str) -> Usage:
        return Usage(
            int(fields.get(f"{prefix}input_tokens", 0)),
            int(fields.get(f"{prefix}output_tokens", 0)),
            fields.get(f"{prefix}cost_usd", 0.0),
        )

    models = {
        name.removeprefix("model:").removesuffix(":requests")
        for name in fields
        if name.startswith("model:") and name.endswith(":requests")
    }
    return UsageReport(
        total=usage(""),
        requests=int(fields.get("requests", 0)),
        cache_hits=int(fields.get("cache_hits", 0)),
        models={
            m: (int(fields.get(f"model:{m}:requests", 0)), usage(f"model:{m}:")) for m in models
        },
    )
