"""The tools that exist, asked of L03 through its generated client."""

from __future__ import annotations

import grpc

from agentic.tools.v1 import tools_pb2 as tools_pb
from agentic.tools.v1 import tools_pb2_grpc as tools_grpc
from services.kit.documents import caller_metadata
from services.l14_skills.upstream import calling


class ToolDirectory:
    def __init__(self, l03: grpc.aio.Channel) -> None:
        self._tools = tools_grpc.ToolServiceStub(l03)

    async def names(self) -> set[str]:
        """Every tool's name (built-in and registered), deprecated ones included (a skill may
        still name them)."""
        found: set[str] = set()
        token = ""
        with calling("l03"):
            while True:
                reply = await self._tools.ListTools(
                    tools_pb.ListToolsRequest(
                        page_size=200, page_token=token, show_deprecated=True
                    ),
                    metadata=caller_metadata(),
                )
                found.update(tool.name.removeprefix("tools/") for tool in reply.tools)
                token = reply.next_page_token
                if not token:
                    return found
