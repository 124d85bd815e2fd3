"""HTTP routes of the L09 process: /health and /openapi.json (both open), and the answer to a
CORS preflight the gateway's CORS filter did not answer (its origin is not allowed)."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.rpc import code_pb2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.kit import get_logger
from services.l09_gateway.config import GatewaySettings
from services.l09_gateway.health import SERVING, check_mesh
from services.l09_gateway.status_details import PERMISSION_DENIED, status

log = get_logger("l09.http")


def create_app(
    settings: GatewaySettings,
    openapi: dict[str, Any] | None = None,
) -> Starlette:
    async def health(request: Request) -> JSONResponse:
        report = await check_mesh(settings.layers, settings.check_timeout_seconds)
        if not report.serving:
            down = {layer.name: layer.status for layer in report.layers if layer.status != SERVING}
            log.info("health.not_serving", layers=down)
        return JSONResponse(report.as_dict(), status_code=200 if report.serving else 503)

    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(openapi)

    async def refused_preflight(request: Request) -> JSONResponse:
        # Envoy's CORS filter answers the preflights of allowed origins itself; those of
        # other origins reach here. 403, in the JSON error shape of every REST refusal.
        origin = request.headers.get("origin", "")
        if not origin or "access-control-request-method" not in request.headers:
            message = f"{PERMISSION_DENIED}: OPTIONS is answered only to CORS preflights"
        else:
            message = (
                f"{PERMISSION_DENIED}: the origin {origin!r} is not allowed by the gateway's "
                "CORS policy (AGENTIC_CORS_ORIGINS)"
            )
        refused = status(code_pb2.PERMISSION_DENIED, message, PERMISSION_DENIED)
        return JSONResponse(json_format.MessageToDict(refused), status_code=403)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/{path:path}", refused_preflight, methods=["OPTIONS"]),
    ]
    if openapi is not None:
        routes.insert(1, Route("/openapi.json", openapi_json, methods=["GET"]))
    return Starlette(routes=routes)
