"""HTTP routes of the L09 process: /health and /openapi.json (both open)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.kit import get_logger
from services.l09_gateway.config import GatewaySettings
from services.l09_gateway.health import SERVING, check_mesh

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

    routes = [Route("/health", health, methods=["GET"])]
    if openapi is not None:
        routes.append(Route("/openapi.json", openapi_json, methods=["GET"]))
    return Starlette(routes=routes)
