"""An agent's state, its lifecycle rules, and how its events fold into it.

The agent's stream (``agent-{id}`` in L01) is the truth; ``AgentView`` is the fold of that
stream, kept as a projection document so reads need no replay. ``apply`` is the one place
that says what an event does, and ``transition`` the one place that says which state changes
are allowed: both pure, tested without a database.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from services.kit import PlatformError
from services.l02_runtime import errors


class State(enum.StrEnum):
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    TERMINATED = "TERMINATED"
    FAILED = "FAILED"


FINAL = (State.TERMINATED, State.FAILED)

# CREATED -> RUNNING <-> PAUSED -> TERMINATED | FAILED (FAILED and TERMINATED from any live state).
ALLOWED: dict[State, tuple[State, ...]] = {
    State.CREATED: (State.RUNNING, State.TERMINATED, State.FAILED),
    State.RUNNING: (State.PAUSED, State.TERMINATED, State.FAILED),
    State.PAUSED: (State.RUNNING, State.TERMINATED, State.FAILED),
    State.TERMINATED: (),
    State.FAILED: (),
}


class RunStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


# Event types of an agent's stream.
CREATED = "agent.created"
STATE_CHANGED = "agent.state_changed"
RUN_STARTED = "agent.run_started"
STEP_RECORDED = "agent.step_recorded"
RUN_FINISHED = "agent.run_finished"


@dataclass(frozen=True)
class Budgets:
    max_steps: int = 8
    max_tokens: int = 200_000
    max_wall_seconds: float = 300.0
    max_cost_usd: float = 0.0  # 0: no cost limit


@dataclass(frozen=True)
class AgentSpec:
    """What a caller decides about an agent (everything but its state and counters)."""

    display_name: str
    role: str = ""
    skills: tuple[str, ...] = ()
    instructions: str = ""
    model: str = ""
    strategy: str = ""
    temperature: float | None = None
    max_answer_tokens: int = 512
    allowed_tools: tuple[str, ...] = ()
    budgets: Budgets = field(default_factory=Budgets)


@dataclass(frozen=True)
class AgentView:
    agent_id: str
    spec: AgentSpec
    owner: str
    tenant: str = ""  # the owner's tenant: L04 and L03 act in it for the agent
    state: State = State.CREATED
    state_reason: str = ""
    current_run: str = ""  # run id
    run_active: bool = False
    tokens_used: int = 0
    cost_usd: float = 0.0
    tool_calls: int = 0
    create_time: str = ""
    update_time: str = ""
    version: int = -1  # last version of its stream folded in

    def to_document(self) -> dict[str, Any]:
        body = asdict(self)
        body["state"] = self.state.value
        return body

    @classmethod
    def from_document(cls, body: dict[str, Any]) -> AgentView:
        # JSON documents carry every number as a double: the integers are made whole again.
        spec = dict(body["spec"])
        spec["skills"] = tuple(spec.get("skills", ()))
        spec["allowed_tools"] = tuple(spec.get("allowed_tools", ()))
        spec["max_answer_tokens"] = int(spec.get("max_answer_tokens", 512))
        budgets = dict(spec.get("budgets", {}))
        for name in ("max_steps", "max_tokens"):
            if name in budgets:
                budgets[name] = int(budgets[name])
        spec["budgets"] = Budgets(**budgets)
        values = {**body, "spec": AgentSpec(**spec), "state": State(body["state"])}
        values["version"] = int(values["version"])
        values["tool_calls"] = int(values["tool_calls"])
        values["tokens_used"] = int(values["tokens_used"])
        return cls(**values)

    def budget_left(self) -> str | None:
        """Why the agent may not start another run, if its life budgets are spent."""
        budgets = self.spec.budgets
        if self.tokens_used >= budgets.max_tokens:
            return f"its token budget ({budgets.max_tokens}) is spent"
        if budgets.max_cost_usd and self.cost_usd >= budgets.max_cost_usd:
            return f"its cost budget (${budgets.max_cost_usd}) is spent"
        return None


def transition(view: AgentView, target: State) -> None:
    """Raises E2004 naming both states unless the machine allows ``view.state -> target``."""
    if target not in ALLOWED[view.state]:
        raise PlatformError(
            errors.ILLEGAL_TRANSITION,
            f"agent {view.agent_id} is {view.state.value}: it cannot become {target.value}",
            metadata={"state": view.state.value, "target": target.value},
        )


def created(agent_id: str, spec: AgentSpec, owner: str, tenant: str, time: str) -> AgentView:
    return AgentView(agent_id, spec, owner, tenant, create_time=time, update_time=time)


def apply(
    view: AgentView, event_type: str, data: dict[str, Any], version: int, time: str
) -> AgentView:
    """The agent after one more event of its stream (``version`` is the event's)."""
    if version <= view.version:  # already folded in (a retried activity)
        return view
    view = replace(view, version=version, update_time=time)
    if event_type == STATE_CHANGED:
        return replace(view, state=State(data["state"]), state_reason=data.get("reason", ""))
    if event_type == RUN_STARTED:
        return replace(view, state=State.RUNNING, current_run=data["run"], run_active=True)
    if event_type == STEP_RECORDED:
        return replace(
            view,
            tokens_used=view.tokens_used + int(data.get("tokens", 0)),
            cost_usd=view.cost_usd + float(data.get("cost_usd", 0.0)),
            tool_calls=view.tool_calls + (1 if data.get("kind") == "tool" else 0),
        )
    if event_type == RUN_FINISHED:
        return replace(view, run_active=False)
    return view
