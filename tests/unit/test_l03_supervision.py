"""L03's question to L08 and what it makes of the answer, without a mesh."""

from __future__ import annotations

from typing import Any

import pytest

from services.kit import PlatformError
from services.l03_tools.builtins import builtin_tools
from services.l03_tools.supervision import (
    MAX_ARGUMENTS_BYTES,
    Question,
    Ruling,
    admitted,
    context_of,
)
from services.l03_tools.tools import ToolDefinition

pytestmark = [pytest.mark.unit]

BUILTINS = {tool.name: tool for tool in builtin_tools(("example.org",))}


def _question(tool: ToolDefinition, **arguments: Any) -> Question:
    return Question("alice", ("tool_user",), "acme", tool, arguments, "key-1")


def _refusal(ruling: Ruling) -> PlatformError:
    with pytest.raises(PlatformError) as refused:
        admitted(_question(BUILTINS["shell"], argv=["ls"]), ruling)
    return refused.value


def test_shell_and_http_fetch_are_the_sensitive_builtins() -> None:
    assert {name for name, tool in BUILTINS.items() if tool.sensitive} == {"shell", "http_fetch"}


def test_allowed_runs_outright_and_approved_runs_under_its_approval() -> None:
    question = _question(BUILTINS["shell"], argv=["ls"])
    assert admitted(question, Ruling("allow")) == ""
    approved = Ruling("escalate", approval_id="ap1", approval_state="approved")
    assert admitted(question, approved) == "ap1"


def test_a_denial_names_the_deciding_policies_and_reasons() -> None:
    error = _refusal(Ruling("deny", ("never on Sundays",), ("no-sundays",)))
    assert error.code == "E3015" and "never on Sundays" in error.message
    assert error.metadata["policies"] == "no-sundays"


def test_a_pending_approval_is_a_precondition_carrying_its_id() -> None:
    error = _refusal(
        Ruling("escalate", ("sensitive",), approval_id="ap2", approval_state="pending")
    )
    assert error.code == "E3014" and "ap2" in error.message
    assert error.metadata["approval_id"] == "ap2"


def test_a_rejection_and_an_expiry_say_which_and_why() -> None:
    rejected = _refusal(
        Ruling(
            "escalate",
            approval_id="ap3",
            approval_state="rejected",
            decided_by="bob",
            comment="not on prod",
        )
    )
    assert rejected.code == "E3016" and "bob" in rejected.message
    assert "not on prod" in rejected.message and rejected.metadata["expired"] == "false"
    expired = _refusal(
        Ruling(
            "escalate",
            approval_id="ap4",
            approval_state="rejected",
            decided_by="l08_supervision",
            comment="expired",
        )
    )
    assert expired.code == "E3016" and "expired" in expired.message
    assert expired.metadata["expired"] == "true"


def test_the_context_carries_arguments_tenant_and_the_fetch_target() -> None:
    context = context_of(_question(BUILTINS["http_fetch"], url="https://Example.org:8443/x"))
    assert context == {
        "arguments": '{"url":"https://Example.org:8443/x"}',
        "tenant": "acme",
        "target": "example.org",
    }


def test_arguments_too_big_for_l08_to_judge_whole_are_refused() -> None:
    big = "x" * MAX_ARGUMENTS_BYTES
    with pytest.raises(PlatformError) as refused:
        context_of(_question(BUILTINS["shell"], argv=[big]))
    assert refused.value.code == "E3003" and refused.value.field == "arguments"
