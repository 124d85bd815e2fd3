"""Committed events reach Redis: pub/sub channel events:<type> and the `events` stream."""

import asyncio
import json

import pytest

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from tests.support import new_event, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l01]


async def test_appended_events_are_published_on_their_type_channel(
    l01_channel, redis_client
) -> None:
    event_type = f"{stream_name('pub')}.done"
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(f"events:{event_type}")
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    store = event_store_pb2_grpc.EventStoreServiceStub(l01_channel)
    reply = await store.AppendEvents(
        pb.AppendEventsRequest(
            stream_id=stream_name(), events=[new_event(event_type, n=1), new_event(event_type, n=2)]
        )
    )
    received = []
    for _ in range(50):
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if message:
            received.append(json.loads(message["data"]))
        if len(received) == 2:
            break
    await pubsub.aclose()
    assert [m["id"] for m in received] == list(reply.event_ids)
    assert [m["data"]["n"] for m in received] == [1, 2]
    assert received[0]["global_position"] == reply.first_position
    assert received[0]["type"] == event_type


async def test_appended_events_are_mirrored_once_to_the_redis_stream(
    l01_channel, redis_client
) -> None:
    store = event_store_pb2_grpc.EventStoreServiceStub(l01_channel)
    reply = await store.AppendEvents(
        pb.AppendEventsRequest(stream_id=stream_name(), events=[new_event(), new_event()])
    )
    entry_id = f"{reply.last_position}-1"
    for _ in range(50):
        entries = await redis_client.xrange("events", min=f"{reply.first_position}-1", max=entry_id)
        if len(entries) == 2:
            break
        await asyncio.sleep(0.1)
    assert [json.loads(fields["event"])["id"] for _, fields in entries] == list(reply.event_ids)
