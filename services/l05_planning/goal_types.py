"""The values the goal workflow and its activities pass each other (Temporal serialises them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GoalSpec:
    """A goal and its constraints, resolved to numbers when it was submitted."""

    goal_id: str
    goal: str
    owner: str
    token_budget: int
    wall_seconds: float
    max_parallelism: int
    allowed_tools: list[str]  # empty: every registered tool
    forbidden_tools: list[str]
    require_approval: bool
    max_task_attempts: int
    agent_task_queue: str = "agentic-agent-runs"  # L02's: where a task's run is started
    fresh_plan: bool = False  # never reuse an earlier goal's plan


@dataclass(frozen=True)
class KnownNames:
    """What a plan may name: L03's usable tools (as the goal narrows them), L13's roles,
    L14's skills."""

    tools: list[str]
    roles: list[str]
    skills: list[str]


@dataclass(frozen=True)
class PlanInput:
    goal: GoalSpec
    names: KnownNames


@dataclass(frozen=True)
class TaskSpec:
    id: str
    description: str
    role: str
    skills: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    acceptance_criteria: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlanOrigin:
    """Where a plan came from: ``reused_from`` ("goals/{id}") names the earlier goal whose
    plan was reused, empty when planned afresh; ``reason`` says why (not)."""

    reused_from: str = ""
    similarity: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class PlanResult:
    tasks: list[TaskSpec]
    problems: list[str]  # every reason of the last refusal; empty when the plan is valid
    tokens: int
    calls: int
    origin: PlanOrigin = field(default_factory=PlanOrigin)


@dataclass(frozen=True)
class CompletedPlan:
    """A completed goal's plan, for the plan library."""

    goal: GoalSpec
    tasks: list[TaskSpec]


@dataclass(frozen=True)
class TaskInput:
    goal: GoalSpec
    task: TaskSpec
    context: list[tuple[str, str]]  # (dependency id, its output)
    tokens_left: int
    attempt: int = 1


@dataclass(frozen=True)
class TaskStart:
    """A task attempt's agent, created, and the input of its run's workflow."""

    agent: str  # agents/{id}
    workflow_id: str
    run_input: dict[str, Any]


@dataclass(frozen=True)
class TaskOutcome:
    task_id: str
    output: str
    tokens: int
    attempts: int
    agent: str


@dataclass(frozen=True)
class GoalEvent:
    """An event of the goal's stream; ``key`` makes its id stable across retries."""

    goal_id: str
    type: str
    data_json: str
    key: str


@dataclass(frozen=True)
class TaskStopped:
    """A cancelled task's agent, to terminate."""

    agent: str  # agents/{id}
    owner: str
    reason: str


def workflow_id_of(goal_id: str) -> str:
    """The goal's workflow id (one workflow per goal)."""
    return f"goal-{goal_id}"


@dataclass(frozen=True)
class ApprovalAsk:
    """A validated plan to put before a person: what the goal's L08 approval shows."""

    goal: GoalSpec
    tasks: list[TaskSpec]
    ttl_seconds: float  # how long it stays open (L08 caps it)


@dataclass(frozen=True)
class ApprovalRef:
    """The goal's approval in L08, opened."""

    id: str
    expire_time: str  # RFC 3339


@dataclass(frozen=True)
class ApprovalDecision:
    """Where the approval stands: "pending", "approved", "rejected" or "expired"."""

    state: str
    by: str = ""
    comment: str = ""
