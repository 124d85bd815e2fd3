"""Helpers of the L03 tests."""

from __future__ import annotations

import uuid
from typing import Any

import grpc

from agentic.common.v1 import event_pb2
from agentic.data.v1 import event_store_pb2 as data_pb
from agentic.data.v1 import event_store_pb2_grpc
from agentic.tools.v1 import tools_pb2 as pb
from agentic.tools.v1 import tools_pb2_grpc
from tests.support import struct

TIMEOUT = 60


async def run_python(
    tools: tools_pb2_grpc.ToolServiceStub, code: str, **fields: Any
) -> pb.ExecuteResponse:
    request = pb.ExecuteRequest(
        name="tools/python_exec", arguments=struct({"code": code}), **fields
    )
    response: pb.ExecuteResponse = await tools.Execute(request, timeout=TIMEOUT)
    return response


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def executed_events(
    store: event_store_pb2_grpc.EventStoreServiceStub, tool: str, execution: str
) -> list[event_pb2.Event]:
    """The tool.executed events of one execution ("executions/<id>")."""
    wanted = execution.removeprefix("executions/")
    page = await store.ReadStream(
        data_pb.ReadStreamRequest(
            stream_id=f"tool-{tool}",
            max_count=1000,
            direction=data_pb.READ_DIRECTION_BACKWARDS,
            from_version=-1,
        )
    )
    return [e for e in page.events if e.data["execution"] == wanted]


async def executions_in(
    store: event_store_pb2_grpc.EventStoreServiceStub, tool: str, workspace: str
) -> int:
    """How many times L03 ran ``tool`` in ``workspace`` (its tool.executed events)."""
    try:
        page = await store.ReadStream(
            data_pb.ReadStreamRequest(
                stream_id=f"tool-{tool}",
                max_count=1000,
                direction=data_pb.READ_DIRECTION_BACKWARDS,
                from_version=-1,
            )
        )
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:  # the tool never ran anywhere yet
            return 0
        raise
    return sum(1 for e in page.events if e.data["workspace"] == workspace)
