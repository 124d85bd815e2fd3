"""Executing tools: REST and gRPC through Envoy, validation before anything runs,
idempotent retries, streaming, cancel, and the event each execution leaves in L01."""

from __future__ import annotations

import asyncio
import json

import grpc
import httpx
import pytest

from agentic.data.v1 import event_store_pb2_grpc
from agentic.tools.v1 import tools_pb2 as pb
from agentic.tools.v1 import tools_pb2_grpc
from tests.l03.support import TIMEOUT, executed_events, run_python, unique
from tests.support import error_metadata, platform_code, rest_reason, struct

pytestmark = [pytest.mark.l03, pytest.mark.integration]


async def test_rest_example_prints_four(rest: httpx.AsyncClient) -> None:
    response = await rest.post(
        "/v1/tools/python_exec:execute", json={"arguments": {"code": "print(2+2)"}}, timeout=30
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["stdout"] == "4\n", body
    assert body.get("exit_code", 0) == 0  # proto3 JSON leaves zero values out
    assert body.get("limit", "") == ""
    assert body["tool"] == "tools/python_exec"
    assert body["duration"].endswith("s")


async def test_a_failing_program_is_still_an_answer(rest: httpx.AsyncClient) -> None:
    response = await rest.post(
        "/v1/tools/python_exec:execute",
        json={"arguments": {"code": "import sys; print('bad', file=sys.stderr); sys.exit(3)"}},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json()["exit_code"] == 3
    assert response.json()["stderr"] == "bad\n"


async def test_schema_violations_list_every_path_and_nothing_runs(
    rest: httpx.AsyncClient,
) -> None:
    response = await rest.post(
        "/v1/tools/python_exec:execute",
        json={"arguments": {"stdin": 5, "extra": True}},
        timeout=30,
    )
    assert response.status_code == 400
    body = response.json()
    assert rest_reason(body) == "E3002"
    info = next(d for d in body["details"] if d["@type"].endswith("ErrorInfo"))
    assert set(info["metadata"]["paths"].split(",")) == {"$.code", "$.stdin", "$.extra"}
    for path in ("$.code", "$.stdin", "$.extra"):
        assert path in body["message"]


async def test_a_wrong_type_is_named_by_its_path(tools: tools_pb2_grpc.ToolServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await tools.Execute(
            pb.ExecuteRequest(name="tools/shell", arguments=struct({"argv": ["ls", 7]}))
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(caught.value) == "E3002"
    assert error_metadata(caught.value)["paths"] == "$.argv[1]"


async def test_unknown_tool_is_404_e3001(rest: httpx.AsyncClient) -> None:
    response = await rest.post("/v1/tools/no_such_tool:execute", json={"arguments": {}})
    assert response.status_code == 404
    assert rest_reason(response.json()) == "E3001"
    response = await rest.get("/v1/tools/no_such_tool")
    assert response.status_code == 404
    assert rest_reason(response.json()) == "E3001"


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"name": "python_exec"}, "name", "E3003"),
        ({"name": "tools/python_exec", "workspace": "../up"}, "workspace", "E3003"),
        ({"name": "tools/python_exec", "execution_id": "a/b"}, "execution_id", "E3003"),
        ({"name": "tools/python_exec", "idempotency_key": "k" * 257}, "idempotency_key", "E3003"),
        ({"name": "tools/python_exec", "code": "x" * 100_001}, "arguments.code", "E3002"),
        ({"name": "tools/python_exec", "code": ""}, "arguments.code", "E3002"),
    ],
    ids=["bare-name", "workspace-escape", "execution-id", "long-key", "huge-code", "empty-code"],
)
async def test_bad_input_is_refused_naming_the_field(
    tools: tools_pb2_grpc.ToolServiceStub, fields: dict, field: str, code: str
) -> None:
    fields = dict(fields)
    source = fields.pop("code", "print(1)")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await tools.Execute(
            pb.ExecuteRequest(arguments=struct({"code": source}), **fields), timeout=TIMEOUT
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(caught.value) == code
    assert error_metadata(caught.value)["field"] == field


async def test_unauthenticated_calls_are_refused(mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.gateway_url) as client:
        response = await client.post(
            "/v1/tools/python_exec:execute", json={"arguments": {"code": "print(1)"}}
        )
    assert response.status_code == 401


async def test_malformed_json_is_400(rest: httpx.AsyncClient) -> None:
    response = await rest.post(
        "/v1/tools/python_exec:execute",
        content=b'{"arguments": {"code": ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400


async def test_an_idempotent_retry_returns_the_first_result_and_runs_once(
    tools: tools_pb2_grpc.ToolServiceStub,
    store_via_gateway: event_store_pb2_grpc.EventStoreServiceStub,
) -> None:
    workspace, key = unique("ws"), unique("key")
    code = "open('runs.txt', 'a').write('ran\\n'); print(open('runs.txt').read().count('ran'))"
    first = await run_python(tools, code, workspace=workspace, idempotency_key=key)
    again = await run_python(tools, code, workspace=workspace, idempotency_key=key)
    assert (first.stdout, first.replayed) == ("1\n", False)
    assert (again.stdout, again.replayed, again.execution) == ("1\n", True, first.execution)
    count = await run_python(
        tools, "print(open('runs.txt').read().count('ran'))", workspace=workspace
    )
    assert count.stdout == "1\n"
    assert len(await executed_events(store_via_gateway, "python_exec", first.execution)) == 1


async def test_concurrent_calls_with_one_key_run_once(
    tools: tools_pb2_grpc.ToolServiceStub,
) -> None:
    workspace, key = unique("ws"), unique("key")
    code = "import time; open('runs.txt', 'a').write('ran\\n'); time.sleep(0.5)"
    results = await asyncio.gather(
        *(run_python(tools, code, workspace=workspace, idempotency_key=key) for _ in range(4))
    )
    assert len({r.execution for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    count = await run_python(
        tools, "print(open('runs.txt').read().count('ran'))", workspace=workspace
    )
    assert count.stdout == "1\n"


async def test_a_key_reused_for_other_arguments_is_a_conflict(
    tools: tools_pb2_grpc.ToolServiceStub,
) -> None:
    key = unique("key")
    await run_python(tools, "print(1)", idempotency_key=key)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_python(tools, "print(2)", idempotency_key=key)
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert platform_code(caught.value) == "E3008"


async def test_each_execution_is_an_event_without_arguments(
    tools: tools_pb2_grpc.ToolServiceStub,
    store_via_gateway: event_store_pb2_grpc.EventStoreServiceStub,
) -> None:
    result = await run_python(tools, "print('secret-value')")
    events = await executed_events(store_via_gateway, "python_exec", result.execution)
    assert len(events) == 1
    data = dict(events[0].data)
    assert events[0].type == "tool.executed"
    assert data["tool"] == "python_exec" and data["exit_code"] == 0 and data["limit"] == ""
    assert data["principal"] == "dev" and data["duration_ms"] > 0
    assert "secret-value" not in str(events[0])


async def test_output_streams_before_the_result(tools: tools_pb2_grpc.ToolServiceStub) -> None:
    code = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.2)"
    request = pb.ExecuteRequest(name="tools/python_exec", arguments=struct({"code": code}))
    messages = [
        m
        async for m in tools.ExecuteStream(
            pb.ExecuteStreamRequest(request=request), timeout=TIMEOUT
        )
    ]
    kinds = [m.WhichOneof("event") for m in messages]
    assert kinds[0] == "started" and kinds[-1] == "result"
    assert kinds.count("stdout") >= 2  # printed lines arrive as they are produced
    assert "".join(m.stdout for m in messages if m.WhichOneof("event") == "stdout") == "0\n1\n2\n"
    assert messages[-1].result.stdout == "0\n1\n2\n"
    assert messages[-1].result.execution == messages[0].started


async def test_cancel_kills_a_running_execution(tools: tools_pb2_grpc.ToolServiceStub) -> None:
    code = "import time\nprint('started', flush=True)\ntime.sleep(60)"
    request = pb.ExecuteRequest(name="tools/python_exec", arguments=struct({"code": code}))
    stream = tools.ExecuteStream(pb.ExecuteStreamRequest(request=request), timeout=TIMEOUT)
    result = None
    async for message in stream:
        if message.WhichOneof("event") == "started":
            started = message.started
        if message.WhichOneof("event") == "stdout":
            reply = await tools.CancelExecution(pb.CancelExecutionRequest(name=started))
            assert reply.cancelled
        if message.WhichOneof("event") == "result":
            result = message.result
    assert result is not None
    assert result.limit == "cancelled"
    assert result.stdout == "started\n"
    assert result.duration.seconds < 10


async def test_cancel_with_a_chosen_id_from_another_call(
    tools: tools_pb2_grpc.ToolServiceStub,
) -> None:
    execution_id = unique("exec")
    running = asyncio.create_task(
        run_python(tools, "import time; time.sleep(60)", execution_id=execution_id)
    )
    for _ in range(100):
        try:
            await tools.CancelExecution(
                pb.CancelExecutionRequest(name=f"executions/{execution_id}")
            )
            break
        except grpc.aio.AioRpcError as error:
            assert platform_code(error) == "E3009"  # not started yet
            await asyncio.sleep(0.05)
    result = await running
    assert (result.limit, result.execution) == ("cancelled", f"executions/{execution_id}")


async def test_cancelling_an_unknown_execution_is_404(rest: httpx.AsyncClient) -> None:
    response = await rest.post("/v1/executions/nothing-here:cancel", json={})
    assert response.status_code == 404
    assert rest_reason(response.json()) == "E3009"


async def test_rest_streaming_answers_ndjson(rest: httpx.AsyncClient) -> None:
    response = await rest.post(
        "/v1/tools:executeStream",
        json={"request": {"name": "tools/python_exec", "arguments": {"code": "print('hi')"}}},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    assert lines[0]["started"].startswith("executions/")
    assert lines[-1]["result"]["stdout"] == "hi\n"
