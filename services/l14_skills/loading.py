"""Which skills to load into a prompt, in which order, within a token budget.

Most relevant first; when they do not all fit, the least relevant are left out (a smaller,
less relevant skill that still fits is kept: the budget is filled greedily by relevance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    name: str
    version: str
    tokens: int
    relevance: float
    text: str = ""  # what the agent is given (its tokens counted)


@dataclass(frozen=True)
class LoadingPlan:
    load: tuple[Candidate, ...]
    dropped: tuple[Candidate, ...]
    total_tokens: int
    budget: int


def plan_loading(candidates: Sequence[Candidate], budget: int) -> LoadingPlan:
    ordered = sorted(candidates, key=lambda c: -c.relevance)  # stable: ties keep given order
    load: list[Candidate] = []
    dropped: list[Candidate] = []
    used = 0
    for candidate in ordered:
        if used + candidate.tokens <= budget:
            load.append(candidate)
            used += candidate.tokens
        else:
            dropped.append(candidate)
    return LoadingPlan(tuple(load), tuple(dropped), used, budget)
