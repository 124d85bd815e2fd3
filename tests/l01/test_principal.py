"""The principal L01 records (on events, on the audit events of documents, vectors, snapshots
and consumer groups) is the authenticated caller's, never one a request carries: not a
``$principal`` in an event's metadata, nor identity headers from anyone but the gateway.

Three ways in, each with forged headers and a forged ``$principal`` in the body: directly with
a dev token (the layer's own key: the headers are ignored), directly with the service token
(the gateway's: it names the caller in those headers, and they are believed), and through
the gateway with an API key (the gateway overwrites the headers with the key's caller)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import grpc
import pytest

from agentic.data.v1 import (
    documents_pb2,
    documents_pb2_grpc,
    event_store_pb2_grpc,
    snapshots_pb2,
    snapshots_pb2_grpc,
    subscriptions_pb2,
    subscriptions_pb2_grpc,
    vectors_pb2,
    vectors_pb2_grpc,
)
from agentic.data.v1 import event_store_pb2 as pb
from services.kit import open_channel
from services.kit.auth import ApiKeyFile
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN, stream_name, struct

pytestmark = [pytest.mark.integration, pytest.mark.l01]

FORGED = (
    ("x-agentic-principal", "mallory"),
    ("x-agentic-roles", "admin"),
    ("x-agentic-tenant", "mallory-inc"),
)


@dataclass(frozen=True)
class Way:
    target: str
    token: str
    headers: tuple[tuple[str, str], ...]
    principal: str  # what L01 must record


async def _way(mesh: RunningMesh, kind: str) -> Way:
    if kind == "dev token":
        return Way(mesh.l01_target, DEV_TOKEN, FORGED, "dev")
    if kind == "service token":
        token = (mesh.settings.home / "service_token").read_text().strip()
        forwarded = (("x-agentic-principal", "alice@example.com"),)
        return Way(mesh.l01_target, token, forwarded, "alice@example.com")
    principal = f"key-{uuid.uuid4().hex[:6]}@example.com"
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(principal, ("admin",), "standard")
    async with open_channel(mesh.gateway_target, token=key) as channel:
        store = event_store_pb2_grpc.EventStoreServiceStub(channel)
        for _ in range(50):  # the gateway re-reads the key file within a second
            try:
                await store.ReadAll(pb.ReadAllRequest(max_count=1))
                break
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.UNAUTHENTICATED
                await asyncio.sleep(0.1)
    return Way(mesh.gateway_target, key, FORGED, principal)


def _forged_event(event_type: str = "test.happened") -> pb.NewEvent:
    return pb.NewEvent(type=event_type, metadata=struct({"$principal": "mallory", "by": "x"}))


@pytest.mark.parametrize("kind", ["dev token", "service token", "api key via the gateway"])
async def test_the_recorded_principal_is_the_authenticated_callers(
    kind: str, mesh: RunningMesh, l01_channel: grpc.aio.Channel
) -> None:
    way = await _way(mesh, kind)
    reader = event_store_pb2_grpc.EventStoreServiceStub(l01_channel)
    stream, names = stream_name(), uuid.uuid4().hex[:10]
    async with open_channel(way.target, token=way.token) as channel:
        store = event_store_pb2_grpc.EventStoreServiceStub(channel)
        headers = list(way.headers)
        first = await store.AppendEvents(
            pb.AppendEventsRequest(stream_id=stream, events=[_forged_event()]), metadata=headers
        )
        appends = store.AppendStream(metadata=headers)
        await appends.write(
            pb.AppendStreamRequest(
                correlation_id="1",
                append=pb.AppendEventsRequest(stream_id=stream, events=[_forged_event()]),
            )
        )
        assert (await appends.read()).HasField("appended")
        await appends.done_writing()
        documents = documents_pb2_grpc.DocumentServiceStub(channel)
        await documents.PutDocument(
            documents_pb2.PutDocumentRequest(
                name=f"collections/c-{names}/documents/d1",
                content=struct({"$principal": "mallory"}),
            ),
            metadata=headers,
        )
        vectors = vectors_pb2_grpc.VectorServiceStub(channel)
        await vectors.CreateCollection(
            vectors_pb2.CreateCollectionRequest(
                collection_id=f"v-{names}",
                collection=vectors_pb2.VectorCollection(
                    dimension=2, distance=vectors_pb2.DISTANCE_L2
                ),
            ),
            metadata=headers,
        )
        await vectors.UpsertVectors(
            vectors_pb2.UpsertVectorsRequest(
                parent=f"vectorCollections/v-{names}",
                vectors=[
                    vectors_pb2.Vector(
                        id="a", values=[1, 2], metadata=struct({"$principal": "mallory"})
                    )
                ],
            ),
            metadata=headers,
        )
        await snapshots_pb2_grpc.SnapshotServiceStub(channel).SaveSnapshot(
            snapshots_pb2.SaveSnapshotRequest(stream_id=stream, version=0, state=struct({})),
            metadata=headers,
        )
        groups = subscriptions_pb2_grpc.ConsumerGroupServiceStub(channel)
        await groups.CreateConsumerGroup(
            subscriptions_pb2.CreateConsumerGroupRequest(group_id=f"g-{names}"),
            metadata=headers,
        )
    page = await reader.ReadAll(
        pb.ReadAllRequest(from_position=first.first_position, max_count=1000)
    )
    mine = [e for e in page.events if e.stream_id == stream]
    audits = [
        e
        for e in page.events
        if e.stream_id in (f"$documents:c-{names}", f"$vectors:v-{names}")
        or (e.stream_id == "$snapshots" and e.data["stream_id"] == stream)
        or (e.stream_id == "$groups" and e.data["group_id"] == f"g-{names}")
    ]
    assert len(mine) == 2
    for event in mine:
        assert event.metadata["$principal"] == way.principal
        assert event.metadata["by"] == "x", "the rest of the client's metadata is kept"
    assert {e.stream_id for e in audits} == {
        f"$documents:c-{names}", f"$vectors:v-{names}", "$snapshots", "$groups"
    }  # fmt: skip
    assert len(audits) == 5  # the vector collection's creation and upsert
    for audit in audits:
        assert audit.metadata["$principal"] == way.principal, audit.type
