"""Which roles fit a task: meaning blended with keywords and skills.

Signals per role for a task:
- meaning, from the task's cosines to the role's embedded texts (its title and description,
  each responsibility, its keywords): ``closest`` (the nearest text), ``nearest3`` (the mean
  of the three nearest) and ``mean`` (all of them). Each is standardised across the roles of
  the same task (z-score): how much nearer this role is than the others, which is what ranks
  them, on one scale for short and long tasks alike;
- ``keywords``: how many of the role's keyword phrases are in the task;
- ``skills``: how many of its core skills' names are.

A role's score is their weighted sum. The weights are data (``data/weights.json``), chosen on
the development half of ``tests/data/role_tasks.jsonl`` by ``python -m bench.role_weights``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from services.kit.semantic_index import IndexedText, Similarity
from services.l13_roles.definitions import RoleDefinition
from services.l13_roles.matching import matched, phrase, words

SIGNALS = ("closest", "nearest3", "mean", "keywords", "skills")
MEANING = SIGNALS[:3]


@dataclass(frozen=True)
class Weights:
    closest: float
    nearest3: float
    mean: float
    keywords: float
    skills: float

    @classmethod
    def load(cls, path: Path) -> Weights:
        return cls(**{k: float(v) for k, v in json.loads(path.read_text())["weights"].items()})

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class RoleProfile:
    """What classification needs of a role, prepared once per revision."""

    name: str
    keywords: tuple[tuple[str, tuple[str, ...]], ...]
    skills: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def of(cls, role: RoleDefinition) -> RoleProfile:
        return cls(
            name=role.name,
            keywords=tuple((k, phrase(k)) for k in role.keywords),
            skills=tuple((s, phrase(s)) for s in role.core_skills),
        )


def role_texts(role: RoleDefinition) -> list[IndexedText]:
    """The texts of a role that are embedded: what the task's meaning is compared with."""
    texts = [IndexedText(f"{role.name}.summary", role.name, f"{role.title}. {role.description}")]
    texts += [
        IndexedText(f"{role.name}.duty.{i}", role.name, duty)
        for i, duty in enumerate(role.responsibilities)
    ]
    if role.keywords:
        texts.append(IndexedText(f"{role.name}.keywords", role.name, ", ".join(role.keywords)))
    return texts


@dataclass(frozen=True)
class Signals:
    """One role's signals for one task, with what produced them."""

    role: str
    values: Mapping[str, float]
    closest_text: str
    closest_cosine: float
    keywords: tuple[str, ...]
    skills: tuple[str, ...]

    def score(self, weights: Weights) -> float:
        return sum(self.values[name] * getattr(weights, name) for name in SIGNALS)

    def reasons(self) -> list[str]:
        found = [
            f"meaning: closest to {self.closest_text[:80]!r} (cosine {self.closest_cosine:.2f})"
        ]
        if self.keywords:
            found.append("keywords: " + ", ".join(self.keywords))
        if self.skills:
            found.append("skills: " + ", ".join(self.skills))
        return found


def _standardised(values: list[float]) -> list[float]:
    spread = float(np.std(values))
    centre = float(np.mean(values))
    return [(v - centre) / spread if spread > 1e-9 else 0.0 for v in values]


def signals(
    task: str, similarities: Sequence[Similarity], profiles: Mapping[str, RoleProfile]
) -> list[Signals]:
    """Every profiled role's signals for ``task`` (similarities: the task to each indexed text)."""
    task_words = words(task)
    by_role: dict[str, list[Similarity]] = {}
    for similarity in similarities:
        if similarity.entry.owner in profiles:
            by_role.setdefault(similarity.entry.owner, []).append(similarity)
    names = sorted(by_role)  # a role not embedded yet cannot be compared
    meaning: dict[str, list[float]] = {name: [] for name in MEANING}
    closest_texts = []
    for name in names:
        cosines = sorted((s.cosine for s in by_role[name]), reverse=True)
        meaning["closest"].append(cosines[0])
        meaning["nearest3"].append(float(np.mean(cosines[:3])))
        meaning["mean"].append(float(np.mean(cosines)))
        closest_texts.append(max(by_role[name], key=lambda s: s.cosine))
    standard = {signal: _standardised(values) for signal, values in meaning.items()}
    found = []
    for row, name in enumerate(names):
        keywords = matched(task_words, profiles[name].keywords)
        skills = matched(task_words, profiles[name].skills)
        values = {signal: standard[signal][row] for signal in MEANING}
        values |= {"keywords": float(len(keywords)), "skills": float(len(skills))}
        closest = closest_texts[row]
        found.append(
            Signals(
                name, values, closest.entry.text, closest.cosine, tuple(keywords), tuple(skills)
            )
        )
    return found


@dataclass(frozen=True)
class RoleScore:
    name: str
    score: float
    reasons: list[str]


def rank(found: Sequence[Signals], weights: Weights) -> list[RoleScore]:
    """Roles best first (ties by name, so equal scores always come out in one order)."""
    scored = [RoleScore(s.role, round(s.score(weights), 4), s.reasons()) for s in found]
    return sorted(scored, key=lambda r: (-r.score, r.name))
