"""Which roles fit a task: meaning blended with keywords and skills.

Signals per role for a task:
- meaning (``services.kit.semantic_index.meaning_by_owner``), from the task's cosines to the
  role's embedded texts (its title and description, each responsibility, its keywords
  together and each alone):
  ``closest``, ``nearest3`` and ``mean``, standardised across the roles;
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

from services.kit.phrases import matched, phrase, words
from services.kit.semantic_index import MEANING_SIGNALS, IndexedText, Similarity, meaning_by_owner
from services.l13_roles.definitions import RoleDefinition

SIGNALS = (*MEANING_SIGNALS, "keywords", "skills")


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
    # Each keyword on its own too: a short task is near one phrase, not the list of them all
    # (on the development half, meaning alone went from 74.8 % to 83.5 % top-1 with them).
    texts += [
        IndexedText(f"{role.name}.keyword.{i}", role.name, keyword)
        for i, keyword in enumerate(role.keywords)
    ]
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


def signals(
    task: str, similarities: Sequence[Similarity], profiles: Mapping[str, RoleProfile]
) -> list[Signals]:
    """Every profiled role's signals for ``task`` (similarities: the task to each indexed text).
    A role whose texts are not embedded yet cannot be compared, and is left out."""
    task_words = words(task)
    found = []
    for meaning in meaning_by_owner(similarities, profiles):
        profile = profiles[meaning.owner]
        keywords = matched(task_words, profile.keywords)
        skills = matched(task_words, profile.skills)
        values = {**meaning.values, "keywords": float(len(keywords)), "skills": float(len(skills))}
        closest = meaning.closest
        found.append(
            Signals(
                meaning.owner,
                values,
                closest.entry.text,
                closest.cosine,
                tuple(keywords),
                tuple(skills),
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
