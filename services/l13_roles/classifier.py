"""Which roles fit a task: meaning blended with keywords and skills.

Signals per role for a task:
- meaning (``services.kit.semantic_index.meaning_by_owner``), from the task's cosines to the
  role's embedded texts (its title and description, each responsibility, its keywords
  together and each alone):
  ``closest``, ``nearest3`` and ``mean``, standardised across the roles;
- ``keywords``: how many of the role's keyword phrases are in the task;
- ``skills``: how many of its core skills' names are;
- ``example_closest`` and ``example_nearest3``: the same meaning signals over the role's
  example tasks alone (tasks in users' words are nearer to each other than to a description);
- ``words``: P(role | the task's words) from a naive Bayes model of every role's example
  tasks (``services.kit.word_model``), as a log-probability standardised across the roles:
  the words of many examples ("flaky", "coverage", "p99", "migration") say more than the one
  example nearest in meaning;
- ``learned``: P(role | the task's embedding) from a softmax regression over every role's
  example tasks (``services.kit.vector_model``), standardised the same way: which directions of
  meaning tell the roles apart, learned from all their examples at once.

A role's score is their weighted sum. The weights are data (``data/weights.json``), chosen on
the development half of ``tests/data/role_tasks.jsonl`` by ``python -m bench.role_weights``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from services.kit.phrases import matched, phrase, words
from services.kit.semantic_index import (
    MEANING_SIGNALS,
    Cosines,
    IndexedText,
    Similarity,
    meaning_by_owner,
)
from services.kit.vector_model import VectorModel
from services.kit.word_forms import stem
from services.kit.word_model import WordModel
from services.l13_roles.definitions import RoleDefinition

EXAMPLE_SIGNALS = ("example_closest", "example_nearest3")
SIGNALS = (*MEANING_SIGNALS, "keywords", "skills", *EXAMPLE_SIGNALS, "words", "learned")
EXAMPLE_ID = ".example."
# Words that say nothing of who should do a task.
_STOP_WORDS = frozenset(
    "a an and are as at be but by can could do does for from have how i if in into is it its "
    "me my need needs of on or our please should so some that the their them then there this "
    "to up us we what when where which who why will with would you your".split()
)


@dataclass(frozen=True)
class Weights:
    closest: float
    nearest3: float
    mean: float
    keywords: float
    skills: float
    example_closest: float = 0.0
    example_nearest3: float = 0.0
    words: float = 0.0
    learned: float = 0.0

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
    examples: tuple[str, ...] = ()

    @classmethod
    def of(cls, role: RoleDefinition) -> RoleProfile:
        return cls(
            name=role.name,
            keywords=tuple((k, phrase(k)) for k in role.keywords),
            skills=tuple((s, phrase(s)) for s in role.core_skills),
            examples=role.examples,
        )


def task_terms(text: str) -> list[str]:
    """What the word model counts of a task: its words, stemmed, less the stop words."""
    return [stem(word) for word in sorted(words(text)) if word not in _STOP_WORDS]


class ExampleWords:
    """The ``words`` signal: which role a task's words point to, learned from the example
    tasks of the profiled roles (built again when a role changes)."""

    def __init__(self, profiles: Mapping[str, RoleProfile]) -> None:
        # Only roles with examples are compared (see ``signals`` for a role without).
        self._roles = sorted(name for name, profile in profiles.items() if profile.examples)
        examples = [(name, text) for name in self._roles for text in profiles[name].examples]
        self._model = WordModel(self._roles, examples, task_terms)

    def values(self, task: str, leaving_out: str | None = None) -> dict[str, float]:
        """Each role's log-probability, standardised across the roles with examples
        (z-score); ``leaving_out``: an example not to count (the task itself, when choosing
        weights)."""
        if not self._roles:
            return {}
        found = self._model.probabilities(task, leaving_out)
        logs = np.array([math.log(max(found[name], 1e-300)) for name in self._roles])
        return standardised(self._roles, logs)


class ExampleVectors:
    """The ``learned`` signal: which role a task's embedding points to, learned from the
    embedded example tasks of the profiled roles (fitted again when a role changes: under a
    second for a thousand examples, so callers in async code run it in a thread)."""

    def __init__(
        self, entries: Sequence[IndexedText], matrix: np.ndarray, roles: Collection[str]
    ) -> None:
        rows = [i for i, e in enumerate(entries) if EXAMPLE_ID in e.id and e.owner in roles]
        labels = [entries[i].owner for i in rows]
        self._model = VectorModel.fit(matrix[rows], labels) if rows else None

    def values(self, vector: np.ndarray) -> dict[str, float]:
        """Each role's log-probability, standardised across the roles with examples."""
        if self._model is None:
            return {}
        return standardised(self._model.labels, self._model.log_probabilities(vector)[0])


def standardised(roles: Sequence[str], logs: np.ndarray) -> dict[str, float]:
    """Log-probabilities as z-scores across ``roles``: comparable between tasks (a confident
    model's logs spread wider) and with the other standardised signals."""
    spread = float(logs.std())
    standard = (logs - logs.mean()) / spread if spread > 1e-9 else np.zeros(len(logs))
    return dict(zip(roles, standard.tolist(), strict=True))


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
    texts += [
        IndexedText(f"{role.name}{EXAMPLE_ID}{i}", role.name, example)
        for i, example in enumerate(role.examples)
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
    closest_example: Similarity | None = None

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
        if self.closest_example:
            example = self.closest_example
            found.append(
                f"like the example {example.entry.text[:80]!r} (cosine {example.cosine:.2f})"
            )
        return found


def signals(
    task: str,
    similarities: Cosines,
    profiles: Mapping[str, RoleProfile],
    example_words: Mapping[str, float] | None = None,
    example_vectors: Mapping[str, float] | None = None,
) -> list[Signals]:
    """Every profiled role's signals for ``task`` (similarities: the task to each indexed text;
    ``example_words``: ExampleWords.values of the task; ``example_vectors``:
    ExampleVectors.values of its embedding). A role whose texts are not embedded yet cannot
    be compared, and is left out."""
    task_words = words(task)
    is_example = similarities.marked(EXAMPLE_ID)
    described, by_example = similarities.where(~is_example), similarities.where(is_example)
    examples = {m.owner: m for m in meaning_by_owner(by_example, profiles)}
    lowest = {
        signal: min((m.values[signal] for m in examples.values()), default=0.0)
        for signal in ("closest", "nearest3")
    }
    # A role without examples (created through the API with none) cannot be compared by
    # their words or embeddings: it gets the highest of the others', so that it never loses
    # by a signal it has no data for (its texts' meaning and keywords decide).
    unknown_words = max((example_words or {}).values(), default=0.0)
    unknown_vectors = max((example_vectors or {}).values(), default=0.0)
    found = []
    for meaning in meaning_by_owner(described, profiles):
        profile = profiles[meaning.owner]
        example = examples.get(meaning.owner)
        keywords = matched(task_words, profile.keywords)
        skills = matched(task_words, profile.skills)
        values = {
            **meaning.values,
            "keywords": float(len(keywords)),
            "skills": float(len(skills)),
            # A role without examples gets the lowest of the others': never an advantage.
            **{
                f"example_{signal}": (example.values if example else lowest)[signal]
                for signal in ("closest", "nearest3")
            },
            "words": (example_words or {}).get(meaning.owner, unknown_words),
            "learned": (example_vectors or {}).get(meaning.owner, unknown_vectors),
        }
        closest = meaning.closest
        found.append(
            Signals(
                meaning.owner,
                values,
                closest.entry.text,
                closest.cosine,
                tuple(keywords),
                tuple(skills),
                example.closest if example else None,
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
