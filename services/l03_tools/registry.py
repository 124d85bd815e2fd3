"""The tool registry, kept in L01 documents (collection ``tools``, one document per tool).

Built-ins are defined in code and written to the collection at start (a deprecation of a
built-in is kept across restarts). Lookups are cached for a couple of seconds per process,
so an execution does not pay a round trip to L01 for its tool's definition.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from services.kit import PlatformError
from services.l03_tools import errors
from services.l03_tools.store import Documents, RevisionConflict
from services.l03_tools.tools import NAME_PATTERN, SandboxProfile, ToolDefinition, ToolKind
from services.l03_tools.validation import check_schema

log = structlog.get_logger("l03.registry")

COLLECTION = "tools"
CACHE_SECONDS = 2.0
MAX_SOURCE_CHARS = 100_000
REGISTRABLE = (ToolKind.PYTHON, ToolKind.HTTP_FETCH, ToolKind.GRPC_METHOD)


def to_document(tool: ToolDefinition) -> dict[str, Any]:
    body = dataclasses.asdict(tool)
    body["kind"] = tool.kind.value
    body["profile"]["allowed_hosts"] = list(tool.profile.allowed_hosts)
    return body


def from_document(body: dict[str, Any]) -> ToolDefinition:
    profile = dict(body.get("profile") or {})
    profile["allowed_hosts"] = tuple(profile.get("allowed_hosts", ()))
    return ToolDefinition(
        **{
            **body,
            "kind": ToolKind(body["kind"]),
            "profile": SandboxProfile(**profile),
            "update_time": float(body.get("update_time", 0.0)),
        }
    )


def unknown(name: str) -> PlatformError:
    return PlatformError(
        errors.UNKNOWN_TOOL, f"no tool named {name!r} (GET /v1/tools lists them)", field="name"
    )


class ToolRegistry:
    def __init__(
        self,
        documents: Documents,
        builtins: Sequence[ToolDefinition],
        method_schema: Callable[[str], dict[str, Any]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._documents = documents
        # The JSON Schema of a gRPC method's request; refuses a method the mesh lacks.
        self._method_schema = method_schema
        self._builtins = {tool.name: tool for tool in builtins}
        self._clock = clock
        self._cache: dict[str, tuple[float, ToolDefinition]] = {}

    async def install_builtins(self) -> None:
        """Writes the built-ins to L01, keeping a stored deprecation."""
        for tool in self._builtins.values():
            stored = await self._documents.get(COLLECTION, tool.name)
            current = tool
            if stored is not None:
                previous = from_document(stored[0])
                if previous.deprecated:
                    current = tool.deprecate(previous.deprecation_message)
                if to_document(previous) == to_document(
                    dataclasses.replace(current, update_time=previous.update_time)
                ):
                    continue
            await self._documents.put(
                COLLECTION,
                tool.name,
                to_document(dataclasses.replace(current, update_time=self._clock())),
            )

    async def get(self, name: str) -> ToolDefinition:
        cached = self._cache.get(name)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        if not NAME_PATTERN.match(name):
            raise unknown(name)
        stored = await self._documents.get(COLLECTION, name)
        if stored is not None:
            tool = from_document(stored[0])
        elif name in self._builtins:
            tool = self._builtins[name]
        else:
            raise unknown(name)
        self._remember(tool)
        return tool

    async def all(self, show_deprecated: bool) -> list[ToolDefinition]:
        """Every tool, built-ins first, then by name."""
        tools = {name: tool for name, tool in self._builtins.items()}
        async for body in self._documents.scan(COLLECTION):
            tool = from_document(body)
            tools[tool.name] = tool
        listed = [t for t in tools.values() if show_deprecated or not t.deprecated]
        return sorted(listed, key=lambda t: (not t.builtin, t.name))

    async def search(self, query: str, show_deprecated: bool, limit: int) -> list[ToolDefinition]:
        """Tools whose name or description holds every word of the query; name hits first."""
        words = query.lower().split()
        if not words or len(query) > 200:
            raise PlatformError(
                errors.INVALID_ARGUMENT, "query must be 1-200 characters of words", field="query"
            )
        found = []
        for tool in await self.all(show_deprecated):
            text = f"{tool.name} {tool.description}".lower()
            if all(word in text for word in words):
                name_hits = sum(word in tool.name.lower() for word in words)
                found.append((-name_hits, tool.name, tool))
        return [tool for *_, tool in sorted(found, key=lambda item: item[:2])][:limit]

    async def register(self, tool: ToolDefinition) -> tuple[ToolDefinition, bool]:
        """Stores a checked definition; returns it and whether it is new."""
        if tool.kind is ToolKind.GRPC_METHOD:
            schema = self._method_schema(tool.grpc_method)
            tool = dataclasses.replace(tool, parameters=tool.parameters or schema)
        self._check(tool)
        tool = dataclasses.replace(
            tool, builtin=False, deprecated=False, deprecation_message="", update_time=self._clock()
        )
        existed = await self._documents.get(COLLECTION, tool.name) is not None
        await self._documents.put(COLLECTION, tool.name, to_document(tool))
        self._remember(tool)
        log.info("tool.registered", tool=tool.name, version=tool.version, kind=tool.kind.value)
        return tool, not existed

    async def deprecate(self, name: str, message: str) -> ToolDefinition:
        if len(message) > 1000:
            raise PlatformError(
                errors.INVALID_ARGUMENT, "message is over 1,000 characters", field="message"
            )
        if "\x00" in message:
            raise PlatformError(
                errors.INVALID_ARGUMENT,
                "message must not contain the NUL character",
                field="message",
            )
        for _ in range(5):
            stored = await self._documents.get(COLLECTION, name)
            if stored is None:
                if name not in self._builtins:
                    raise unknown(name)
                body, revision = to_document(self._builtins[name]), 0
            else:
                body, revision = stored
            tool = from_document(body).deprecate(message)
            try:
                await self._documents.put(COLLECTION, name, to_document(tool), revision)
            except RevisionConflict:
                continue
            self._remember(tool)
            return tool
        raise PlatformError(errors.STORE_UNAVAILABLE, f"tool {name!r} kept changing; retry")

    def _remember(self, tool: ToolDefinition) -> None:
        self._cache[tool.name] = (time.monotonic() + CACHE_SECONDS, tool)

    def _check(self, tool: ToolDefinition) -> None:
        def invalid(field: str, why: str) -> PlatformError:
            return PlatformError(errors.INVALID_TOOL, f"{field} {why}", field=field)

        if not NAME_PATTERN.match(tool.name):
            raise invalid(
                "tool.name",
                "must be 'tools/' and 1-64 letters, digits, '_' or '-', starting with a letter",
            )
        if tool.name in self._builtins:
            raise PlatformError(
                errors.BUILTIN_TOOL,
                f"{tool.name} is a built-in tool; register yours under another name",
                field="tool.name",
            )
        if tool.kind not in REGISTRABLE:
            raise invalid(
                "tool.kind",
                "must be TOOL_KIND_PYTHON, TOOL_KIND_HTTP_FETCH or TOOL_KIND_GRPC_METHOD",
            )
        if tool.kind is ToolKind.PYTHON and not 0 < len(tool.source) <= MAX_SOURCE_CHARS:
            raise invalid("tool.source", f"must hold 1-{MAX_SOURCE_CHARS} characters of Python")
        if not 1 <= len(tool.version) <= 32:
            raise invalid("tool.version", "must be 1-32 characters")
        if len(tool.description) > 4000:
            raise invalid("tool.description", "is over 4,000 characters")
        check_schema(tool.parameters, "tool.parameters")
        if tool.result:
            check_schema(tool.result, "tool.result")
        for field, why in tool.profile.problems():
            raise invalid(f"tool.profile.{field}", why)
