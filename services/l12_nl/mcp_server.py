"""The mesh as an MCP server: small tools that disclose the catalog step by step.

A client first searches (names and one line each), describes the service it needs (schemas
only then), and invokes, or asks in plain words and confirms; or hands the planning layer
(L05) a goal with run_goal and follows it with watch_goal. However many RPCs the mesh has,
the tool list stays the same size. Every tool calls L12's own API through the gateway
with the caller's credential, so the gateway's auth, policy and limits apply to each call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from agentic.nl.v1 import assistant_pb2, assistant_pb2_grpc, catalog_pb2, catalog_pb2_grpc
from agentic.planning.v1 import goals_pb2, goals_pb2_grpc
from services.kit import platform_code_of
from services.l12_nl import errors

INSTRUCTIONS = (
    "Tools for the agentic platform mesh. Find an RPC with search_services, read its request "
    "schema with describe_service, then call it with invoke. Or use ask with a request in "
    "plain words: reads run at once; changes come back with a token for confirm. "
    "run_goal plans and runs a goal; watch_goal follows it."
)

# watch_goal returns after this long at most (and when the goal finishes), with the events so
# far and the version to watch from next; and at most this many events per call. A fixed
# wait, not a parameter: every parameter lengthens the tool list every client reads.
WATCH_SECONDS = 20.0
MAX_WATCH_EVENTS = 200
# Invoke's refusal of a streaming RPC: the invoke tool then follows the stream.
STREAMS = errors.STREAMING_METHOD.code


def request_credential(headers: Mapping[str, str]) -> str:
    """``authorization``, else ``x-api-key`` as a bearer credential; "" if neither."""
    authorization = headers.get("authorization", "").strip()
    if authorization:
        return authorization
    key = headers.get("x-api-key", "").strip()
    return f"Bearer {key}" if key else ""


class MeshTools:
    """Calls L12 through the gateway as the MCP client's caller."""

    def __init__(
        self,
        gateway: grpc.aio.Channel,
        credential: str | None,
    ) -> None:
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(gateway)
        self.assistant = assistant_pb2_grpc.AssistantServiceStub(gateway)
        self.goals = goals_pb2_grpc.GoalServiceStub(gateway)
        # stdio: the one the server was started with; HTTP: each request's own.
        self._credential = credential

    def _metadata(self, headers: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
        credential = self._credential or request_credential(headers or {})
        if not credential:
            raise ToolError("E12104 UNAUTHENTICATED: no credential to call the mesh with")
        return (("authorization", credential),)

    async def call(self, rpc: Any, request: Message, headers: Mapping[str, str] | None) -> Any:
        try:
            reply = await rpc(request, metadata=self._metadata(headers))
        except grpc.aio.AioRpcError as error:
            raise ToolError(_describe(error)) from None
        return json_format.MessageToDict(reply, preserving_proto_field_name=True)

    async def invoke(
        self,
        method: str,
        arguments: dict[str, Any],
        wait_seconds: float,
        headers: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        """Invoke's answer; for a method that streams its answers (E12103 from Invoke), the
        messages InvokeStream passes on within ``wait_seconds``, MAX_WATCH_EVENTS at most."""
        request = catalog_pb2.InvokeRequest(method=method)
        request.arguments.update(arguments)
        try:
            reply = await self.catalog.Invoke(request, metadata=self._metadata(headers))
        except grpc.aio.AioRpcError as error:
            if platform_code_of(error) != STREAMS:
                raise ToolError(_describe(error)) from None
        else:
            return json_format.MessageToDict(reply, preserving_proto_field_name=True)
        streamed = catalog_pb2.InvokeStreamRequest(method=method, max_messages=MAX_WATCH_EVENTS)
        streamed.arguments.update(arguments)
        messages: list[dict[str, Any]] = []
        ended = True  # the called stream ended by itself
        stream = self.catalog.InvokeStream(
            streamed, metadata=self._metadata(headers), timeout=max(wait_seconds, 0.0)
        )
        try:
            async for message in stream:
                messages.append(json_format.MessageToDict(message.result))
            ended = len(messages) < MAX_WATCH_EVENTS
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:  # the wait ending is fine
                raise ToolError(_describe(error)) from None
            ended = False
        finally:
            with contextlib.suppress(Exception):
                stream.cancel()
        return {"method": method, "messages": messages, "ended": ended}

    async def watch_goal(
        self, name: str, from_version: int, wait_seconds: float, headers: Mapping[str, str] | None
    ) -> dict[str, Any]:
        """The goal's events from ``from_version`` until it finishes, ``wait_seconds`` pass
        or MAX_WATCH_EVENTS arrive; then the goal as it is now."""
        wait = max(wait_seconds, 0.0)
        metadata = self._metadata(headers)
        request = goals_pb2.WatchGoalRequest(name=name, from_version=from_version)
        events: list[dict[str, Any]] = []
        next_version = from_version
        stream = self.goals.WatchGoal(request, metadata=metadata, timeout=wait)
        try:
            async for event in stream:
                # Defaults printed: the first event's version is 0.
                events.append(
                    json_format.MessageToDict(
                        event,
                        preserving_proto_field_name=True,
                        always_print_fields_with_no_presence=True,
                    )
                )
                next_version = event.version + 1
                if len(events) >= MAX_WATCH_EVENTS:
                    break
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:  # the wait ending is fine
                raise ToolError(_describe(error)) from None
        finally:
            with contextlib.suppress(Exception):
                stream.cancel()
        goal = await self.call(self.goals.GetGoal, goals_pb2.GetGoalRequest(name=name), headers)
        return {"goal": goal.get("goal", {}), "events": events, "next_version": next_version}


def _describe(error: grpc.aio.AioRpcError) -> str:
    """``E1300 NOT_FOUND: <message>``: the platform code first, for clients to act on."""
    code = platform_code_of(error)
    prefix = f"{code} " if code else ""
    return f"{prefix}{error.code().name}: {error.details()}"


def _headers(ctx: Context) -> Mapping[str, str] | None:
    try:
        return ctx.headers
    except (ValueError, AttributeError):  # stdio: no HTTP request behind the call
        return None


def build_server(tools: MeshTools) -> MCPServer:
    server = MCPServer("agentic-mesh", instructions=INSTRUCTIONS)

    @server.tool()
    async def search_services(query: str, ctx: Context, limit: int = 5) -> Any:
        """Find RPCs for what you want to do, in plain words: method names with one line
        each, best first."""
        request = catalog_pb2.SearchServicesRequest(query=query, limit=limit)
        return await tools.call(tools.catalog.SearchServices, request, _headers(ctx))

    @server.tool()
    async def describe_service(service: str, ctx: Context) -> Any:
        """A service's RPCs with request/response JSON Schemas, REST paths and error codes.
        `service`: a full name, e.g. agentic.data.v1.EventStoreService."""
        request = catalog_pb2.GetServiceRequest(service=service)
        return await tools.call(tools.catalog.GetService, request, _headers(ctx))

    @server.tool()
    async def invoke(method: str, ctx: Context, arguments: dict[str, Any] | None = None) -> Any:
        """Call one RPC, e.g. agentic.data.v1.EventStoreService.ReadStream, with JSON
        arguments that fit its request schema. Returns its JSON answer (a stream's: its
        messages for up to 20 s)."""
        return await tools.invoke(method, arguments or {}, WATCH_SECONDS, _headers(ctx))

    @server.tool()
    async def ask(text: str, ctx: Context, conversation_id: str = "") -> Any:
        """Do something described in plain words. A read runs at once; a change is only
        proposed, with a confirmation_token to pass to confirm."""
        request = assistant_pb2.AskRequest(text=text, conversation_id=conversation_id)
        return await tools.call(tools.assistant.Ask, request, _headers(ctx))

    @server.tool()
    async def confirm(confirmation_token: str, ctx: Context) -> Any:
        """Run the change an ask proposed (once)."""
        request = assistant_pb2.ConfirmRequest(confirmation_token=confirmation_token)
        return await tools.call(tools.assistant.Confirm, request, _headers(ctx))

    @server.tool()
    async def run_goal(goal: str, ctx: Context) -> Any:
        """Plan and run a goal in plain words. Returns it, named goals/..."""
        request = goals_pb2.CreateGoalRequest(goal=goal)
        return await tools.call(tools.goals.CreateGoal, request, _headers(ctx))

    @server.tool()
    async def watch_goal(name: str, ctx: Context, from_version: int = 0) -> Any:
        """A goal's events until it ends (or for 20 s), and its status. Go on from
        next_version."""
        return await tools.watch_goal(name, from_version, WATCH_SECONDS, _headers(ctx))

    return server
