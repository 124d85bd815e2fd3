"""The role index lives in L01: a restarted L13 serves at once without embedding again."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from agentic.data.v1 import event_store_pb2 as es_pb
from agentic.data.v1 import event_store_pb2_grpc as es_grpc
from agentic.roles.v1 import roles_pb2 as pb
from agentic.roles.v1 import roles_pb2_grpc as pb_grpc
from tests.conftest import RunningMesh

pytestmark = [pytest.mark.integration, pytest.mark.l13, pytest.mark.slow]

# L01 writes an audit event for every upsert into a vector collection.
INDEX_AUDIT = "$vectors:l13-roles"


async def _upserts(store: es_grpc.EventStoreServiceStub) -> int:
    """Upserts into the role index so far, from their audit events in the global log."""
    count, position = 0, 1
    while True:
        page = await store.ReadAll(
            es_pb.ReadAllRequest(from_position=position, max_count=1000, type_prefix="vectors.")
        )
        count += sum(
            e.stream_id == INDEX_AUDIT and e.type == "vectors.upserted" for e in page.events
        )
        if page.end_of_log:
            return count
        position = page.next_position


async def test_a_restart_keeps_the_index_and_embeds_nothing_again(
    mesh: RunningMesh, l01_channel: grpc.aio.Channel, gateway_channel: grpc.aio.Channel
) -> None:
    roles = pb_grpc.RoleServiceStub(gateway_channel)
    task = "k8s pod keeps restarting with CrashLoopBackOff"
    before = await roles.ClassifyTask(pb.ClassifyTaskRequest(text=task))
    store = es_grpc.EventStoreServiceStub(l01_channel)
    written = await _upserts(store)
    await asyncio.to_thread(mesh.mesh.restart_component, "l13_roles")
    after = await roles.ClassifyTask(pb.ClassifyTaskRequest(text=task))
    assert [m.name for m in after.matches] == [m.name for m in before.matches]
    assert await _upserts(store) == written, "nothing was embedded or stored again"
