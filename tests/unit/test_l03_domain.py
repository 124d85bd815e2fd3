"""L03's domain, without a mesh: argument validation, the registry, idempotency records,
workspace paths, the egress allow-list and gRPC-method schemas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.kit import PlatformError
from services.l03_tools.builtins import builtin_tools
from services.l03_tools.grpc_tools import parameters_schema
from services.l03_tools.http_fetch import allowed
from services.l03_tools.idempotency import Claim, IdempotencyLedger
from services.l03_tools.registry import ToolRegistry
from services.l03_tools.store import RevisionConflict
from services.l03_tools.tools import SandboxProfile, ToolDefinition, ToolKind
from services.l03_tools.validation import validate_arguments
from services.l03_tools.workspace import list_files, read_file, resolve_inside, write_file

pytestmark = pytest.mark.unit


class MemoryDocuments:
    """Documents with revisions, in memory (the real ones are L01's)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[dict[str, Any], int]] = {}

    async def get(self, collection: str, document: str) -> tuple[dict[str, Any], int] | None:
        return self.rows.get((collection, document))

    async def put(
        self, collection: str, document: str, content: dict[str, Any], expected_revision=None
    ) -> int:
        current = self.rows.get((collection, document), ({}, 0))[1]
        if expected_revision is not None and expected_revision != current:
            raise RevisionConflict(f"{current} != {expected_revision}")
        self.rows[(collection, document)] = (content, current + 1)
        return current + 1

    async def scan(self, collection: str) -> AsyncIterator[dict[str, Any]]:
        for (stored_collection, _), (content, _) in sorted(self.rows.items()):
            if stored_collection == collection:
                yield content


def _code(error: pytest.ExceptionInfo[PlatformError]) -> str:
    return error.value.code


# -- validation ------------------------------------------------------------------------------

SHELL = next(t for t in builtin_tools(()) if t.name == "shell")


def test_every_violation_is_listed_by_its_json_path() -> None:
    with pytest.raises(PlatformError) as caught:
        validate_arguments("shell", SHELL.parameters, {"argv": ["ls", 3, ""], "x": 1, "stdin": 2})
    assert _code(caught) == "E3002"
    assert set(caught.value.metadata["paths"].split(",")) == {
        "$.argv[1]",
        "$.argv[2]",
        "$.x",
        "$.stdin",
    }


def test_a_missing_property_is_named_in_the_path() -> None:
    with pytest.raises(PlatformError) as caught:
        validate_arguments("shell", SHELL.parameters, {})
    assert caught.value.metadata["paths"] == "$.argv"
    assert caught.value.field == "arguments.argv"


def test_a_huge_value_does_not_make_a_huge_message() -> None:
    python = next(t for t in builtin_tools(()) if t.name == "python_exec")
    with pytest.raises(PlatformError) as caught:
        validate_arguments("python_exec", python.parameters, {"code": "x" * 200_000})
    assert len(caught.value.message) < 1000


def test_valid_arguments_pass() -> None:
    validate_arguments("shell", SHELL.parameters, {"argv": ["ls", "-la"], "stdin": ""})


# -- registry --------------------------------------------------------------------------------


def _registry(documents: MemoryDocuments) -> ToolRegistry:
    return ToolRegistry(documents, builtin_tools(()), parameters_schema, clock=lambda: 1000.0)


def _python_tool(name: str, description: str = "adds numbers") -> ToolDefinition:
    return ToolDefinition(
        name=name,
        kind=ToolKind.PYTHON,
        description=description,
        parameters={"type": "object"},
        source="print(1)",
    )


async def test_registered_tools_are_kept_in_documents_and_listed_after_builtins() -> None:
    documents = MemoryDocuments()
    registry = _registry(documents)
    await registry.install_builtins()
    tool, created = await registry.register(_python_tool("adder"))
    assert created and tool.update_time == 1000.0
    assert ("tools", "adder") in documents.rows
    names = [t.name for t in await _registry(documents).all(show_deprecated=False)]
    assert names[-1] == "adder" and set(names[:-1]) == {t.name for t in builtin_tools(())}


async def test_search_ranks_name_hits_first() -> None:
    registry = _registry(MemoryDocuments())
    await registry.register(_python_tool("numbers_tool", "something"))
    await registry.register(_python_tool("summer", "adds numbers"))
    found = await registry.search("numbers", show_deprecated=False, limit=10)
    assert [t.name for t in found] == ["numbers_tool", "summer"]


async def test_a_builtin_deprecation_survives_a_restart() -> None:
    documents = MemoryDocuments()
    await _registry(documents).install_builtins()
    await _registry(documents).deprecate("shell", "use python_exec")
    restarted = _registry(documents)
    await restarted.install_builtins()
    shell = await restarted.get("shell")
    assert shell.deprecated and shell.deprecation_message == "use python_exec"
    assert "shell" not in [t.name for t in await restarted.all(show_deprecated=False)]


@pytest.mark.parametrize(
    ("tool", "field"),
    [
        (_python_tool("shell"), "tool.name"),
        (ToolDefinition("x", ToolKind.SHELL, "", {"type": "object"}), "tool.kind"),
        (ToolDefinition("x", ToolKind.PYTHON, "", {"type": "object"}), "tool.source"),
        (
            ToolDefinition("x", ToolKind.PYTHON, "", {"type": "array"}, source="1"),
            "tool.parameters",
        ),
        (
            ToolDefinition(
                "x",
                ToolKind.PYTHON,
                "",
                {"type": "object"},
                source="1",
                profile=SandboxProfile(wall_seconds=0),
            ),
            "tool.profile.wall_time",
        ),
    ],
)
async def test_bad_definitions_are_refused_naming_the_field(
    tool: ToolDefinition, field: str
) -> None:
    with pytest.raises(PlatformError) as caught:
        await _registry(MemoryDocuments()).register(tool)
    assert caught.value.field == field


async def test_an_unknown_tool_is_e3001() -> None:
    with pytest.raises(PlatformError) as caught:
        await _registry(MemoryDocuments()).get("nothing")
    assert _code(caught) == "E3001"


# -- idempotency -----------------------------------------------------------------------------


async def test_a_completed_key_returns_the_result_and_another_call_is_refused() -> None:
    ledger = IdempotencyLedger(MemoryDocuments())
    claim = await ledger.claim("alice", "k1", "call-a", 10)
    assert isinstance(claim, Claim)
    await ledger.complete(claim, "call-a", {"stdout": "4\n"})
    assert await ledger.claim("alice", "k1", "call-a", 10) == {"stdout": "4\n"}
    with pytest.raises(PlatformError) as caught:
        await ledger.claim("alice", "k1", "call-b", 10)
    assert _code(caught) == "E3008"
    assert isinstance(await ledger.claim("bob", "k1", "call-b", 10), Claim)  # keys are per caller


async def test_a_second_claim_waits_for_the_first_result() -> None:
    ledger = IdempotencyLedger(MemoryDocuments())
    first = await ledger.claim("alice", "k", "call", 10)
    assert isinstance(first, Claim)
    waiting = asyncio.create_task(ledger.claim("alice", "k", "call", 10))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await ledger.complete(first, "call", {"exit_code": 0})
    assert await waiting == {"exit_code": 0}


async def test_an_expired_claim_can_be_taken_over() -> None:
    now = [0.0]
    ledger = IdempotencyLedger(MemoryDocuments(), clock=lambda: now[0])
    assert isinstance(await ledger.claim("alice", "k", "call", 10), Claim)
    now[0] = 1000.0  # the claimer died with its sandbox; its lease ran out
    assert isinstance(await ledger.claim("alice", "k", "call", 10), Claim)


# -- workspace paths -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../x", "link/passwd", "nul\x00"])
def test_paths_leading_outside_the_workspace_are_refused(tmp_path: Path, path: str) -> None:
    (tmp_path / "link").symlink_to("/etc")
    with pytest.raises(PlatformError) as caught:
        resolve_inside(tmp_path, path)
    assert _code(caught) == "E3011"


def test_files_are_written_read_and_listed_inside(tmp_path: Path) -> None:
    assert write_file(tmp_path, "a/b.txt", "hello", False, None)["bytes_written"] == 5
    write_file(tmp_path, "a/b.txt", "!", True, None)
    assert read_file(tmp_path, "a/b.txt", 3) == {
        "path": "a/b.txt",
        "content": "hel",
        "size": 6,
        "truncated": True,
    }
    assert [e["path"] for e in list_files(tmp_path, "")["entries"]] == ["a", "a/b.txt"]


# -- egress allow-list, gRPC schemas ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "hosts", "expected"),
    [
        ("https://example.com/x", ("example.com",), True),
        ("https://example.com:8443/x", ("example.com:8443",), True),
        ("https://example.com/x", ("example.com:8443",), False),
        ("http://example.com.evil.net/", ("example.com",), False),
        ("http://127.0.0.1:5432/", (), False),
    ],
)
def test_only_listed_hosts_are_allowed(url: str, hosts: tuple[str, ...], expected: bool) -> None:
    assert allowed(url, hosts) is expected


def test_a_method_schema_comes_from_its_request_message() -> None:
    schema = parameters_schema("agentic.data.v1.DocumentService/GetDocument")
    assert schema["properties"] == {"name": {"type": "string"}}
    assert schema["additionalProperties"] is False
    with pytest.raises(PlatformError):
        parameters_schema("agentic.data.v1.DocumentService/NoSuchMethod")
