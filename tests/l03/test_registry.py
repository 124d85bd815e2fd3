"""The registry: built-ins, registered Python, HTTP and gRPC-method tools, search,
deprecation; the file tools and http_fetch."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import httpx
import pytest

from agentic.data.v1 import event_store_pb2 as data_pb
from agentic.data.v1 import event_store_pb2_grpc
from agentic.tools.v1 import tools_pb2 as pb
from agentic.tools.v1 import tools_pb2_grpc
from services.kit import open_channel
from services.kit.auth import ApiKeyFile
from tests.conftest import RunningMesh
from tests.l03.support import TIMEOUT, run_python, unique
from tests.support import error_metadata, platform_code, rest_reason, serve_json, struct

pytestmark = [pytest.mark.l03, pytest.mark.integration]

BUILTINS = {"python_exec", "shell", "read_file", "write_file", "list_files", "http_fetch"}


async def execute(
    tools: tools_pb2_grpc.ToolServiceStub, tool: str, arguments: dict, **fields: str
) -> pb.ExecuteResponse:
    request = pb.ExecuteRequest(name=f"tools/{tool}", arguments=struct(arguments), **fields)
    response: pb.ExecuteResponse = await tools.Execute(request, timeout=TIMEOUT)
    return response


async def register(tools: tools_pb2_grpc.ToolServiceStub, tool: pb.Tool) -> pb.RegisterToolResponse:
    response: pb.RegisterToolResponse = await tools.RegisterTool(pb.RegisterToolRequest(tool=tool))
    return response


async def test_list_has_the_builtins_with_their_schemas(rest: httpx.AsyncClient) -> None:
    body = (await rest.get("/v1/tools")).json()
    names = {tool["name"].removeprefix("tools/") for tool in body["tools"]}
    assert BUILTINS <= names
    python = (await rest.get("/v1/tools/python_exec")).json()["tool"]
    assert python["parameters"]["required"] == ["code"]
    assert python["builtin"] is True and python["kind"] == "TOOL_KIND_PYTHON"


async def test_list_pages(tools: tools_pb2_grpc.ToolServiceStub) -> None:
    first = await tools.ListTools(pb.ListToolsRequest(page_size=2))
    second = await tools.ListTools(
        pb.ListToolsRequest(page_size=2, page_token=first.next_page_token)
    )
    assert len(first.tools) == 2 and first.next_page_token
    assert not {t.name for t in first.tools} & {t.name for t in second.tools}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await tools.ListTools(pb.ListToolsRequest(page_token="not-a-token"))
    assert platform_code(caught.value) == "E3003"


async def test_a_registered_python_tool_gets_its_arguments_and_returns_a_result(
    tools: tools_pb2_grpc.ToolServiceStub,
) -> None:
    name = f"add_{uuid.uuid4().hex[:8]}"
    tool = pb.Tool(
        name=f"tools/{name}",
        description="Adds two numbers",
        kind=pb.TOOL_KIND_PYTHON,
        source=(
            "import json, sys\n"
            "args = json.load(sys.stdin)\n"
            "print(json.dumps({'sum': args['a'] + args['b']}))"
        ),
        parameters=struct(
            {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            }
        ),
        result=struct({"type": "object", "properties": {"sum": {"type": "integer"}}}),
    )
    registered = await register(tools, tool)
    assert registered.created and registered.tool.version == "1"
    result = await execute(tools, name, {"a": 2, "b": 40})
    assert result.exit_code == 0, result.stderr
    assert dict(result.result) == {"sum": 42}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await execute(tools, name, {"a": "two"})
    assert platform_code(caught.value) == "E3002"
    assert set(error_metadata(caught.value)["paths"].split(",")) == {"$.a", "$.b"}


async def test_search_finds_by_words_of_the_description(
    tools: tools_pb2_grpc.ToolServiceStub,
) -> None:
    found = await tools.SearchTools(pb.SearchToolsRequest(query="workspace file Reads"))
    assert [t.name for t in found.tools] == ["tools/read_file"]
    found = await tools.SearchTools(pb.SearchToolsRequest(query="python"))
    assert found.tools[0].name == "tools/python_exec"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await tools.SearchTools(pb.SearchToolsRequest(query="  "))
    assert platform_code(caught.value) == "E3003"


async def test_a_deprecated_tool_leaves_the_list_but_still_runs(
    tools: tools_pb2_grpc.ToolServiceStub,
) -> None:
    name = f"old_{uuid.uuid4().hex[:8]}"
    await register(
        tools,
        pb.Tool(
            name=f"tools/{name}",
            kind=pb.TOOL_KIND_PYTHON,
            source="print('still here')",
            parameters=struct({"type": "object"}),
        ),
    )
    reply = await tools.DeprecateTool(
        pb.DeprecateToolRequest(name=f"tools/{name}", message="use new_tool")
    )
    assert reply.tool.deprecated and reply.tool.deprecation_message == "use new_tool"
    listed = await tools.ListTools(pb.ListToolsRequest(page_size=200))
    assert f"tools/{name}" not in {t.name for t in listed.tools}
    listed = await tools.ListTools(pb.ListToolsRequest(page_size=200, show_deprecated=True))
    assert f"tools/{name}" in {t.name for t in listed.tools}
    assert (await execute(tools, name, {})).stdout == "still here\n"


@pytest.mark.parametrize(
    ("tool", "code", "field"),
    [
        (
            pb.Tool(name="tools/python_exec", kind=pb.TOOL_KIND_PYTHON, source="x"),
            "E3006",
            "tool.name",
        ),
        (pb.Tool(name="tools/1bad", kind=pb.TOOL_KIND_PYTHON, source="x"), "E3005", "tool.name"),
        (pb.Tool(name="tools/no_kind"), "E3005", "tool.kind"),
        (pb.Tool(name="tools/shelly", kind=pb.TOOL_KIND_SHELL), "E3005", "tool.kind"),
        (pb.Tool(name="tools/no_source", kind=pb.TOOL_KIND_PYTHON), "E3005", "tool.source"),
        (
            pb.Tool(
                name="tools/bad_schema",
                kind=pb.TOOL_KIND_PYTHON,
                source="x",
                parameters=struct({"type": "no-such-type"}),
            ),
            "E3005",
            "tool.parameters",
        ),
        (
            pb.Tool(name="tools/bad_method", kind=pb.TOOL_KIND_GRPC_METHOD, grpc_method="a.B/C"),
            "E3005",
            "tool.grpc_method",
        ),
        (
            pb.Tool(
                name="tools/streaming",
                kind=pb.TOOL_KIND_GRPC_METHOD,
                grpc_method="agentic.data.v1.EventStoreService/SubscribeAll",
            ),
            "E3005",
            "tool.grpc_method",
        ),
        (
            pb.Tool(
                name="tools/big_memory",
                kind=pb.TOOL_KIND_PYTHON,
                source="x",
                profile=pb.SandboxProfile(memory_bytes=1 << 40),
            ),
            "E3005",
            "tool.profile.memory_bytes",
        ),
    ],
    ids=[
        "builtin",
        "bad-name",
        "no-kind",
        "shell",
        "no-source",
        "bad-schema",
        "unknown-method",
        "streaming-method",
        "profile-bound",
    ],
)
async def test_bad_registrations_are_refused(
    tools: tools_pb2_grpc.ToolServiceStub, tool: pb.Tool, code: str, field: str
) -> None:
    if not tool.HasField("parameters") and tool.kind != pb.TOOL_KIND_GRPC_METHOD:
        tool.parameters.update({"type": "object"})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await register(tools, tool)
    assert platform_code(caught.value) == code
    assert error_metadata(caught.value)["field"] == field


async def _key_for(mesh: RunningMesh, principal: str, roles: tuple[str, ...]) -> str:
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(principal, roles, "internal")
    return key


async def test_a_grpc_method_tool_calls_the_layer_as_the_caller(
    mesh: RunningMesh,
    tools: tools_pb2_grpc.ToolServiceStub,
    store_via_gateway: event_store_pb2_grpc.EventStoreServiceStub,
) -> None:
    name = f"put_doc_{uuid.uuid4().hex[:8]}"
    registered = await register(
        tools,
        pb.Tool(
            name=f"tools/{name}",
            kind=pb.TOOL_KIND_GRPC_METHOD,
            grpc_method="agentic.data.v1.DocumentService/PutDocument",
        ),
    )
    # The schema a model is shown comes from the request message.
    properties = dict(registered.tool.parameters)["properties"]
    assert {"name", "content", "expectedRevision"} <= set(properties)
    principal = unique("alice")
    key = await _key_for(mesh, principal, ("tool_user",))
    collection = unique("notes")
    arguments = {
        "name": f"collections/{collection}/documents/n1",
        "content": {"text": "hello"},
    }
    marker = await store_via_gateway.AppendEvents(
        data_pb.AppendEventsRequest(
            stream_id=unique("marker"), events=[data_pb.NewEvent(type="test.marker")]
        )
    )
    since = marker.last_position
    async with open_channel(mesh.gateway_target, token=key, timeout=TIMEOUT) as channel:
        as_alice = tools_pb2_grpc.ToolServiceStub(channel)
        for _ in range(30):  # the gateway re-reads its key file within a second
            try:
                result = await execute(as_alice, name, arguments)
                break
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.UNAUTHENTICATED
                await asyncio.sleep(0.1)
    assert result.exit_code == 0, result.stderr
    assert dict(result.result)["document"]["revision"] == "1"
    page = await store_via_gateway.ReadAll(
        data_pb.ReadAllRequest(from_position=since, type_prefix="$document.", max_count=1000)
    )
    audit = [e for e in page.events if e.stream_id == f"$documents:{collection}"]
    assert audit[0].metadata["$principal"] == principal
    # A failing call is still an answer: the gRPC status code is the exit code.
    again = await execute(tools, name, {**arguments, "expectedRevision": "7"})
    assert again.exit_code == grpc.StatusCode.ABORTED.value[0]
    assert "E1101" in again.stderr


async def test_a_role_without_tools_cannot_execute(mesh: RunningMesh) -> None:
    key = await _key_for(mesh, unique("bob"), ("reader",))
    async with httpx.AsyncClient(base_url=mesh.gateway_url) as client:
        for _ in range(30):
            response = await client.post(
                "/v1/tools/python_exec:execute",
                json={"arguments": {"code": "print(1)"}},
                headers={"authorization": f"Bearer {key}"},
            )
            if response.status_code != 401:
                break
            await asyncio.sleep(0.1)
        assert response.status_code == 403
        listed = await client.get("/v1/tools", headers={"authorization": f"Bearer {key}"})
        assert listed.status_code == 200


async def test_http_fetch_is_refused_unless_the_profile_allows_the_host(
    tools: tools_pb2_grpc.ToolServiceStub,
) -> None:
    server = serve_json(b'{"hello": "world"}')
    port = server.server_address[1]
    try:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await execute(tools, "http_fetch", {"url": f"http://127.0.0.1:{port}/x"})
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert platform_code(caught.value) == "E3010"
        name = f"fetch_{uuid.uuid4().hex[:8]}"
        await register(
            tools,
            pb.Tool(
                name=f"tools/{name}",
                kind=pb.TOOL_KIND_HTTP_FETCH,
                parameters=struct(
                    {
                        "type": "object",
                        "properties": {"url": {"type": "string"}},
                        "required": ["url"],
                    }
                ),
                profile=pb.SandboxProfile(allowed_hosts=[f"127.0.0.1:{port}"]),
            ),
        )
        fetched = await execute(tools, name, {"url": f"http://127.0.0.1:{port}/x"})
        assert (fetched.exit_code, fetched.stdout) == (0, '{"hello": "world"}')
        assert fetched.result["status"] == 200
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await execute(tools, name, {"url": f"http://127.0.0.1:{port + 1}/x"})
        assert platform_code(caught.value) == "E3010"
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await execute(tools, name, {"url": "file:///etc/passwd"})
        assert platform_code(caught.value) == "E3002"
    finally:
        server.shutdown()


async def test_file_tools_share_the_workspace_with_code(
    tools: tools_pb2_grpc.ToolServiceStub,
) -> None:
    workspace = unique("ws")
    written = await execute(
        tools, "write_file", {"path": "notes/a.txt", "content": "alpha"}, workspace=workspace
    )
    assert dict(written.result) == {"path": "notes/a.txt", "bytes_written": 5}
    seen = await run_python(tools, "print(open('notes/a.txt').read())", workspace=workspace)
    assert seen.stdout == "alpha\n"
    await run_python(tools, "open('b.txt', 'w').write('beta')", workspace=workspace)
    read = await execute(tools, "read_file", {"path": "b.txt"}, workspace=workspace)
    assert (read.stdout, read.result["size"]) == ("beta", 4)
    listed = await execute(tools, "list_files", {}, workspace=workspace)
    paths = [entry["path"] for entry in listed.result["entries"]]
    assert paths == ["b.txt", "notes", "notes/a.txt"]
    missing = await execute(tools, "read_file", {"path": "nope.txt"}, workspace=workspace)
    assert missing.exit_code == 1 and "no such file" in missing.stderr


async def test_a_workspace_belongs_to_its_caller(
    mesh: RunningMesh, tools: tools_pb2_grpc.ToolServiceStub
) -> None:
    workspace = unique("ws")
    await execute(tools, "write_file", {"path": "mine.txt", "content": "x"}, workspace=workspace)
    key = await _key_for(mesh, unique("carol"), ("tool_user",))
    async with open_channel(mesh.gateway_target, token=key, timeout=TIMEOUT) as channel:
        as_carol = tools_pb2_grpc.ToolServiceStub(channel)
        for _ in range(30):
            try:
                listed = await execute(as_carol, "list_files", {}, workspace=workspace)
                break
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.UNAUTHENTICATED
                await asyncio.sleep(0.1)
    assert list(listed.result["entries"]) == []


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "link/passwd"])
async def test_file_tools_do_not_leave_the_workspace(
    tools: tools_pb2_grpc.ToolServiceStub, path: str
) -> None:
    workspace = unique("ws")
    await run_python(tools, "import os; os.symlink('/etc', 'link')", workspace=workspace)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await execute(tools, "read_file", {"path": path}, workspace=workspace)
    assert platform_code(caught.value) == "E3011"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await execute(tools, "write_file", {"path": path, "content": "x"}, workspace=workspace)
    assert platform_code(caught.value) == "E3011"


async def test_rest_registration_and_unknown_tool(rest: httpx.AsyncClient) -> None:
    name = f"rest_{uuid.uuid4().hex[:8]}"
    response = await rest.post(
        "/v1/tools",
        json={
            "name": f"tools/{name}",
            "kind": "TOOL_KIND_PYTHON",
            "source": "print('hi')",
            "parameters": {"type": "object"},
        },
    )
    assert response.status_code == 200, response.text
    ran = await rest.post(f"/v1/tools/{name}:execute", json={"arguments": {}})
    assert ran.json()["stdout"] == "hi\n"
    missing = await rest.post("/v1/tools/never_registered:deprecate", json={})
    assert missing.status_code == 404 and rest_reason(missing.json()) == "E3001"
    # A name that cannot be a tool's (nor an L01 document id) is the caller's error, not L03's.
    unnameable = await rest.post("/v1/tools/-x:deprecate", json={})
    assert unnameable.status_code == 400, unnameable.text
    nul = await rest.post(f"/v1/tools/{name}:deprecate", json={"message": "a\u0000b"})
    assert nul.status_code == 400 and "message" in nul.json()["message"], nul.text
