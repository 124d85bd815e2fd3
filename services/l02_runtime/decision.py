"""What the agent asks the model each step, and how its answer is read.

Every provider, the offline model included, answers a JSON-Schema-constrained request (L04
validates and repairs it), so tool calls travel as a constrained decision rather than as
native tool calls: ``{"action": "call_tool", "tool": ..., "arguments": {...}}`` or
``{"action": "finish", "answer": ...}``. The model's answer is untrusted input: a tool outside
the allow-list is refused here and reported back to the model; the arguments are checked
against the tool's schema by L03 before anything runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from services.l02_runtime.run_types import RunContext, RunSpec

CALL_TOOL = "call_tool"
FINISH = "finish"
# Kept short: long string limits make constrained generation slow on small models.
_THOUGHT_CHARS = 300
_ANSWER_CHARS = 2000


@dataclass(frozen=True)
class ToolInfo:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Decision:
    action: str  # CALL_TOOL, FINISH, or "" when the answer was unusable
    thought: str = ""
    tool: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    answer: str = ""
    problem: str = ""  # why the answer could not be used


def decision_schema(tools: list[ToolInfo]) -> dict[str, Any]:
    """The JSON Schema every answer must meet; tool names limited to the allowed ones."""
    actions = [FINISH] + ([CALL_TOOL] if tools else [])
    properties: dict[str, Any] = {
        "thought": {"type": "string", "maxLength": _THOUGHT_CHARS},
        "action": {"type": "string", "enum": actions},
        "answer": {"type": "string", "maxLength": _ANSWER_CHARS},
    }
    if tools:
        properties["tool"] = {"type": "string", "enum": [tool.name for tool in tools]}
        properties["arguments"] = {"type": "object"}
    return {
        "type": "object",
        "properties": properties,
        "required": ["action"],
        "additionalProperties": False,
    }


def system_prompt(
    role: str,
    skills: tuple[str, ...],
    instructions: str,
    tools: list[ToolInfo],
    context: RunContext | None = None,
) -> str:
    if context is not None and context.role:
        lines = [context.role, "Work on the user's task step by step."]
    else:
        lines = [
            f"You are an agent acting as a {role or 'software engineer'}."
            " Work on the user's task step by step.",
        ]
    if skills:
        lines.append(f"Your skills: {', '.join(skills)}.")
    if context is not None and context.skills:
        lines.append("Apply them as these instructions say:")
        lines.extend(context.skills)
    if instructions:
        lines.append(instructions)
    if tools:
        lines.append(
            'To use a tool answer {"action": "call_tool", "tool": <name>, "arguments": {...}};'
            " its result comes back in the next message."
        )
        for tool in tools:
            schema = json.dumps(tool.parameters, separators=(",", ":"))
            lines.append(f"- {tool.name}: {tool.description} Arguments: {schema}")
    lines.append('When done answer {"action": "finish", "answer": <the final answer>}.')
    return "\n".join(lines)


def context_summary(spec: RunSpec, context: RunContext) -> str:
    """The context step's text: what the agent was given, and what not."""
    parts = []
    if spec.role:
        parts.append(f"role {spec.role}: " + ("context loaded" if context.role else "name only"))
    if spec.skills:
        parts.append(f"skills: {len(context.skills)} of {len(set(spec.skills))} loaded")
    return "; ".join(parts + context.notes) or "no role or skills"


def read_decision(structured: Any, content: str, allowed: tuple[str, ...]) -> Decision:
    """The model's answer as a decision; a problem (not an exception) when unusable."""
    value = structured if isinstance(structured, dict) else _parse(content)
    if not isinstance(value, dict):
        return Decision("", problem="the answer was not a JSON object")
    action = value.get("action")
    thought = str(value.get("thought", ""))[:_THOUGHT_CHARS]
    if action == FINISH:
        return Decision(FINISH, thought=thought, answer=str(value.get("answer", "")))
    if action != CALL_TOOL:
        return Decision("", thought=thought, problem=f"unknown action {action!r}")
    tool = value.get("tool")
    arguments = value.get("arguments", {})
    if not isinstance(tool, str) or not tool:
        return Decision("", thought=thought, problem="a tool call without a tool name")
    if tool not in allowed:
        allowed_names = ", ".join(allowed) or "none"
        return Decision(
            "",
            thought=thought,
            tool=tool,
            problem=f"tool {tool!r} is not allowed for this agent (allowed: {allowed_names})",
        )
    if not isinstance(arguments, dict):
        return Decision("", thought=thought, tool=tool, problem="arguments must be an object")
    return Decision(CALL_TOOL, thought=thought, tool=tool, arguments=arguments)


def _parse(content: str) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def tool_result_message(tool: str, exit_code: int, stdout: str, stderr: str, limit: str) -> str:
    """What the model reads back after a tool ran (output cut to keep the context small)."""
    parts = [f"Tool {tool} finished with exit code {exit_code}."]
    if limit:
        parts.append(f"It was stopped by its {limit} limit.")
    if stdout:
        parts.append(f"stdout:\n{stdout[:2000]}")
    if stderr:
        parts.append(f"stderr:\n{stderr[:1000]}")
    return "\n".join(parts)
