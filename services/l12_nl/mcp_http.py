"""The MCP server over streamable HTTP at ``/mcp``, which Envoy routes to L12's HTTP port.

Envoy passes the request as the client sent it, credentials included. Every tool calls the
mesh through the gateway with that credential, and a request without one the gateway accepts
is refused at the door with the gateway's own answer (401 E9401, 403, 429): the same
credentials as every other call, checked by the gateway, never by a copy of its rules.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import json_format
from google.rpc import status_pb2
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from agentic.nl.v1 import catalog_pb2, catalog_pb2_grpc
from services.kit.http_server import LayerHttpServer
from services.kit.http_server import http_server as layer_http_server
from services.l12_nl.mcp_server import MeshTools, build_server, request_credential

ADMITTED_SECONDS = 1.0  # how long a credential the gateway accepted is not checked again
_HTTP_STATUS = {
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
}

Check = Callable[[str], Awaitable[Response | None]]


def gateway_check(gateway: grpc.aio.Channel) -> Check:
    """Asks the gateway whether it admits a credential, with the cheapest call L12 serves."""
    catalog = catalog_pb2_grpc.CatalogServiceStub(gateway)
    admitted: dict[str, float] = {}

    async def check(credential: str) -> Response | None:
        digest = hashlib.sha256(credential.encode()).hexdigest()
        if admitted.get(digest, 0) > time.monotonic():
            return None
        try:
            await catalog.ListServices(
                catalog_pb2.ListServicesRequest(page_size=1),
                metadata=(("authorization", credential),),
                timeout=5,
            )
        except grpc.aio.AioRpcError as error:
            return JSONResponse(
                _status_body(error), status_code=_HTTP_STATUS.get(error.code(), 502)
            )
        if len(admitted) > 10_000:
            admitted.clear()
        admitted[digest] = time.monotonic() + ADMITTED_SECONDS
        return None

    return check


def _status_body(error: grpc.aio.AioRpcError) -> dict[str, Any]:
    """The gateway's refusal as REST callers get it: google.rpc.Status, ErrorInfo included."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            return json_format.MessageToDict(status, preserving_proto_field_name=True)
    return {"code": error.code().value[0], "message": error.details()}


class GatewayAdmission:
    """ASGI middleware: only credentials the gateway admits reach the MCP endpoint."""

    def __init__(self, app: ASGIApp, check: Check) -> None:
        self._app = app
        self._check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            credential = request_credential(Request(scope).headers)
            refusal = (
                JSONResponse(
                    {"code": 16, "message": "missing credentials: send 'authorization: Bearer'"},
                    status_code=401,
                )
                if not credential
                else await self._check(credential)
            )
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self._app(scope, receive, send)


def http_server(gateway: grpc.aio.Channel, host: str, port: int) -> LayerHttpServer:
    tools = MeshTools(gateway, credential=None)
    app = build_server(tools).streamable_http_app(stateless_http=True, json_response=True)
    admitted = GatewayAdmission(app, gateway_check(gateway))
    return layer_http_server(admitted, host, port)
