"""AppendStream: many appends over one gRPC stream, answered in the order sent.

A reader task takes requests off the stream as fast as they arrive and queues
each append for the event store's next group commit at once, so a writer with
many appends in flight shares one commit (and one fsync) between them. At most
MAX_IN_FLIGHT appends wait per stream; past that the reader stops reading and
gRPC flow control holds the client back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from agentic.data.v1 import event_store_pb2 as pb
from services.kit.errors import PlatformError, to_rpc_status
from services.l01_data import errors
from services.l01_data.log.events import AppendResult

MAX_IN_FLIGHT = 1_000

# Validates one append and queues it; a refusal is raised as a PlatformError.
Submit = Callable[[pb.AppendEventsRequest], "asyncio.Future[AppendResult]"]


def appended(result: AppendResult) -> pb.AppendEventsResponse:
    return pb.AppendEventsResponse(
        stream_id=result.stream_id,
        first_version=result.first_version,
        last_version=result.last_version,
        first_position=result.first_position,
        last_position=result.last_position,
        event_ids=[str(i) for i in result.event_ids],
    )


async def answer_appends(
    requests: AsyncIterator[pb.AppendStreamRequest], submit: Submit
) -> AsyncIterator[pb.AppendStreamResponse]:
    """One response per request, in request order, until the client stops sending."""
    in_flight: asyncio.Queue[tuple[str, asyncio.Future[AppendResult]] | None] = asyncio.Queue(
        MAX_IN_FLIGHT
    )

    async def read() -> None:
        try:
            async for request in requests:
                await in_flight.put((request.correlation_id, _submitted(submit, request)))
        finally:
            await in_flight.put(None)  # also when reading failed: the answers end there

    reader = asyncio.create_task(read())
    try:
        while (item := await in_flight.get()) is not None:
            correlation_id, outcome = item
            try:
                result = await outcome
            except PlatformError as error:
                status = to_rpc_status(error, errors.DOMAIN)
                yield pb.AppendStreamResponse(correlation_id=correlation_id, error=status)
            else:
                yield pb.AppendStreamResponse(
                    correlation_id=correlation_id, appended=appended(result)
                )
        await reader  # raises what the reader raised, if anything
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


def _submitted(submit: Submit, request: pb.AppendStreamRequest) -> asyncio.Future[AppendResult]:
    """The append's pending outcome; a request refused before queueing is a settled one."""
    try:
        if not request.HasField("append"):
            raise PlatformError(errors.INVALID_ARGUMENT, "append is required", field="append")
        return submit(request.append)
    except PlatformError as error:
        refused: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        refused.set_exception(error)
        return refused
