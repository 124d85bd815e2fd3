"""Append throughput: L01 over gRPC against the Python `eventsourcing` library.

Both write comparable events (a type, a ~90-byte JSON payload, a stream and
version) to the same PostgreSQL, durably (synchronous commit on), in one run.
`eventsourcing`'s application recorder is the library's own gapless, totally
ordered log (it locks its table per insert), so both give the same guarantee.
Its recorder is synchronous (psycopg 3): its writers are threads.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

from bench.event_store import appends_per_second, stream_appends_per_second

PAYLOAD = "x" * 64


@dataclass(frozen=True)
class AppendFigure:
    writers: int
    batch: int
    l01: float  # events/s, one AppendEvents call per append
    l01_stream: float  # events/s, the same appends sent on AppendStream
    eventsourcing: float  # events/s

    @property
    def ratio(self) -> float:
        return self.best / self.eventsourcing if self.eventsourcing else float("inf")

    @property
    def best(self) -> float:
        return max(self.l01, self.l01_stream)


def _recorder(database_url: str, pool_size: int):  # type: ignore[no-untyped-def]
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    url = urlparse(database_url)
    datastore = PostgresDatastore(
        dbname=url.path.lstrip("/"),
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or "",
        pool_size=pool_size,
    )
    recorder = PostgresApplicationRecorder(datastore, events_table_name="bench_es_events")
    recorder.create_table()
    return datastore, recorder


def eventsourcing_per_second(database_url: str, writers: int, batch: int, seconds: float) -> float:
    """Events/s the `eventsourcing` recorder inserts with ``writers`` threads."""
    from eventsourcing.persistence import StoredEvent

    datastore, recorder = _recorder(database_url, pool_size=writers)
    counts = [0] * writers
    deadline = time.perf_counter() + seconds

    def writer(w: int) -> None:
        n = 0
        while time.perf_counter() < deadline:
            aggregate = uuid.uuid4()
            events = [
                StoredEvent(
                    originator_id=aggregate,
                    originator_version=v,
                    topic="bench.appended",
                    state=json.dumps({"i": v, "payload": PAYLOAD}).encode(),
                )
                for v in range(batch)
            ]
            recorder.insert_events(events)
            counts[w] += batch
            n += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    datastore.close()
    return sum(counts) / elapsed


async def compare(
    l01_target: str, database_url: str, shapes: list[tuple[int, int]], seconds: float
) -> list[AppendFigure]:
    """For each (writers, batch): L01's figures (unary, streamed), then eventsourcing's,
    back to back."""
    figures = []
    for writers, batch in shapes:
        unary = await appends_per_second(l01_target, writers, batch, seconds)
        streamed = await stream_appends_per_second(l01_target, writers, batch, seconds)
        theirs = eventsourcing_per_second(database_url, writers, batch, seconds)
        figures.append(AppendFigure(writers, batch, unary, streamed, theirs))
    return figures


SINGLE_TARGET = 5_000  # events/s, single-event appends with 8 writers
RATIO_TARGET = 3.0  # times the eventsourcing library


async def report(l01_target: str, database_url: str, seconds: float = 4) -> None:
    """Prints L01 against `eventsourcing` for single events and batches of 100."""
    print("\nL01 appends (direct gRPC) vs Python eventsourcing, same PostgreSQL, durable")
    print("  each writer waits for its append's answer before sending the next")
    for figure in await compare(
        l01_target, database_url, [(1, 1), (8, 1), (1, 100), (8, 100)], seconds
    ):
        verdict = "met" if figure.ratio >= RATIO_TARGET else "MISSED"
        print(
            f"  {figure.writers} writer(s), {figure.batch:3d}/append:"
            f" AppendEvents {figure.l01:7.0f}/s  AppendStream {figure.l01_stream:7.0f}/s"
            f"  eventsourcing {figure.eventsourcing:7.0f}/s  = {figure.ratio:4.2f}x"
            f" (target >= {RATIO_TARGET:.0f}x: {verdict})"
        )
        if (figure.writers, figure.batch) == (8, 1):
            verdict = "met" if figure.best >= SINGLE_TARGET else "MISSED"
            print(f"    single-event target >= {SINGLE_TARGET}/s with 8 writers: {verdict}")
