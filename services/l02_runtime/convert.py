"""Between the contract's messages and the domain's values, and the checks of bad input."""

from __future__ import annotations

import re
from typing import Any

from agentic.runtime.v1 import agents_pb2 as pb
from services.kit import PlatformError
from services.l02_runtime import errors
from services.l02_runtime.agents import AgentSpec, AgentView, Budgets

# An agent id is also the id of its L01 document, which cannot start with "-".
_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_TOOL = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
MAX_TASK_CHARS = 32_000
MAX_INSTRUCTIONS_CHARS = 8_000
MAX_STEPS = 100
MAX_WALL_SECONDS = 3600.0
MAX_ANSWER_TOKENS = 4096


def _bad(field: str, message: str) -> PlatformError:
    return PlatformError(errors.INVALID_ARGUMENT, f"{field}: {message}", field=field)


def agent_id_of(name: str, field: str = "name") -> str:
    prefix, _, agent_id = name.partition("/")
    if prefix != "agents" or not _ID.fullmatch(agent_id):
        raise _bad(
            field, "must be 'agents/{agent_id}' with 1-64 letters, digits, '_' or '-' (not first)"
        )
    return agent_id


def run_of(name: str) -> tuple[str, str]:
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "agents" or parts[2] != "runs":
        raise _bad("name", "must be 'agents/{agent_id}/runs/{run_id}'")
    if not _ID.fullmatch(parts[1]) or not _ID.fullmatch(parts[3]):
        raise _bad("name", "ids are 1-64 letters, digits, '_' or '-'")
    return parts[1], parts[3]


def check_new_id(agent_id: str) -> None:
    if agent_id and not _ID.fullmatch(agent_id):
        raise _bad("agent_id", "must be 1-64 letters, digits, '_' or '-' (not first)")


def check_text(field: str, value: str) -> None:
    """PostgreSQL (L01) cannot store the NUL character: refused here, naming the field."""
    if "\x00" in value:
        raise _bad(field, "must not contain the NUL character")


def check_task(task: str) -> None:
    check_text("task", task)
    if not task.strip():
        raise _bad("task", "must not be empty")
    if len(task) > MAX_TASK_CHARS:
        raise _bad("task", f"is {len(task)} characters; at most {MAX_TASK_CHARS}")


def check_idempotency_key(key: str) -> None:
    if key and not _KEY.fullmatch(key):
        raise _bad("idempotency_key", "must be 1-128 letters, digits, '_', '-', '.' or ':'")


def spec_from(agent: pb.Agent) -> AgentSpec:
    """The caller's agent, checked field by field (output-only fields ignored)."""
    for field in ("display_name", "instructions", "role"):
        check_text(f"agent.{field}", getattr(agent, field))
    for index, skill in enumerate(agent.skills):
        check_text(f"agent.skills[{index}]", skill)
    check_text("agent.model_policy.model", agent.model_policy.model)
    name = agent.display_name.strip()
    if not name or len(name) > 128:
        raise _bad("agent.display_name", "must be 1-128 characters")
    if len(agent.instructions) > MAX_INSTRUCTIONS_CHARS:
        raise _bad("agent.instructions", f"at most {MAX_INSTRUCTIONS_CHARS} characters")
    for index, tool in enumerate(agent.allowed_tools):
        if not _TOOL.fullmatch(tool):
            raise _bad(f"agent.allowed_tools[{index}]", f"{tool!r} is not a tool name")
    if len(set(agent.allowed_tools)) != len(agent.allowed_tools):
        raise _bad("agent.allowed_tools", "names a tool twice")
    for index, skill in enumerate(agent.skills):
        if not skill or len(skill) > 64:
            raise _bad(f"agent.skills[{index}]", "must be 1-64 characters")
    if len(agent.role) > 64:
        raise _bad("agent.role", "at most 64 characters")
    policy = agent.model_policy
    temperature = policy.temperature if policy.HasField("temperature") else None
    if temperature is not None and not 0 <= temperature <= 2:
        raise _bad("agent.model_policy.temperature", "must be 0-2")
    if not 0 <= policy.max_tokens <= MAX_ANSWER_TOKENS:
        raise _bad("agent.model_policy.max_tokens", f"must be 0-{MAX_ANSWER_TOKENS}")
    strategy = policy.strategy.lower()
    if strategy and strategy not in (
        "capability",
        "cost",
        "latency",
        "quality",
        "pinned",
        "round_robin",
    ):
        raise _bad("agent.model_policy.strategy", f"unknown strategy {policy.strategy!r}")
    return AgentSpec(
        display_name=name,
        role=agent.role,
        skills=tuple(agent.skills),
        instructions=agent.instructions,
        model=policy.model,
        strategy=strategy,
        temperature=temperature,
        max_answer_tokens=policy.max_tokens or 512,
        allowed_tools=tuple(agent.allowed_tools),
        budgets=_budgets(agent.budgets),
    )


def _budgets(given: pb.Budgets) -> Budgets:
    defaults = Budgets()
    if not 0 <= given.max_steps <= MAX_STEPS:
        raise _bad("agent.budgets.max_steps", f"must be 0-{MAX_STEPS}")
    if given.max_tokens < 0:
        raise _bad("agent.budgets.max_tokens", "must not be negative")
    if given.max_cost_usd < 0:
        raise _bad("agent.budgets.max_cost_usd", "must not be negative")
    wall = given.max_wall_time.ToTimedelta().total_seconds()
    if not 0 <= wall <= MAX_WALL_SECONDS:
        raise _bad("agent.budgets.max_wall_time", f"must be 0-{MAX_WALL_SECONDS:g} s")
    return Budgets(
        max_steps=given.max_steps or defaults.max_steps,
        max_tokens=given.max_tokens or defaults.max_tokens,
        max_wall_seconds=wall or defaults.max_wall_seconds,
        max_cost_usd=given.max_cost_usd,
    )


def agent_message(view: AgentView) -> pb.Agent:
    spec = view.spec
    agent = pb.Agent(
        name=f"agents/{view.agent_id}",
        display_name=spec.display_name,
        role=spec.role,
        skills=spec.skills,
        instructions=spec.instructions,
        allowed_tools=spec.allowed_tools,
        state=pb.AgentState.Value(f"AGENT_STATE_{view.state.value}"),
        state_reason=view.state_reason,
        current_run=f"agents/{view.agent_id}/runs/{view.current_run}" if view.current_run else "",
        tokens_used=view.tokens_used,
        cost_usd=view.cost_usd,
        tool_calls=view.tool_calls,
        owner=view.owner,
        version=view.version,
    )
    agent.model_policy.model = spec.model
    agent.model_policy.strategy = spec.strategy
    agent.model_policy.max_tokens = spec.max_answer_tokens
    if spec.temperature is not None:
        agent.model_policy.temperature = spec.temperature
    agent.budgets.max_steps = spec.budgets.max_steps
    agent.budgets.max_tokens = spec.budgets.max_tokens
    agent.budgets.max_cost_usd = spec.budgets.max_cost_usd
    agent.budgets.max_wall_time.FromNanoseconds(int(spec.budgets.max_wall_seconds * 1e9))
    if view.create_time:
        agent.create_time.FromJsonString(view.create_time)
    if view.update_time:
        agent.update_time.FromJsonString(view.update_time)
    return agent


def run_message(
    agent_id: str, run_id: str, body: dict[str, Any], steps: list[dict[str, Any]]
) -> pb.Run:
    run = pb.Run(
        name=f"agents/{agent_id}/runs/{run_id}",
        task=body.get("task", ""),
        status=pb.RunStatus.Value(f"RUN_STATUS_{body.get('status', 'RUNNING')}"),
        answer=body.get("answer", ""),
        reason=body.get("reason", ""),
        tokens_used=int(body.get("tokens_used", 0)),
    )
    if run.status != pb.RUN_STATUS_RUNNING:
        run.tokens_used = int(body.get("tokens_used", 0))
    else:
        run.tokens_used = sum(int(step.get("tokens", 0)) for step in steps)
    for entry in steps:
        step = run.steps.add(
            number=int(entry["number"]),
            kind=entry.get("kind", ""),
            tool=entry.get("tool", ""),
            text=entry.get("text", ""),
            exit_code=int(entry.get("exit_code", 0)),
            tokens=int(entry.get("tokens", 0)),
        )
        if entry.get("arguments"):
            step.arguments.update(entry["arguments"])
    if body.get("start_time"):
        run.start_time.FromJsonString(body["start_time"])
    if body.get("end_time"):
        run.end_time.FromJsonString(body["end_time"])
    return run


def event_message(event: Any) -> pb.WatchAgentResponse:
    reply = pb.WatchAgentResponse(version=event.stream_version, type=event.type)
    reply.data.CopyFrom(event.data)
    reply.time.CopyFrom(event.recorded_at)
    return reply
