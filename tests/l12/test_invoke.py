"""Invoke and InvokeStream: any unary or server-streaming RPC by name, through the gateway
with the caller's own credential, the called layer's answers or error passed back unchanged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format

from agentic.nl.v1 import catalog_pb2 as pb
from agentic.nl.v1 import catalog_pb2_grpc
from services.kit import open_channel
from services.kit.auth import ApiKeyFile
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN, error_metadata, platform_code, rest_reason, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l12]

APPEND = "agentic.data.v1.EventStoreService.AppendEvents"
READ = "agentic.data.v1.EventStoreService.ReadStream"


def create_key(mesh: RunningMesh, principal: str, role: str) -> str:
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(principal, (role,), "standard")
    return key


async def until(check: Callable[[], Awaitable[httpx.Response]], status: int) -> httpx.Response:
    """A new key is accepted once the gateway re-reads its key file (within a second)."""
    for _ in range(60):
        reply = await check()
        if reply.status_code != 401:
            assert reply.status_code == status, reply.text
            return reply
        await asyncio.sleep(0.1)
    raise AssertionError("the gateway never accepted the key")


@pytest.fixture
async def client(mesh: RunningMesh) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=mesh.gateway_url, timeout=30) as client:
        yield client


def invoke(client: httpx.AsyncClient, credential: str, method: str, **arguments: Any) -> Any:
    return client.post(
        "/v1/services:invoke",
        json={"method": method, "arguments": arguments},
        headers={"authorization": f"Bearer {credential}"},
    )


async def test_invoke_calls_the_rpc_as_the_caller(
    mesh: RunningMesh, client: httpx.AsyncClient
) -> None:
    principal = f"nl-admin-{stream_name()}"
    key = create_key(mesh, principal, "admin")
    stream = stream_name("nl")
    events = [{"type": "order.placed", "data": {"sku": "A1", "qty": 2}}]
    appended = await until(
        lambda: invoke(client, key, APPEND, stream_id=stream, events=events), 200
    )
    assert appended.json()["method"] == APPEND
    assert appended.json()["result"]["last_version"] == "0"
    read = await invoke(client, key, READ, stream_id=stream)
    assert read.status_code == 200, read.text
    (event,) = read.json()["result"]["events"]
    assert event["type"] == "order.placed"
    assert event["data"] == {"sku": "A1", "qty": 2}
    # L01 recorded the caller, not the gateway or the NL layer.
    assert event["metadata"]["$principal"] == principal


async def test_a_reader_key_reads_but_may_not_append_through_invoke(
    mesh: RunningMesh, client: httpx.AsyncClient
) -> None:
    key = create_key(mesh, f"nl-reader-{stream_name()}", "reader")
    read = await until(
        lambda: invoke(client, key, "agentic.data.v1.EventStoreService.ReadAll", max_count=1), 200
    )
    assert "events" in read.json()["result"] or read.json()["result"] == {}
    refused = await invoke(client, key, APPEND, stream_id=stream_name(), events=[{"type": "a.b"}])
    assert refused.status_code == 403, refused.text
    assert rest_reason(refused.json()) == "E9403"
    assert "AppendEvents" in refused.json()["message"]


async def test_the_layers_error_comes_back_unchanged(mesh: RunningMesh) -> None:
    async with open_channel(mesh.gateway_target, token=DEV_TOKEN) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        request = pb.InvokeRequest(method="agentic.data.v1.EventStoreService.GetStream")
        request.arguments.update({"stream_id": stream_name("absent")})
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await catalog.Invoke(request)
    assert failed.value.code() == grpc.StatusCode.NOT_FOUND
    assert platform_code(failed.value) == "E1300"
    assert "stream" in (failed.value.details() or "")


async def test_the_layers_error_reaches_rest_callers_with_its_domain(
    client: httpx.AsyncClient,
) -> None:
    reply = await invoke(
        client, DEV_TOKEN, "agentic.data.v1.EventStoreService.GetStream", stream_id=stream_name()
    )
    assert reply.status_code == 404
    (info,) = [d for d in reply.json()["details"] if d["@type"].endswith("ErrorInfo")]
    assert (info["reason"], info["domain"]) == ("E1300", "data.agentic")


@pytest.mark.parametrize(
    ("method", "arguments", "status", "code", "field"),
    [
        ("agentic.data.v1.EventStoreService.Nothing", {}, 404, "E12101", "method"),
        ("", {}, 400, "E12002", "method"),
        (APPEND, {"stream_id": 5, "events": "many"}, 400, "E12102", "arguments"),
        (APPEND, {"no_such_field": 1}, 400, "E12102", "arguments"),
        ("agentic.data.v1.EventStoreService.SubscribeAll", {}, 400, "E12103", "method"),
    ],
)
async def test_bad_invocations_name_the_field(
    client: httpx.AsyncClient,
    method: str,
    arguments: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    reply = await invoke(client, DEV_TOKEN, method, **arguments)
    assert reply.status_code == status, reply.text
    assert rest_reason(reply.json()) == code
    (info,) = [d for d in reply.json()["details"] if d["@type"].endswith("ErrorInfo")]
    assert info["metadata"]["field"] == field


async def test_unauthenticated_invocations_are_refused(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/services:invoke", json={"method": READ, "arguments": {}})
    assert reply.status_code == 401
    assert rest_reason(reply.json()) == "E9401"


async def test_the_service_token_alone_invokes_nothing(mesh: RunningMesh) -> None:
    """Called directly with the mesh's service token and no caller credential, L12 refuses
    rather than act as the mesh."""
    token = (mesh.settings.home / "service_token").read_text().strip()
    async with open_channel(mesh.mesh.layer_target("l12_nl"), token=token) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        request = json_format.ParseDict(
            {"method": READ, "arguments": {"stream_id": "x"}}, pb.InvokeRequest()
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await catalog.Invoke(request)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert platform_code(refused.value) == "E12104"
    assert error_metadata(refused.value)["field"] == "authorization"


async def test_concurrent_invocations_lose_nothing(client: httpx.AsyncClient) -> None:
    stream = stream_name("nl-burst")
    replies = await asyncio.gather(
        *(
            invoke(
                client,
                DEV_TOKEN,
                APPEND,
                stream_id=stream,
                events=[{"type": "n.x", "data": {"i": i}}],
            )
            for i in range(20)
        )
    )
    assert [r.status_code for r in replies] == [200] * 20
    read = await invoke(client, DEV_TOKEN, READ, stream_id=stream)
    numbers = sorted(e["data"]["i"] for e in read.json()["result"]["events"])
    assert numbers == list(range(20))


SUBSCRIBE = "agentic.data.v1.EventStoreService.SubscribeAll"


async def appended_events(client: httpx.AsyncClient, count: int) -> str:
    """Appends ``count`` events of a type no other test uses; the type's prefix."""
    prefix = f"{stream_name('nlstream')}."
    events = [{"type": f"{prefix}tick", "data": {"i": i}} for i in range(count)]
    reply = await invoke(client, DEV_TOKEN, APPEND, stream_id=stream_name(), events=events)
    assert reply.status_code == 200, reply.text
    return prefix


async def test_invoke_stream_passes_on_each_message_of_a_server_stream(
    mesh: RunningMesh, client: httpx.AsyncClient
) -> None:
    prefix = await appended_events(client, 3)
    async with open_channel(mesh.gateway_target, token=DEV_TOKEN) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        request = pb.InvokeStreamRequest(method=SUBSCRIBE, max_messages=4)
        request.arguments.update({"type_prefix": prefix})
        messages = [m async for m in catalog.InvokeStream(request, timeout=30)]
    assert {m.method for m in messages} == {SUBSCRIBE}
    results = [json_format.MessageToDict(m.result) for m in messages]
    assert [r["event"]["data"]["i"] for r in results[:3]] == [0, 1, 2]
    assert "caught_up" in results[3]  # then the live tail, cut off by max_messages


async def test_invoke_stream_answers_rest_callers_one_json_object_a_line(
    client: httpx.AsyncClient,
) -> None:
    prefix = await appended_events(client, 2)
    reply = await client.post(
        "/v1/services:invokeStream",
        json={"method": SUBSCRIBE, "arguments": {"type_prefix": prefix}, "max_messages": 3},
        headers={"authorization": f"Bearer {DEV_TOKEN}"},
    )
    assert reply.status_code == 200, reply.text
    lines = [json.loads(line) for line in reply.text.splitlines() if line.strip()]
    assert [line["result"]["event"]["type"] for line in lines[:2]] == [f"{prefix}tick"] * 2
    assert "caught_up" in lines[2]["result"]


async def test_invoke_stream_calls_as_the_caller_whose_policy_may_refuse(
    mesh: RunningMesh, client: httpx.AsyncClient
) -> None:
    """A reader may follow the log but not an agent (WatchAgent is not among its reads): the
    gateway's refusal of L12's call, made with the reader's key, comes back unchanged."""
    key = create_key(mesh, f"nl-stream-reader-{stream_name()}", "reader")
    await until(lambda: invoke(client, key, READ, stream_id=stream_name()), 200)
    async with open_channel(mesh.gateway_target, token=key) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        request = pb.InvokeStreamRequest(method="agentic.runtime.v1.AgentService.WatchAgent")
        request.arguments.update({"name": "agents/absent"})
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in catalog.InvokeStream(request, timeout=30):
                pass
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert platform_code(refused.value) == "E9403"
    assert "WatchAgent" in (refused.value.details() or "")


@pytest.mark.parametrize(
    ("method", "max_messages", "code", "field", "says"),
    [
        (READ, 0, "E12103", "method", "Invoke"),
        ("agentic.data.v1.EventStoreService.AppendStream", 0, "E12103", "method", "directly"),
        ("agentic.data.v1.EventStoreService.Nothing", 0, "E12101", "method", "Nothing"),
        ("", 0, "E12002", "method", "method"),
        (SUBSCRIBE, -1, "E12002", "max_messages", "max_messages"),
    ],
)
async def test_bad_stream_invocations_name_the_field(
    mesh: RunningMesh, method: str, max_messages: int, code: str, field: str, says: str
) -> None:
    async with open_channel(mesh.gateway_target, token=DEV_TOKEN) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        request = pb.InvokeStreamRequest(method=method, max_messages=max_messages)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in catalog.InvokeStream(request, timeout=30):
                pass
    assert platform_code(refused.value) == code
    assert error_metadata(refused.value)["field"] == field
    assert says in (refused.value.details() or "")


async def test_invoke_names_invoke_stream_for_a_server_stream(client: httpx.AsyncClient) -> None:
    reply = await invoke(client, DEV_TOKEN, SUBSCRIBE)
    assert reply.status_code == 400
    assert "InvokeStream" in reply.json()["message"]
