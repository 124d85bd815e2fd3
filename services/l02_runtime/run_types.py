"""The values a run's workflow and its activities pass each other (Temporal serialises them)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunSpec:
    """Everything a run needs, fixed when it starts (a workflow's input never changes)."""

    agent_id: str
    run_id: str
    owner: str
    tenant: str
    task: str
    role: str
    skills: list[str]
    instructions: str
    model: str
    strategy: str
    temperature: float | None
    max_answer_tokens: int
    allowed_tools: list[str]
    workspace: str
    max_steps: int
    tokens_left: int  # of the agent's life budget when the run started
    cost_left_usd: float  # 0: no cost limit
    max_wall_seconds: float


@dataclass(frozen=True)
class Turn:
    role: str  # "user" or "assistant"
    content: str


@dataclass(frozen=True)
class RunContext:
    """What the agent is told of its role and skills, fetched once when the run starts."""

    role: str = ""  # L13's context for the role and the task ("" when there is none)
    skills: list[str] = field(default_factory=list)  # L14's texts, most relevant first
    notes: list[str] = field(default_factory=list)  # what was left out or failed, and why


@dataclass(frozen=True)
class DecideInput:
    spec: RunSpec
    step: int
    turns: list[Turn] = field(default_factory=list)
    context: RunContext | None = None  # the role's and skills' texts, once fetched
    fetch_context: bool = False  # the run's first decision: fetch them (and record step 0)


@dataclass(frozen=True)
class DecideResult:
    action: str  # "call_tool", "finish", "" (unusable answer: `problem` says why), "budget"
    raw: str = ""  # the model's answer as sent back to it next turn
    tool: str = ""
    arguments_json: str = "{}"
    answer: str = ""
    problem: str = ""
    tokens: int = 0
    cost_usd: float = 0.0
    context: RunContext | None = None  # fetched for this decision (``fetch_context``)


@dataclass(frozen=True)
class ToolInput:
    spec: RunSpec
    step: int
    tool: str
    arguments_json: str
    idempotency_key: str


@dataclass(frozen=True)
class ToolResult:
    message: str  # what the model reads back
    exit_code: int
    refused: bool  # the tool did not run (bad arguments, unknown tool, L08's refusal)
    approval_id: str = ""  # the tool did not run yet: it waits for this L08 approval


@dataclass(frozen=True)
class RunOutcome:
    spec: RunSpec
    status: str  # a RunStatus value
    answer: str = ""
    reason: str = ""
    tokens: int = 0
    steps: int = 0
    agent_failed: bool = False  # stuck past its deadline: the agent itself is FAILED


@dataclass(frozen=True)
class Progress:
    """A run's live state (the workflow's query)."""

    step: int
    paused: bool
    tokens: int
    waiting_approval: str = ""  # the L08 approval the current tool call waits for
