"""`agentic mcp`: the MCP server over stdio, for MCP clients that start it themselves.

It calls the mesh through the gateway (``AGENTIC_GATEWAY_TARGET``, default 127.0.0.1:8009)
with the caller's own credential, ``AGENTIC_API_KEY`` (an API key or a JWT). Nothing but the
protocol may go to stdout: logs go to stderr.
"""

from __future__ import annotations

import os
import sys

import anyio

from services.kit import open_channel
from services.l12_nl.mcp_server import MeshTools, build_server

DEFAULT_GATEWAY = "127.0.0.1:8009"
CREDENTIAL_ENV = "AGENTIC_API_KEY"
GATEWAY_ENV = "AGENTIC_GATEWAY_TARGET"


async def serve(gateway_target: str, credential: str) -> None:
    async with open_channel(gateway_target, token=None, timeout=None) as channel:
        server = build_server(MeshTools(channel, f"Bearer {credential}"))
        await server.run_stdio_async()


def main() -> int:
    credential = os.environ.get(CREDENTIAL_ENV, "").strip()
    if not credential:
        print(
            f"agentic mcp: set {CREDENTIAL_ENV} to your API key or JWT "
            "(agentic keys create --principal NAME --role ROLE)",
            file=sys.stderr,
        )
        return 2
    anyio.run(serve, os.environ.get(GATEWAY_ENV, DEFAULT_GATEWAY), credential)
    return 0


if __name__ == "__main__":
    sys.exit(main())
