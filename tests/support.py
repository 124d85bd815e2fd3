"""Small helpers shared by the integration tests."""

from __future__ import annotations

import asyncio
import http.server
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
import httpx
import jwt
from google.protobuf import struct_pb2

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from agentic.tools.v1 import tools_pb2, tools_pb2_grpc
from services.kit import error_info_of, open_channel, platform_code_of
from services.launcher import binaries

DEV_TOKEN = "dev_key_local_ONLY"
# The session mesh's HS256 secret (tests/conftest.py).
JWT_SECRET = "session-mesh-hs256-secret-0123456789abcdef"


def stream_name(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def jwt_for(subject: str, roles: list[str], **claims: Any) -> str:
    """A JWT the session mesh's gateway accepts, valid for five minutes."""
    payload = {"sub": subject, "roles": roles, "exp": int(time.time()) + 300, **claims}
    return jwt.encode(payload, JWT_SECRET, "HS256")


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def new_event(event_type: str = "test.happened", event_id: str = "", **data: Any) -> pb.NewEvent:
    return pb.NewEvent(id=event_id, type=event_type, data=struct(data))


async def register_python_tool(channel: grpc.aio.Channel, name: str, description: str) -> None:
    """Registers a Python tool in L03 that prints an empty JSON object."""
    tool = tools_pb2.Tool(
        name=f"tools/{name}", description=description, kind=tools_pb2.TOOL_KIND_PYTHON,
        source="print('{}')",
    )  # fmt: skip
    await tools_pb2_grpc.ToolServiceStub(channel).RegisterTool(
        tools_pb2.RegisterToolRequest(tool=tool)
    )


def platform_code(error: grpc.aio.AioRpcError) -> str:
    """The E-code in the ErrorInfo of a failed call's status details."""
    code = platform_code_of(error)
    assert code, f"no ErrorInfo in {error!r}"
    return code


async def refused_append_after_a_read(target: str, credential: str) -> grpc.aio.AioRpcError:
    """Reads the global log with ``credential``, then tries an append, which must fail: the
    error, for the caller to check its code and message."""
    async with open_channel(target, token=credential) as channel:
        store = event_store_pb2_grpc.EventStoreServiceStub(channel)
        await store.ReadAll(pb.ReadAllRequest(max_count=1))
        try:
            await store.AppendEvents(
                pb.AppendEventsRequest(stream_id=stream_name(), events=[new_event()])
            )
        except grpc.aio.AioRpcError as error:
            return error
    raise AssertionError("the append was allowed")


def error_metadata(error: grpc.aio.AioRpcError) -> dict[str, str]:
    info = error_info_of(error)
    return dict(info.metadata) if info is not None else {}


def rest_reason(body: dict[str, Any]) -> str:
    """The E-code of a JSON error body from the gateway (google.rpc.Status or local reply)."""
    for detail in body.get("details", []):
        if detail.get("@type", "").endswith("google.rpc.ErrorInfo"):
            return str(detail["reason"])
    return str(body.get("reason", ""))


def serve_json(document: bytes) -> http.server.ThreadingHTTPServer:
    """A local HTTP server answering every GET with ``document`` (a JWKS, say); call
    ``shutdown()`` when done."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def envoy_stat(admin_port: int, name: str) -> int:
    """One counter of the Envoy whose admin port this is (0 while it has never counted)."""
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(
            f"http://127.0.0.1:{admin_port}/stats", params={"filter": f"^{name}$"}
        )
    lines = [line for line in response.text.splitlines() if line.startswith(f"{name}:")]
    return int(lines[0].rsplit(":", 1)[1]) if lines else 0


def envoy_validation(config: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Envoy's own check of a configuration file (``--mode validate``)."""
    return subprocess.run(
        [str(binaries.envoy()), "--mode", "validate", "-c", str(config)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


async def agentic(
    mesh: Any, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs the ``agentic`` CLI against a test mesh (its home and gateway port)."""
    env = {
        **os.environ,
        "AGENTIC_GATEWAY_PORT": str(mesh.settings.gateway_port),
        "COLUMNS": "250",  # tables unwrapped
    }
    command = [sys.executable, "-m", "services.launcher.cli", *args]
    return await asyncio.to_thread(
        subprocess.run,
        [*command, "--home", str(mesh.settings.home)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


ROOT = Path(__file__).resolve().parents[1]
BUF = ROOT / "node_modules" / ".bin" / "buf"


async def buf_curl(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Runs ``buf curl`` (the project's npm copy), a client the project did not write, in the
    project's root (``--schema proto`` reads the contracts there); a hang fails the test
    instead of holding it."""
    return await asyncio.to_thread(
        subprocess.run,
        [str(BUF), "curl", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
