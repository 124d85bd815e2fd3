"""The Connect protocol at the gateway: unary and server streaming, binary and JSON, beside
gRPC, gRPC-Web and REST, authenticated the same way.

Binary calls go through ``buf curl`` (its default protocol is Connect; it learns the schema by
reflection). ``buf curl`` has no JSON codec option, so JSON calls are written here as Connect's
protocol defines them (https://connectrpc.com/docs/protocol): plain HTTP with httpx, unary as a
JSON body, streams as enveloped JSON messages.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import httpx
import pytest
from google.rpc import error_details_pb2

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from services.kit import open_channel
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN, buf_curl, jwt_for, new_event, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l09]

AUTH = f"authorization: Bearer {DEV_TOKEN}"
CONNECT = {"connect-protocol-version": "1"}
READ_STREAM = "/agentic.data.v1.EventStoreService/ReadStream"
EXECUTE_STREAM = "/agentic.tools.v1.ToolService/ExecuteStream"
PRINT_42 = {"request": {"name": "tools/python_exec", "arguments": {"code": "print(6*7)"}}}
END_STREAM = 0x02


async def _stream_with_one_event(mesh: RunningMesh) -> str:
    stream = stream_name("connect")
    async with open_channel(mesh.gateway_target, token=DEV_TOKEN) as channel:
        store = event_store_pb2_grpc.EventStoreServiceStub(channel)
        await store.AppendEvents(
            pb.AppendEventsRequest(stream_id=stream, events=[new_event("connect.tried", n=7)])
        )
    return stream


def _envelope(message: dict[str, Any]) -> bytes:
    data = json.dumps(message).encode()
    return b"\0" + struct.pack(">I", len(data)) + data


def _unenvelope(body: bytes) -> list[tuple[int, dict[str, Any]]]:
    frames, at = [], 0
    while at < len(body):
        flags, size = body[at], struct.unpack(">I", body[at + 1 : at + 5])[0]
        frames.append((flags, json.loads(body[at + 5 : at + 5 + size])))
        at += 5 + size
    return frames


def _error_reason(error: dict[str, Any]) -> str:
    """The E-code of a Connect error's ErrorInfo detail (base64 without padding)."""
    for detail in error.get("details", []):
        if detail["type"] == "type.googleapis.com/google.rpc.ErrorInfo":
            value = detail["value"] + "=" * (-len(detail["value"]) % 4)
            return error_details_pb2.ErrorInfo.FromString(base64.b64decode(value)).reason
    raise AssertionError(f"no ErrorInfo in {error}")


async def test_buf_curl_unary_call_binary(mesh: RunningMesh) -> None:
    stream = await _stream_with_one_event(mesh)
    result = await buf_curl(
        "-H", AUTH, "--reflect-header", "*", "-d", json.dumps({"stream_id": stream}),
        f"{mesh.gateway_url}{READ_STREAM}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [event] = json.loads(result.stdout)["events"]
    assert event["type"] == "connect.tried" and event["data"] == {"n": 7}


async def test_buf_curl_server_stream_binary(mesh: RunningMesh) -> None:
    result = await buf_curl(
        "-H", AUTH, "--reflect-header", "*", "-d", json.dumps(PRINT_42),
        f"{mesh.gateway_url}{EXECUTE_STREAM}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    messages = [json.loads(part) for part in result.stdout.replace("}\n{", "}\0{").split("\0")]
    assert "started" in messages[0]
    assert {"stdout": "42\n"} in messages
    assert messages[-1]["result"]["stdout"] == "42\n"


async def test_buf_curl_gets_a_layer_error_as_a_connect_error(mesh: RunningMesh) -> None:
    result = await buf_curl(
        "-H", AUTH, "--reflect-header", "*", "-d", '{"max_count": 5000}',
        f"{mesh.gateway_url}/agentic.data.v1.EventStoreService/ReadAll",
    )  # fmt: skip
    assert result.returncode != 0
    error = json.loads(result.stderr)
    assert error["code"] == "invalid_argument"
    assert error["message"].startswith("E1002") and "max_count" in error["message"]
    assert _error_reason(error) == "E1002"


async def test_buf_curl_without_credentials_is_unauthenticated(mesh: RunningMesh) -> None:
    """The local contracts as schema: reflection itself would be refused first."""
    result = await buf_curl(
        "--schema",
        "proto",
        "-d",
        "{}",
        f"{mesh.gateway_url}/agentic.data.v1.EventStoreService/ReadAll",
    )
    assert result.returncode != 0
    error = json.loads(result.stderr)
    assert error["code"] == "unauthenticated" and "missing credentials" in error["message"]
    assert _error_reason(error) == "E9401"


async def test_json_unary_call(rest: httpx.AsyncClient, mesh: RunningMesh) -> None:
    stream = await _stream_with_one_event(mesh)
    response = await rest.post(READ_STREAM, json={"streamId": stream}, headers=CONNECT)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    [event] = response.json()["events"]
    assert event["streamId"] == stream and event["data"] == {"n": 7}


async def test_json_server_stream(rest: httpx.AsyncClient) -> None:
    response = await rest.post(
        EXECUTE_STREAM,
        content=_envelope(PRINT_42),
        headers={**CONNECT, "content-type": "application/connect+json"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/connect+json"
    frames = _unenvelope(response.content)
    assert frames[-1] == (END_STREAM, {})  # the end of the stream, without error
    messages = [message for flags, message in frames[:-1]]
    assert all(flags == 0 for flags, _ in frames[:-1])
    assert "started" in messages[0] and messages[-1]["result"]["stdout"] == "42\n"


async def test_json_layer_error_is_a_connect_error(rest: httpx.AsyncClient) -> None:
    response = await rest.post(
        "/agentic.data.v1.EventStoreService/ReadAll", json={"maxCount": 5000}, headers=CONNECT
    )
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "invalid_argument" and error["message"].startswith("E1002")
    assert _error_reason(error) == "E1002"


async def test_json_that_is_not_the_request_type_is_refused_naming_the_field(
    rest: httpx.AsyncClient,
) -> None:
    response = await rest.post(
        "/agentic.data.v1.EventStoreService/ReadAll", json={"max_count": "many"}, headers=CONNECT
    )
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "invalid_argument"
    assert error["message"].startswith("E9400") and "max_count" in error["message"]
    assert _error_reason(error) == "E9400"


async def test_json_call_without_credentials_is_refused(mesh: RunningMesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.gateway_url, timeout=10) as client:
        response = await client.post(READ_STREAM, json={"streamId": "x"}, headers=CONNECT)
    assert response.status_code == 401
    error = response.json()  # Envoy's own refusal, shaped as Connect's error JSON
    assert error["code"] == "unauthenticated" and _error_reason(error) == "E9401"


async def test_a_role_that_may_not_call_is_a_connect_permission_error(mesh: RunningMesh) -> None:
    """Refused by Envoy's own RBAC (a verified JWT): Connect's code and the gateway's E-code."""
    headers = {**CONNECT, "authorization": f"Bearer {jwt_for('ada', ['tool_user'])}"}
    async with httpx.AsyncClient(base_url=mesh.gateway_url, timeout=10) as client:
        response = await client.post(READ_STREAM, json={"streamId": "x"}, headers=headers)
    assert response.status_code == 403
    error = response.json()
    assert error["code"] == "permission_denied" and _error_reason(error) == "E9403"


async def test_rest_and_connect_share_a_path_prefix_without_confusion(
    rest: httpx.AsyncClient, mesh: RunningMesh
) -> None:
    """The same stream read over REST still answers REST's own JSON (proto field names)."""
    stream = await _stream_with_one_event(mesh)
    response = await rest.get(f"/v1/streams/{stream}/events")
    assert response.status_code == 200
    assert response.json()["events"][0]["stream_id"] == stream
