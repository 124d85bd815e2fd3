"""The activities of a run: a model call (L04), a tool call (L03), the run's end.

Each records its step in the agent's stream before it returns, under an event id derived
from the run and the step, so an activity retried after a crash records nothing twice. The
other layers' refusals of bad input (a schema the answer failed, arguments the tool's schema
refuses, an unknown tool) become results the model reads back; only transient failures raise,
for Temporal's retry policy. Calls go out with the service token and the agent owner's
identity, so the other layers' limits and policies apply to the owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import grpc
from google.protobuf import json_format
from temporalio import activity

from agentic.models.v1 import models_pb2 as models_pb
from agentic.models.v1 import models_pb2_grpc as models_grpc
from agentic.tools.v1 import tools_pb2 as tools_pb
from agentic.tools.v1 import tools_pb2_grpc as tools_grpc
from services.kit.auth import PRINCIPAL_HEADER, TENANT_HEADER
from services.kit.errors import spent_on
from services.l02_runtime import agents, decision
from services.l02_runtime.agent_context import ContextSource
from services.l02_runtime.approvals import waiting_approval
from services.l02_runtime.run_types import (
    DecideInput,
    DecideResult,
    RunContext,
    RunOutcome,
    RunSpec,
    ToolInput,
    ToolResult,
)
from services.l02_runtime.store import AgentStore, derived_event_id, now
from services.l02_runtime.workflow import DECIDE, FINISH_RUN, RUN_TOOL

_HEARTBEAT_SECONDS = 2.0
# Answers the other layers give to bad input: reported to the model, not retried.
_REFUSALS = (
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.PERMISSION_DENIED,
)


@contextlib.asynccontextmanager
async def _heartbeating() -> AsyncIterator[None]:
    """Heartbeats while a call is out, so a dead worker's activity is retried quickly."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(_HEARTBEAT_SECONDS)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()


def _as_owner(spec: RunSpec) -> tuple[tuple[str, str], ...]:
    return ((PRINCIPAL_HEADER, spec.owner), (TENANT_HEADER, spec.tenant))


class RunActivities:
    def __init__(
        self,
        store: AgentStore,
        models: models_grpc.ModelServiceStub,
        tools: tools_grpc.ToolServiceStub,
        context: ContextSource,
    ) -> None:
        self._store = store
        self._models = models
        self._tools = tools
        self._context = context
        self._tool_info: dict[str, decision.ToolInfo] = {}

    def all(self) -> list[Any]:
        return [self.decide, self.run_tool, self.finish_run]

    async def _fetch_context(self, spec: RunSpec) -> RunContext:
        """The role's and skills' texts (L13, L14), recorded as the run's step 0."""
        context = await self._context.fetch(spec, _as_owner(spec))
        await self._step(
            spec,
            0,
            "context",
            {"kind": "context", "text": decision.context_summary(spec, context)},
        )
        return context

    @activity.defn(name=DECIDE)
    async def decide(self, given: DecideInput) -> DecideResult:
        if not given.fetch_context:
            return await self._decide(given)
        async with _heartbeating():
            context = await self._fetch_context(given.spec)
        result = await self._decide(replace(given, context=context))
        return replace(result, context=context)

    async def _decide(self, given: DecideInput) -> DecideResult:
        spec = given.spec
        tools = await self._tools_of(spec)
        request = models_pb.GenerateRequest(
            system=decision.system_prompt(
                spec.role, tuple(spec.skills), spec.instructions, tools, given.context
            ),
            max_tokens=spec.max_answer_tokens,
            model=spec.model,
            agent_id=spec.agent_id,
        )
        if spec.temperature is not None:
            request.temperature = spec.temperature
        if spec.strategy:
            request.routing.strategy = models_pb.RoutingStrategy.Value(
                f"ROUTING_STRATEGY_{spec.strategy.upper()}"
            )
        request.response_schema.update(decision.decision_schema(tools))
        request.messages.add(role="user", content=spec.task)
        for turn in given.turns:
            request.messages.add(role=turn.role, content=turn.content)
        try:
            async with _heartbeating():
                reply = await self._models.Generate(request, metadata=_as_owner(spec))
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED:
                return await self._model_step(
                    given, DecideResult("budget", problem=error.details() or "")
                )
            if error.code() not in _REFUSALS:
                raise
            tokens, cost = spent_on(error)  # a refused answer was paid for all the same
            result = DecideResult(
                "", problem=f"the model's answer was refused: {error.details()}",
                tokens=tokens, cost_usd=cost,
            )  # fmt: skip
            return await self._model_step(given, result)
        structured = (
            json_format.MessageToDict(reply.structured) if reply.HasField("structured") else None
        )
        read = decision.read_decision(structured, reply.content, tuple(spec.allowed_tools))
        result = DecideResult(
            read.action,
            raw=reply.content,
            tool=read.tool,
            arguments_json=json.dumps(read.arguments),
            answer=read.answer,
            problem=read.problem,
            tokens=reply.usage.input_tokens + reply.usage.output_tokens,
            cost_usd=reply.usage.cost_usd,
        )
        return await self._model_step(given, result, thought=read.thought)

    async def _model_step(
        self, given: DecideInput, result: DecideResult, thought: str = ""
    ) -> DecideResult:
        kind = "model" if not result.problem or result.tool == "" else "refused"
        text = result.answer or thought or result.problem
        if result.problem and result.tool:
            text = result.problem
        await self._step(
            given.spec,
            given.step,
            "model",
            {
                "kind": kind,
                "tool": result.tool,
                "text": text,
                "tokens": result.tokens,
                "cost_usd": result.cost_usd,
            },
        )
        return result

    @activity.defn(name=RUN_TOOL)
    async def run_tool(self, given: ToolInput) -> ToolResult:
        spec = given.spec
        arguments: dict[str, Any] = json.loads(given.arguments_json)
        request = tools_pb.ExecuteRequest(
            name=f"tools/{given.tool}",
            workspace=spec.workspace,
            idempotency_key=given.idempotency_key,
        )
        request.arguments.update(arguments)
        try:
            async with _heartbeating():
                reply = await self._tools.Execute(request, metadata=_as_owner(spec), timeout=None)
        except grpc.aio.AioRpcError as error:
            approval_id = waiting_approval(error)
            if approval_id:
                return await self._waiting(given, arguments, approval_id)
            if error.code() not in _REFUSALS:
                raise
            message = f"Tool {given.tool} did not run: {error.details()}"
            await self._step(
                spec,
                given.step,
                "tool",
                {"kind": "refused", "tool": given.tool, "arguments": arguments, "text": message},
            )
            return ToolResult(message, exit_code=-1, refused=True)
        message = decision.tool_result_message(
            given.tool, reply.exit_code, reply.stdout, reply.stderr, reply.limit
        )
        await self._step(
            spec,
            given.step,
            "tool",
            {
                "kind": "tool",
                "tool": given.tool,
                "arguments": arguments,
                "text": reply.stdout or reply.stderr,
                "exit_code": reply.exit_code,
                "limit": reply.limit,
                "replayed": reply.replayed,
            },
        )
        return ToolResult(message, exit_code=reply.exit_code, refused=False)

    async def _waiting(
        self, given: ToolInput, arguments: dict[str, Any], approval_id: str
    ) -> ToolResult:
        """The call waits for an L08 approval: a step says so (once per approval), and the
        workflow waits for the decision before it sends the same call again."""
        message = f"Tool {given.tool} waits for approval {approval_id} (L08)"
        entry = {
            "run": given.spec.run_id,
            "number": given.step,
            "part": "wait",
            "kind": "waiting_approval",
            "tool": given.tool,
            "arguments": arguments,
            "text": message,
            "approval_id": approval_id,
        }
        event_id = derived_event_id(
            given.spec.agent_id, given.spec.run_id, str(given.step), "wait", approval_id
        )
        await self._store.record_step(given.spec.agent_id, entry, event_id)
        return ToolResult(message, exit_code=-1, refused=False, approval_id=approval_id)

    @activity.defn(name=FINISH_RUN)
    async def finish_run(self, outcome: RunOutcome) -> None:
        spec = outcome.spec
        finished = {
            "run": spec.run_id,
            "status": outcome.status,
            "answer": outcome.answer,
            "reason": outcome.reason,
            "tokens": outcome.tokens,
            "steps": outcome.steps,
        }
        events: list[tuple[str, dict[str, Any], str]] = [
            (agents.RUN_FINISHED, finished, derived_event_id(spec.agent_id, spec.run_id, "end"))
        ]
        if outcome.agent_failed:
            failed = {"state": agents.State.FAILED.value, "reason": outcome.reason}
            events.append(
                (agents.STATE_CHANGED, failed, derived_event_id(spec.agent_id, spec.run_id, "fail"))
            )

        def decide(view: agents.AgentView) -> list[tuple[str, dict[str, Any], str]]:
            if outcome.agent_failed and view.state in agents.FINAL:
                return events[:1]
            return events

        body = await self._store.get_run(spec.agent_id, spec.run_id) or {"task": spec.task}
        body.update(
            status=outcome.status,
            answer=outcome.answer,
            reason=outcome.reason,
            tokens_used=outcome.tokens,
            end_time=now(),
        )
        await self._store.change(spec.agent_id, decide, runs=lambda _: {spec.run_id: body})

    async def _step(self, spec: RunSpec, step: int, part: str, data: dict[str, Any]) -> None:
        entry = {"run": spec.run_id, "number": step, "part": part, **data}
        event_id = derived_event_id(spec.agent_id, spec.run_id, str(step), part)
        await self._store.record_step(spec.agent_id, entry, event_id)

    async def _tools_of(self, spec: RunSpec) -> list[decision.ToolInfo]:
        found = []
        for name in spec.allowed_tools:
            info = self._tool_info.get(name)
            if info is None:
                try:
                    reply = await self._tools.GetTool(
                        tools_pb.GetToolRequest(name=f"tools/{name}"), metadata=_as_owner(spec)
                    )
                except grpc.aio.AioRpcError as error:
                    if error.code() is grpc.StatusCode.NOT_FOUND:
                        continue  # an unknown tool is left out; calling it is refused
                    raise
                info = decision.ToolInfo(
                    name,
                    reply.tool.description,
                    json_format.MessageToDict(reply.tool.parameters),
                )
                self._tool_info[name] = info
            found.append(info)
        return found
