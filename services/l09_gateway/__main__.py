"""Runs the L09 health sidecar: ``python -m services.l09_gateway``."""

from __future__ import annotations

import uvicorn

from services.kit import configure_logging, get_logger
from services.l09_gateway.app import create_app
from services.l09_gateway.config import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    configure_logging("l09_gateway", settings.log_level, settings.log_format)
    get_logger("l09").info(
        "sidecar.starting",
        address=f"{settings.http_host}:{settings.http_port}",
        layers=settings.layers,
    )
    # Envoy writes the access log; uvicorn's own logging would duplicate it as plain text.
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
