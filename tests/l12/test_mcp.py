"""The MCP server driven by the mcp SDK's own client: over stdio (`agentic mcp`, as MCP
clients start it) and over streamable HTTP at /mcp through the gateway, with the caller's
credential applied by the gateway to every tool call."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client
from tokenizers import Tokenizer

from services.kit.auth import ApiKeyFile
from services.l04_models.providers.local_embedder import model_files
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN, rest_reason, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l12]

AGENTIC = Path(sys.executable).with_name("agentic")
TOOLS = {
    "search_services",
    "describe_service",
    "invoke",
    "ask",
    "confirm",
    "run_goal",
    "watch_goal",
}
MAX_TOOL_LIST_TOKENS = 1000


@asynccontextmanager
async def stdio_session(mesh: RunningMesh, credential: str) -> AsyncIterator[ClientSession]:
    server = StdioServerParameters(
        command=str(AGENTIC),
        args=["mcp", "--gateway", mesh.gateway_target],
        env={**os.environ, "AGENTIC_API_KEY": credential},
    )
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def payload(result: Any) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content.get("result", result.structured_content)
    return json.loads(result.content[0].text)


async def test_the_sdk_client_lists_and_calls_the_tools_over_stdio(mesh: RunningMesh) -> None:
    async with stdio_session(mesh, DEV_TOKEN) as session:
        tools = (await session.list_tools()).tools
        assert {tool.name for tool in tools} == TOOLS
        found = payload(
            await session.call_tool("search_services", {"query": "append events to a stream"})
        )
        methods = [match["method"] for match in found["matches"]]
        assert "agentic.data.v1.EventStoreService.AppendEvents" in methods[:3]
        described = payload(
            await session.call_tool(
                "describe_service", {"service": "agentic.data.v1.EventStoreService"}
            )
        )
        names = [m["name"] for m in described["service"]["methods"]]
        assert "agentic.data.v1.EventStoreService.ReadStream" in names
        stream = stream_name("mcp")
        appended = payload(
            await session.call_tool(
                "invoke",
                {
                    "method": "agentic.data.v1.EventStoreService.AppendEvents",
                    "arguments": {"stream_id": stream, "events": [{"type": "mcp.called"}]},
                },
            )
        )
        assert appended["result"]["last_version"] == "0"


async def test_invoke_follows_a_streaming_rpc_for_its_messages(mesh: RunningMesh) -> None:
    """SubscribeAll never ends by itself: invoke returns what came within its wait."""
    prefix = f"{stream_name('mcpstream')}."
    async with stdio_session(mesh, DEV_TOKEN) as session:
        events = [{"type": f"{prefix}tick", "data": {"i": i}} for i in range(2)]
        append = {"stream_id": stream_name(), "events": events}
        await session.call_tool(
            "invoke",
            {"method": "agentic.data.v1.EventStoreService.AppendEvents", "arguments": append},
        )
        followed = payload(
            await session.call_tool(
                "invoke",
                {
                    "method": "agentic.data.v1.EventStoreService.SubscribeAll",
                    "arguments": {"type_prefix": prefix},
                },
            )
        )
    assert [m["event"]["data"]["i"] for m in followed["messages"][:2]] == [0, 1]
    assert "caught_up" in followed["messages"][2]
    assert followed["ended"] is False  # a live subscription: cut off by the wait


async def test_a_reader_key_is_refused_a_write_through_mcp(mesh: RunningMesh) -> None:
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(
        f"mcp-reader-{stream_name()}", ("reader",), "standard"
    )
    async with stdio_session(mesh, key) as session:
        arguments = {
            "method": "agentic.data.v1.EventStoreService.AppendEvents",
            "arguments": {"stream_id": stream_name(), "events": [{"type": "a.b"}]},
        }
        for _ in range(60):  # until the gateway has read the new key file
            result = await session.call_tool("invoke", arguments)
            if "E9401" not in str(result.content):
                break
        assert result.is_error
        assert "E9403" in result.content[0].text


async def test_run_goal_submits_a_goal_to_l05_and_watch_goal_follows_it(
    mesh: RunningMesh,
) -> None:
    async with stdio_session(mesh, DEV_TOKEN) as session:
        created = payload(
            await session.call_tool(
                "run_goal", {"goal": "Write a Python function that adds two numbers."}
            )
        )
        name = created["goal"]["name"]
        assert name.startswith("goals/")
        assert created["goal"]["owner"] == "dev"  # the caller's, not the mesh's
        watched = payload(await session.call_tool("watch_goal", {"name": name}))
        versions = [int(event["version"]) for event in watched["events"]]
        assert versions and versions[0] == 0 and versions == sorted(versions)
        assert watched["next_version"] == versions[-1] + 1
        assert watched["goal"]["name"] == name
        # From where it stopped: nothing it already gave again.
        again = payload(
            await session.call_tool(
                "watch_goal",
                {"name": name, "from_version": watched["next_version"]},
            )
        )
        assert all(int(e["version"]) >= watched["next_version"] for e in again["events"])
        # Not left running on the machine: cancelled through the same credential.
        cancel = {
            "method": "agentic.planning.v1.GoalService.CancelGoal",
            "arguments": {"name": name},
        }
        await session.call_tool("invoke", cancel)


async def test_a_reader_key_is_refused_run_goal_and_watch_goal_names_the_code(
    mesh: RunningMesh,
) -> None:
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(
        f"mcp-goal-reader-{stream_name()}", ("reader",), "standard"
    )
    async with stdio_session(mesh, key) as session:
        for _ in range(60):  # until the gateway has read the new key file
            result = await session.call_tool("run_goal", {"goal": "Add two numbers."})
            if "E9401" not in str(result.content):
                break
        assert result.is_error
        assert "E9403" in result.content[0].text
        watched = await session.call_tool("watch_goal", {"name": "goals/none"})
        assert watched.is_error
        assert "E9403" in watched.content[0].text


async def test_a_tool_error_names_the_platform_code(mesh: RunningMesh) -> None:
    async with stdio_session(mesh, DEV_TOKEN) as session:
        result = await session.call_tool(
            "describe_service", {"service": "agentic.nothing.v1.Nothing"}
        )
        assert result.is_error
        assert "E12100 NOT_FOUND" in result.content[0].text


async def test_the_tool_list_stays_under_a_thousand_tokens(mesh: RunningMesh) -> None:
    """Counted with the MiniLM tokenizer (WordPiece) the L04 embedder uses, over the JSON a
    client receives: names, descriptions and input schemas."""
    files = model_files()
    assert files is not None, "the MiniLM model package ships the tokenizer"
    tokenizer = Tokenizer.from_file(str(files[1]))
    tokenizer.no_truncation()
    async with stdio_session(mesh, DEV_TOKEN) as session:
        tools = (await session.list_tools()).tools
    listed = json.dumps([tool.model_dump(mode="json", exclude_none=True) for tool in tools])
    tokens = len(tokenizer.encode(listed).ids)
    print(f"tool list: {tokens} tokens, {len(listed)} characters")
    assert 0 < tokens <= MAX_TOOL_LIST_TOKENS


@asynccontextmanager
async def http_session(mesh: RunningMesh, credential: str) -> AsyncIterator[ClientSession]:
    headers = {"authorization": f"Bearer {credential}"}
    url = f"{mesh.gateway_url}/mcp"
    async with (
        streamable_http_client(url, http_client=create_mcp_http_client(headers=headers)) as streams,
        ClientSession(streams[0], streams[1]) as session,
    ):
        await session.initialize()
        yield session


async def test_the_sdk_client_calls_the_tools_over_http_through_the_gateway(
    mesh: RunningMesh,
) -> None:
    async with http_session(mesh, DEV_TOKEN) as session:
        tools = (await session.list_tools()).tools
        assert {tool.name for tool in tools} == TOOLS
        found = payload(
            await session.call_tool("search_services", {"query": "read the events of a stream"})
        )
        methods = [match["method"] for match in found["matches"]]
        assert "agentic.data.v1.EventStoreService.ReadStream" in methods[:3]
        read = payload(
            await session.call_tool(
                "invoke",
                {
                    "method": "agentic.data.v1.EventStoreService.ReadAll",
                    "arguments": {"max_count": 1},
                },
            )
        )
        assert "events" in read["result"]


async def test_http_mcp_refuses_callers_the_gateway_refuses(mesh: RunningMesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.gateway_url, timeout=10) as client:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        headers = {"accept": "application/json, text/event-stream"}
        anonymous = await client.post("/mcp", json=body, headers=headers)
        assert anonymous.status_code == 401
        wrong = await client.post(
            "/mcp", json=body, headers={**headers, "authorization": "Bearer agk_nope_nope"}
        )
        assert wrong.status_code == 401
        assert rest_reason(wrong.json()) == "E9401"


async def test_a_reader_key_is_refused_a_write_over_http_mcp(mesh: RunningMesh) -> None:
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(
        f"mcp-http-reader-{stream_name()}", ("reader",), "standard"
    )
    for _ in range(60):  # until the gateway has read the new key file
        async with httpx.AsyncClient(base_url=mesh.gateway_url, timeout=10) as client:
            probe = await client.get("/v1/services", headers={"authorization": f"Bearer {key}"})
        if probe.status_code == 200:
            break
        await asyncio.sleep(0.1)
    async with http_session(mesh, key) as session:
        result = await session.call_tool(
            "invoke",
            {
                "method": "agentic.data.v1.EventStoreService.AppendEvents",
                "arguments": {"stream_id": stream_name(), "events": [{"type": "a.b"}]},
            },
        )
    assert result.is_error
    assert "E9403" in result.content[0].text
