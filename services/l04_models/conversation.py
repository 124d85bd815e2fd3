"""What a generation request and its answer are, independent of any provider or of gRPC."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

ROLES = ("user", "assistant", "tool")


class FinishReason(enum.Enum):
    STOP = "stop"
    LENGTH = "length"
    TOOL_USE = "tool_use"


class Strategy(enum.Enum):
    CAPABILITY = "capability"
    COST = "cost"
    LATENCY = "latency"
    QUALITY = "quality"
    PINNED = "pinned"
    ROUND_ROBIN = "round_robin"


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Message:
    role: str  # one of ROLES
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class Routing:
    strategy: Strategy = Strategy.CAPABILITY
    provider: str = ""
    capabilities: tuple[str, ...] = ()
    no_fallback: bool = False


@dataclass(frozen=True)
class CachePolicy:
    bypass: bool = False
    ttl_seconds: int = 0  # 0: the server's default
    similarity_threshold: float = 0.0  # 0: the server's default
    explain: bool = False  # return a CacheReport with the answer


@dataclass(frozen=True)
class CacheReport:
    """How the caches judged a request: what a caller who asked is told."""

    outcome: str  # exact_hit, semantic_hit, near_miss_refused, below_threshold, miss, bypassed,
    # not_cached
    similarity: float = 0.0  # of the nearest cached question of the request's partition
    refused_kind: str = ""  # the near-miss kind (near_miss.Refusal.kind)
    reason: str = ""


@dataclass(frozen=True)
class GenerationRequest:
    messages: tuple[Message, ...]
    system: str = ""
    tools: tuple[ToolSpec, ...] = ()
    response_schema: dict[str, Any] | None = None
    temperature: float | None = None
    max_tokens: int = 0  # 0: the model's default
    model: str = ""
    routing: Routing = field(default_factory=Routing)
    agent_id: str = ""
    tenant_id: str = ""
    cache: CachePolicy = field(default_factory=CachePolicy)

    def needed_capabilities(self) -> set[str]:
        needed = set(self.routing.capabilities)
        if self.tools:
            needed.add("tools")
        if self.response_schema is not None:
            needed.add("json")
        return needed

    def text_length(self) -> int:
        """Characters of text the model reads: a cheap size and token estimate."""
        return len(self.system) + sum(len(m.content) for m in self.messages)

    def estimated_input_tokens(self) -> int:
        return self.text_length() // 4 + 1


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Completion:
    """A provider's answer, before the gateway adds latency, caching and validation."""

    content: str
    model: str  # registry id
    provider: str
    usage: Usage
    finish_reason: FinishReason = FinishReason.STOP
    tool_calls: tuple[ToolCall, ...] = ()
    structured: Any = None  # the parsed answer of a request with a response schema


@dataclass(frozen=True)
class Answer:
    """What the gateway returns: a completion and how it was obtained."""

    completion: Completion
    latency_seconds: float
    cached: bool = False
    failed_providers: tuple[str, ...] = ()
    cache_report: CacheReport | None = None  # only when the request asked for it


@dataclass(frozen=True)
class Embeddings:
    vectors: list[list[float]]
    dimension: int
    model: str
    provider: str
    usage: Usage
