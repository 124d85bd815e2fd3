"""Executing a tool call: look the tool up, validate the arguments, honour the idempotency
key, run it (sandboxed or here), record a ``tool.executed`` event, answer.

A result is an answer whenever the tool ran, whatever its exit code or the limit that
stopped it; only a call that ran nothing (unknown tool, bad arguments, refused host, no
sandbox) is an error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from services.kit import PlatformError
from services.l03_tools import errors, grpc_tools, http_fetch, workspace
from services.l03_tools.idempotency import Claim, IdempotencyLedger, fingerprint
from services.l03_tools.registry import ToolRegistry
from services.l03_tools.sandbox import Command, OutputSink, Sandbox, SandboxUnavailable
from services.l03_tools.store import Events
from services.l03_tools.supervision import Question
from services.l03_tools.tools import ExecutionResult, Limit, ToolDefinition, ToolKind
from services.l03_tools.validation import validate_arguments
from services.l03_tools.workspace import ToolFailure, Workspaces

log = structlog.get_logger("l03.executions")

EVENT_TYPE = "tool.executed"
EXECUTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_READ_BYTES = 1024**2


@dataclass(frozen=True)
class ExecutionRequest:
    tool: str
    arguments: dict[str, Any]
    workspace: str = ""
    idempotency_key: str = ""
    execution_id: str = ""


@dataclass(frozen=True)
class Caller:
    principal: str
    roles: tuple[str, ...] = ()
    tenant: str = ""


# Asks whether a sensitive call may run: the approval id it runs under ("" when allowed
# outright), else a PlatformError (denied, rejected, still waiting, L08 away).
Gate = Callable[[Question], Awaitable[str]]


@dataclass
class _Running:
    cancel: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Run:
    """What one kind of tool produced."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    result: dict[str, Any] | None = None
    limit: Limit = Limit.NONE


def result_to_dict(result: ExecutionResult) -> dict[str, Any]:
    body = dataclasses.asdict(result)
    body["limit"] = result.limit.value
    return body


def result_from_dict(body: dict[str, Any]) -> ExecutionResult:
    return ExecutionResult(**{**body, "limit": Limit(body.get("limit", ""))})


class Executor:
    def __init__(
        self,
        registry: ToolRegistry,
        sandbox: Sandbox,
        workspaces: Workspaces,
        ledger: IdempotencyLedger,
        events: Events,
        methods: grpc_tools.MethodCaller,
        max_concurrent: int,
        gate: Gate,
    ) -> None:
        self._registry = registry
        self._sandbox = sandbox
        self._workspaces = workspaces
        self._ledger = ledger
        self._events = events
        self._methods = methods
        self._gate = gate
        self._slots = asyncio.Semaphore(max_concurrent)
        self._running: dict[str, _Running] = {}

    def cancel(self, execution_id: str) -> bool:
        running = self._running.get(execution_id)
        if running is None:
            return False
        running.cancel.set()
        return True

    async def execute(
        self,
        request: ExecutionRequest,
        caller: Caller,
        on_output: OutputSink | None = None,
        on_start: Callable[[str], Awaitable[None]] | None = None,
    ) -> ExecutionResult:
        tool = await self._registry.get(request.tool)
        validate_arguments(tool.name, tool.parameters, request.arguments)
        if tool.kind is ToolKind.HTTP_FETCH:
            # Refused here before L08 is asked: no approval for a call that cannot run.
            http_fetch.check(str(request.arguments["url"]), tool.profile)
        execution_id = request.execution_id or uuid.uuid4().hex
        if not EXECUTION_ID.match(execution_id):
            raise PlatformError(
                errors.INVALID_ARGUMENT,
                "execution_id must be 1-64 letters, digits, '_' or '-'",
                field="execution_id",
            )
        if execution_id in self._running:
            raise PlatformError(
                errors.EXECUTION_ID_IN_USE,
                f"execution {execution_id} is running",
                field="execution_id",
            )
        call = fingerprint(tool.name, request.arguments, request.workspace)
        claim: Claim | None = None
        if request.idempotency_key:
            # A replay runs nothing, so it is answered before L08 is asked.
            claimed = await self._ledger.claim(
                caller.principal, request.idempotency_key, call, tool.profile.wall_seconds
            )
            if not isinstance(claimed, Claim):
                return await _replayed(claimed, on_start)
            claim = claimed
        try:
            if tool.sensitive:
                supervised = await self._supervise(tool, request, caller, call, claim)
                if not isinstance(supervised, Claim | None):
                    return await _replayed(supervised, on_start)
                claim = supervised
        except BaseException:
            if claim is not None:
                await self._ledger.release(claim, call)
            raise
        running = self._running[execution_id] = _Running()
        try:
            if on_start is not None:
                await on_start(execution_id)
            async with self._slots:
                started = time.perf_counter()
                run = await self._run(tool, request, caller, running.cancel, on_output)
                duration = time.perf_counter() - started
        except BaseException:
            if claim is not None:
                await self._ledger.release(claim, call)
            raise
        finally:
            del self._running[execution_id]
        result = ExecutionResult(
            execution_id=execution_id,
            tool=tool.name,
            tool_version=tool.version,
            stdout=run.stdout,
            stderr=run.stderr,
            exit_code=run.exit_code,
            result=run.result,
            limit=run.limit,
            duration_seconds=duration,
        )
        await self._record(result, request, caller, claim, call)
        return result

    async def _supervise(
        self,
        tool: ToolDefinition,
        request: ExecutionRequest,
        caller: Caller,
        call: str,
        claim: Claim | None,
    ) -> Claim | dict[str, Any] | None:
        """Asks L08 (raising its refusal); returns the claim to run under, or the remembered
        result of an approved call that already ran."""
        approval = await self._gate(_question(tool, request, caller, call))
        if not approval or claim is not None:
            return claim
        # An approval is for one execution: without a key of the caller's, the approval's id
        # is the key, so sending the approved call again replays its result.
        return await self._ledger.claim(
            caller.principal, f"approval:{approval}", call, tool.profile.wall_seconds
        )

    async def _record(
        self,
        result: ExecutionResult,
        request: ExecutionRequest,
        caller: Caller,
        claim: Claim | None,
        call: str,
    ) -> None:
        """The execution's event, and the result remembered under the caller's key if it
        has one, in one L01 call; never the arguments or the output in the event (they may
        hold secrets). A lost event is logged; a result that cannot be remembered fails the
        call (a retry would run the tool again)."""
        data = {
            "execution": result.execution_id,
            "tool": result.tool,
            "version": result.tool_version,
            "principal": caller.principal,
            "workspace": request.workspace,
            "exit_code": result.exit_code,
            "limit": result.limit.value,
            "duration_ms": round(result.duration_seconds * 1000, 3),
            "idempotent": bool(request.idempotency_key),
        }
        stream = f"tool-{result.tool}"
        if claim is not None:
            record = self._ledger.done_record(claim, call, result_to_dict(result))
            try:
                await self._events.append_with_document(stream, EVENT_TYPE, data, record)
                return
            except PlatformError as exc:  # each apart, as the result must be remembered
                log.warning("execution.record_retried", execution=result.execution_id,
                            error=str(exc))  # fmt: skip
        try:
            await self._events.append(stream, EVENT_TYPE, data)
        except PlatformError as exc:
            log.error("execution.event_lost", execution=result.execution_id, error=str(exc))
        if claim is not None:
            await self._ledger.complete(claim, call, result_to_dict(result))

    async def _run(
        self,
        tool: ToolDefinition,
        request: ExecutionRequest,
        caller: Caller,
        cancel: asyncio.Event,
        on_output: OutputSink | None,
    ) -> _Run:
        arguments = request.arguments
        if tool.kind is ToolKind.GRPC_METHOD:
            return await self._call_method(tool, arguments, caller)
        if tool.kind is ToolKind.HTTP_FETCH:
            return await _fetch(tool, arguments)
        with self._workspaces.open(caller.principal, request.workspace) as directory:
            if tool.kind.sandboxed:
                return await self._sandboxed(tool, arguments, directory, cancel, on_output)
            return await _file_tool(tool, arguments, directory, self._sandbox.run_as)

    async def _sandboxed(
        self,
        tool: ToolDefinition,
        arguments: dict[str, Any],
        directory: Path,
        cancel: asyncio.Event,
        on_output: OutputSink | None,
    ) -> _Run:
        python = self._sandbox.python
        if tool.kind is ToolKind.SHELL:
            argv, stdin = list(arguments["argv"]), str(arguments.get("stdin", ""))
        elif tool.source:
            argv, stdin = [python, "-I", "-c", tool.source], json.dumps(arguments)
        else:
            argv, stdin = [python, "-I", "-c", arguments["code"]], str(arguments.get("stdin", ""))
        if self._sandbox.unsafe_local:
            log.warning("execution.unsandboxed", tool=tool.name, profile="unsafe-local")
        try:
            outcome = await self._sandbox.run(
                Command(argv, directory, tool.profile, stdin.encode()), on_output, cancel
            )
        except SandboxUnavailable as exc:
            raise PlatformError(
                errors.SANDBOX_UNAVAILABLE,
                f"no sandbox for {tool.name}: {exc}. Set L03_SANDBOX=unsafe-local to run code "
                "unisolated (development only)",
            ) from exc
        return _Run(
            stdout=outcome.stdout,
            stderr=outcome.stderr,
            exit_code=outcome.exit_code,
            result=_structured(tool, outcome.stdout) if outcome.exit_code == 0 else None,
            limit=outcome.limit,
        )

    async def _call_method(
        self, tool: ToolDefinition, arguments: dict[str, Any], caller: Caller
    ) -> _Run:
        spec = grpc_tools.resolve(tool.grpc_method)
        code, message, response = await self._methods.call(
            spec, arguments, caller.principal, caller.roles, tool.profile.wall_seconds
        )
        if response is None and code == 4:  # DEADLINE_EXCEEDED
            return _Run(stderr=message, exit_code=code, limit=Limit.TIME)
        return _Run(stderr=message, exit_code=code, result=response)


def _question(
    tool: ToolDefinition, request: ExecutionRequest, caller: Caller, call: str
) -> Question:
    return Question(
        principal=caller.principal,
        roles=caller.roles,
        tenant=caller.tenant,
        tool=tool,
        arguments=request.arguments,
        request_id=request.idempotency_key or f"call:{call}",
    )


async def _replayed(
    remembered: dict[str, Any], on_start: Callable[[str], Awaitable[None]] | None
) -> ExecutionResult:
    result = result_from_dict(remembered)
    if on_start is not None:
        await on_start(result.execution_id)
    return dataclasses.replace(result, replayed=True)


def _structured(tool: ToolDefinition, stdout: str) -> dict[str, Any] | None:
    """A registered Python tool with a result schema prints its result as the last line."""
    if not tool.source or not tool.result:
        return None
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        value = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


async def _fetch(tool: ToolDefinition, arguments: dict[str, Any]) -> _Run:
    fetched = await http_fetch.fetch(str(arguments["url"]), tool.profile)
    ok = not fetched.error and 200 <= fetched.status < 400
    return _Run(
        stdout=fetched.body,
        stderr=fetched.error,
        exit_code=0 if ok else 1,
        result={
            "status": fetched.status,
            "content_type": fetched.content_type,
            "location": fetched.location,
        },
        limit=fetched.limit,
    )


async def _file_tool(
    tool: ToolDefinition, arguments: dict[str, Any], directory: Path, owner: tuple[int, int] | None
) -> _Run:
    try:
        if tool.kind is ToolKind.READ_FILE:
            max_bytes = int(arguments.get("max_bytes", DEFAULT_READ_BYTES))
            result = await asyncio.to_thread(
                workspace.read_file, directory, arguments["path"], max_bytes
            )
            return _Run(stdout=result["content"], result=result)
        if tool.kind is ToolKind.WRITE_FILE:
            result = await asyncio.to_thread(
                workspace.write_file,
                directory,
                arguments["path"],
                arguments["content"],
                bool(arguments.get("append", False)),
                owner,
            )
            return _Run(result=result)
        result = await asyncio.to_thread(
            workspace.list_files, directory, str(arguments.get("path", ""))
        )
        return _Run(result=result)
    except ToolFailure as exc:
        return _Run(stderr=str(exc), exit_code=1)
