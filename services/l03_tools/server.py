"""ToolService servicer: maps RPCs to the registry and the executor, and back."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
from collections.abc import AsyncIterator

import grpc
from google.protobuf import json_format

from agentic.tools.v1 import tools_pb2 as pb
from agentic.tools.v1 import tools_pb2_grpc as pb_grpc
from services.kit import PlatformError, current_principal
from services.kit.auth import current_roles, current_tenant
from services.l03_tools import errors
from services.l03_tools.executions import Caller, ExecutionRequest, Executor
from services.l03_tools.l01 import struct_to_dict
from services.l03_tools.registry import ToolRegistry
from services.l03_tools.tools import ExecutionResult, SandboxProfile, ToolDefinition, ToolKind

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ToolService"].full_name
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

_KINDS = {
    ToolKind.PYTHON: pb.TOOL_KIND_PYTHON,
    ToolKind.SHELL: pb.TOOL_KIND_SHELL,
    ToolKind.READ_FILE: pb.TOOL_KIND_READ_FILE,
    ToolKind.WRITE_FILE: pb.TOOL_KIND_WRITE_FILE,
    ToolKind.LIST_FILES: pb.TOOL_KIND_LIST_FILES,
    ToolKind.HTTP_FETCH: pb.TOOL_KIND_HTTP_FETCH,
    ToolKind.GRPC_METHOD: pb.TOOL_KIND_GRPC_METHOD,
}
_KINDS_BACK = {value: kind for kind, value in _KINDS.items()}


def _invalid(field: str, why: str) -> PlatformError:
    return PlatformError(errors.INVALID_ARGUMENT, f"{field} {why}", field=field)


# What a tool's name can be as the id of its L01 document (a name that cannot be one names no
# tool; passed on, L01 would refuse it as a failure of L03's).
_TOOL_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,255}")


def tool_id(name: str, field: str = "name") -> str:
    """``tools/{tool}`` -> ``{tool}``."""
    prefix, _, tool = name.partition("/")
    if prefix != "tools" or not _TOOL_ID.fullmatch(tool):
        raise _invalid(field, f"must be 'tools/{{tool}}' with a tool's name, not {name[:200]!r}")
    return tool


def to_pb(tool: ToolDefinition) -> pb.Tool:
    profile = tool.profile
    message = pb.Tool(
        name=f"tools/{tool.name}",
        version=tool.version,
        description=tool.description,
        kind=_KINDS[tool.kind],
        profile=pb.SandboxProfile(
            memory_bytes=profile.memory_bytes,
            max_processes=profile.max_processes,
            max_output_bytes=profile.max_output_bytes,
            allowed_hosts=list(profile.allowed_hosts),
            read_only_workspace=profile.read_only_workspace,
        ),
        source=tool.source,
        grpc_method=tool.grpc_method,
        builtin=tool.builtin,
        sensitive=tool.sensitive,
        deprecated=tool.deprecated,
        deprecation_message=tool.deprecation_message,
    )
    message.profile.wall_time.FromNanoseconds(int(profile.wall_seconds * 1e9))
    message.profile.cpu_time.FromNanoseconds(int(profile.cpu_seconds * 1e9))
    message.parameters.update(tool.parameters)
    if tool.result:
        message.result.update(tool.result)
    message.update_time.FromNanoseconds(int(tool.update_time * 1e9))
    return message


def from_pb(message: pb.Tool) -> ToolDefinition:
    """A registration; unset profile fields take the defaults."""
    defaults = SandboxProfile()
    given = message.profile
    profile = SandboxProfile(
        wall_seconds=given.wall_time.ToNanoseconds() / 1e9
        if given.HasField("wall_time")
        else defaults.wall_seconds,
        cpu_seconds=given.cpu_time.ToNanoseconds() / 1e9
        if given.HasField("cpu_time")
        else defaults.cpu_seconds,
        memory_bytes=given.memory_bytes or defaults.memory_bytes,
        max_processes=given.max_processes or defaults.max_processes,
        max_output_bytes=given.max_output_bytes or defaults.max_output_bytes,
        allowed_hosts=tuple(given.allowed_hosts),
        read_only_workspace=given.read_only_workspace,
    )
    if message.kind not in _KINDS_BACK:
        raise PlatformError(errors.INVALID_TOOL, "tool.kind must be set", field="tool.kind")
    return ToolDefinition(
        name=tool_id(message.name, "tool.name"),
        kind=_KINDS_BACK[message.kind],
        description=message.description,
        parameters=struct_to_dict(message.parameters) if message.HasField("parameters") else {},
        result=struct_to_dict(message.result) if message.HasField("result") else {},
        version=message.version or "1",
        profile=profile,
        source=message.source,
        grpc_method=message.grpc_method,
        sensitive=message.sensitive,
    )


def result_to_pb(result: ExecutionResult) -> pb.ExecuteResponse:
    response = pb.ExecuteResponse(
        execution=f"executions/{result.execution_id}",
        tool=f"tools/{result.tool}",
        tool_version=result.tool_version,
        stdout=result.stdout,
        stderr=result.stderr,
        exit_code=result.exit_code,
        limit=result.limit.value,
        replayed=result.replayed,
    )
    if result.result is not None:
        json_format.ParseDict(result.result, response.result)
    response.duration.FromNanoseconds(int(result.duration_seconds * 1e9))
    return response


def _page_offset(token: str) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:"))
    except ValueError as exc:
        raise _invalid("page_token", "is not a token this service issued") from exc


def _page_size(size: int, default: int) -> int:
    if size < 0 or size > MAX_PAGE_SIZE:
        raise _invalid("page_size", f"must be 0-{MAX_PAGE_SIZE}")
    return size or default


class ToolServicer(pb_grpc.ToolServiceServicer):
    def __init__(self, registry: ToolRegistry, executor: Executor) -> None:
        self._registry = registry
        self._executor = executor

    async def ListTools(
        self, request: pb.ListToolsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListToolsResponse:
        size = _page_size(request.page_size, DEFAULT_PAGE_SIZE)
        offset = _page_offset(request.page_token)
        tools = await self._registry.all(request.show_deprecated)
        page = tools[offset : offset + size]
        token = ""
        if offset + size < len(tools):
            token = base64.urlsafe_b64encode(f"offset:{offset + size}".encode()).decode()
        return pb.ListToolsResponse(tools=[to_pb(t) for t in page], next_page_token=token)

    async def GetTool(
        self, request: pb.GetToolRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetToolResponse:
        return pb.GetToolResponse(tool=to_pb(await self._registry.get(tool_id(request.name))))

    async def SearchTools(
        self, request: pb.SearchToolsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SearchToolsResponse:
        found = await self._registry.search(
            request.query, request.show_deprecated, _page_size(request.page_size, 20)
        )
        return pb.SearchToolsResponse(tools=[to_pb(t) for t in found])

    async def RegisterTool(
        self, request: pb.RegisterToolRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterToolResponse:
        if not request.HasField("tool"):
            raise _invalid("tool", "is required")
        tool, created = await self._registry.register(from_pb(request.tool))
        return pb.RegisterToolResponse(tool=to_pb(tool), created=created)

    async def DeprecateTool(
        self, request: pb.DeprecateToolRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeprecateToolResponse:
        tool = await self._registry.deprecate(tool_id(request.name), request.message)
        return pb.DeprecateToolResponse(tool=to_pb(tool))

    async def Execute(
        self, request: pb.ExecuteRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExecuteResponse:
        result = await self._executor.execute(_execution(request), _caller())
        return result_to_pb(result)

    async def ExecuteStream(
        self, request: pb.ExecuteStreamRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ExecuteStreamResponse]:
        messages: asyncio.Queue[pb.ExecuteStreamResponse | None] = asyncio.Queue()

        async def started(execution_id: str) -> None:
            messages.put_nowait(pb.ExecuteStreamResponse(started=f"executions/{execution_id}"))

        def output(stream: str, text: str) -> None:
            messages.put_nowait(pb.ExecuteStreamResponse(**{stream: text}))

        async def run() -> pb.ExecuteResponse:
            try:
                return result_to_pb(
                    await self._executor.execute(
                        _execution(request.request), _caller(), output, started
                    )
                )
            finally:
                messages.put_nowait(None)

        task = asyncio.create_task(run())
        try:
            while (message := await messages.get()) is not None:
                yield message
            yield pb.ExecuteStreamResponse(result=await task)
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def CancelExecution(
        self, request: pb.CancelExecutionRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelExecutionResponse:
        prefix, _, execution_id = request.name.partition("/")
        if prefix != "executions" or not execution_id:
            raise _invalid("name", f"must be 'executions/{{execution_id}}', not {request.name!r}")
        if not self._executor.cancel(execution_id):
            raise PlatformError(
                errors.UNKNOWN_EXECUTION,
                f"no running execution {execution_id!r} (it may have finished)",
                field="name",
            )
        return pb.CancelExecutionResponse(cancelled=True)


def _execution(request: pb.ExecuteRequest) -> ExecutionRequest:
    return ExecutionRequest(
        tool=tool_id(request.name),
        arguments=struct_to_dict(request.arguments),
        workspace=request.workspace,
        idempotency_key=request.idempotency_key,
        execution_id=request.execution_id,
    )


def _caller() -> Caller:
    return Caller(
        principal=current_principal.get(), roles=current_roles.get(), tenant=current_tenant.get()
    )
