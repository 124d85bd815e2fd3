"""Skills by meaning: a query's nearness to each skill's texts, blended with its name.

Signals per skill: the meaning signals of ``services.kit.semantic_index.meaning_by_owner``
(to the skill's name and description, each line of its instructions, each example input),
and ``name``, how many words of the skill's name are in the query. The weights are data
(``data/weights.json``), chosen on the development half of ``tests/data/skill_queries.jsonl``
by ``python -m bench.skill_weights``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.kit.phrases import phrase, words
from services.kit.semantic_index import MEANING_SIGNALS, Cosines, IndexedText, meaning_by_owner
from services.l14_skills.definitions import SkillDefinition

SIGNALS = (*MEANING_SIGNALS, "name")


def skill_texts(skill: SkillDefinition) -> list[IndexedText]:
    """The texts of a skill that are embedded."""
    readable = skill.name.replace("_", " ")
    texts = [IndexedText(f"{skill.name}.summary", skill.name, f"{readable}: {skill.description}")]
    steps = [line.strip() for line in skill.instructions.splitlines() if line.strip()]
    texts += [
        IndexedText(f"{skill.name}.step.{i}", skill.name, step) for i, step in enumerate(steps)
    ]
    texts += [
        IndexedText(f"{skill.name}.example.{i}", skill.name, example["input"])
        for i, example in enumerate(skill.examples)
    ]
    return texts


@dataclass(frozen=True)
class SearchWeights:
    values: Mapping[str, float]

    @classmethod
    def load(cls, path: Path) -> SearchWeights:
        weights = json.loads(path.read_text())["weights"]
        return cls({name: float(weights[name]) for name in SIGNALS})


@dataclass(frozen=True)
class SkillSignals:
    name: str
    values: Mapping[str, float]

    def score(self, weights: SearchWeights) -> float:
        return sum(self.values[s] * weights.values[s] for s in SIGNALS)


def signals(query: str, similarities: Cosines, names: Sequence[str]) -> list[SkillSignals]:
    """The signals of each skill of ``names`` that is embedded."""
    query_words = words(query)
    found = []
    for meaning in meaning_by_owner(similarities, set(names)):
        name_words = phrase(meaning.owner)
        in_query = sum(1 for w in name_words if w in query_words)
        found.append(SkillSignals(meaning.owner, {**meaning.values, "name": float(in_query)}))
    return found


def rank(found: Sequence[SkillSignals], weights: SearchWeights) -> list[tuple[str, float]]:
    scored = [(s.name, round(s.score(weights), 4)) for s in found]
    return sorted(scored, key=lambda pair: (-pair[1], pair[0]))
