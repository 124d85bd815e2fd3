"""The tools that exist, asked of L03 through its generated client."""

from __future__ import annotations

import grpc

from services.kit.documents import caller_metadata
from services.kit.tool_names import tool_names
from services.l14_skills.upstream import calling


class ToolDirectory:
    def __init__(self, l03: grpc.aio.Channel) -> None:
        self._l03 = l03

    async def names(self) -> set[str]:
        """Every tool's name (built-in and registered), deprecated ones included (a skill may
        still name them)."""
        with calling("l03"):
            return await tool_names(self._l03, caller_metadata())
