"""The names of the tools L03 has (built-in and registered, deprecated ones included), for
the layers that check names against them (L13's preferred tools, L14's required tools)."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from agentic.tools.v1 import tools_pb2 as tools_pb
from agentic.tools.v1 import tools_pb2_grpc as tools_grpc


async def tool_names(l03: grpc.aio.Channel, metadata: Sequence[tuple[str, str]] = ()) -> set[str]:
    """Every tool's short name (``shell``, not ``tools/shell``), read a page of 200 at a time;
    L03's errors are raised as they come."""
    stub = tools_grpc.ToolServiceStub(l03)
    found: set[str] = set()
    token = ""
    while True:
        reply = await stub.ListTools(
            tools_pb.ListToolsRequest(page_size=200, page_token=token, show_deprecated=True),
            metadata=tuple(metadata),
        )
        found.update(tool.name.removeprefix("tools/") for tool in reply.tools)
        token = reply.next_page_token
        if not token:
            return found
