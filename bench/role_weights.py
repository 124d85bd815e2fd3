"""Chooses L13's classification weights on the development rows of the labelled tasks.

``python -m bench.role_weights`` starts a mesh of its own (L13 stores and embeds the shipped
roles at start), embeds the development tasks through L04, computes each role's signals with
L13's own code (each task left out of the examples and of the word model while it is the
query; the embedding model of the examples fitted without the task's tenth of them), and
searches a grid of weights for the best top-1 accuracy (ties: top-3, then the
margin of the right role). The development rows are every labelled task the roles carry as an
example: the ``dev`` split and the held-out halves of earlier days, added once measured
(``DEVELOPMENT``). The current held-out half (``heldout``) is never read. The result is written to
``services/l13_roles/data/weights.json``; ``python -m bench.roles`` reports on the held-out half.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bench.blend import choose, evaluate, labelled, signal_array, write_weights
from bench.own_mesh import run_on_own_mesh
from services.kit import open_channel
from services.kit.semantic_index import MEANING_SIGNALS, Cosines, SemanticIndex
from services.kit.vector_model import cross_fitted
from services.l13_roles.classifier import (
    EXAMPLE_ID,
    SIGNALS,
    ExampleWords,
    RoleProfile,
    signals,
    standardised,
)
from services.l13_roles.config import RoleSettings
from services.l13_roles.definitions import load_shipped_roles
from services.l13_roles.roles import INDEX_COLLECTION
from services.launcher.config import LauncherSettings
from tests.support import DEV_TOKEN

TASKS = Path("tests/data/role_tasks.jsonl")
DEVELOPMENT = (
    "dev",
    "dev-2026-12-06",
    "heldout-2026-12-03",
    "heldout-2026-12-05",
    "heldout-2026-12-06",
    "heldout-2026-12-06b",
)
# Ten signals: the finer grid of bench.blend would be 7^10 points, this one is 5^10 (minutes).
GRID = (0.0, 0.5, 1.0, 1.5, 2.0)


async def tune(settings: LauncherSettings) -> None:
    dev = [row for split in DEVELOPMENT for row in labelled(TASKS, split)]
    l01 = open_channel(f"127.0.0.1:{settings.layer_port('l01')}", token=DEV_TOKEN)
    l04 = open_channel(f"127.0.0.1:{settings.layer_port('l04')}", token=DEV_TOKEN, timeout=60)
    index = SemanticIndex(l01, l04, INDEX_COLLECTION)
    profiles = {r.name: RoleProfile.of(r) for r in load_shipped_roles(RoleSettings().roles_dir)}
    await index.load(sorted(profiles))
    texts = [str(row["text"]) for row in dev]
    vectors = await index.embed(texts)
    example_words = ExampleWords(profiles)
    learned = _cross_fitted_learned(index, texts)
    found = [
        [
            (s.role, s.values)
            for s in signals(
                text,
                _others(text, index.similarities(v)),
                profiles,
                example_words.values(text, leaving_out=text),
                learned[text],
            )
        ]
        for text, v in zip(texts, vectors, strict=True)
    ]
    roles = sorted(profiles)
    array = signal_array(found, roles, SIGNALS)
    truth = np.array([roles.index(str(row["role"])) for row in dev])
    weights, (top1, top3, _) = choose(array, truth, SIGNALS, MEANING_SIGNALS, grid=GRID)
    print(f"development half ({len(dev)} tasks): top-1 {top1:.1%}, top-3 {top3:.1%}")
    print(f"weights: {weights}")
    for name in SIGNALS:
        alone = np.array([float(s == name) for s in SIGNALS])
        print(f"  {name} alone: top-1 {evaluate(array, truth, alone)[0]:.1%}")
    _print_misses(array, truth, weights, roles, texts)
    path = RoleSettings().weights_path
    splits = "split=" + ",".join(DEVELOPMENT)
    write_weights(path, f"{TASKS} {splits}", len(dev), weights, top1, top3)
    print(f"written to {path}")
    await l01.close()
    await l04.close()


def _print_misses(
    array: np.ndarray,
    truth: np.ndarray,
    weights: dict[str, float],
    roles: list[str],
    texts: list[str],
) -> None:
    """The development tasks the chosen weights rank wrongly (each left out of the examples)."""
    best = np.argmax(array @ np.array([weights[s] for s in SIGNALS]), axis=1)
    print("development top-1 misses (labelled <- ranked first):")
    for row in np.flatnonzero(best != truth):
        print(f"  {roles[truth[row]]:>20} <- {roles[best[row]]:<20} {texts[row]}")


def _cross_fitted_learned(index: SemanticIndex, texts: list[str]) -> dict[str, dict[str, float]]:
    """The ``learned`` signal of each development task from a model fitted without it: each
    task is one of the roles' examples, and a model that has seen a task knows its role."""
    entries, matrix = index.indexed()
    rows = [i for i, entry in enumerate(entries) if EXAMPLE_ID in entry.id]
    roles, logs = cross_fitted(matrix[rows], [entries[i].owner for i in rows])
    by_text = {entries[i].text: standardised(roles, row) for i, row in zip(rows, logs, strict=True)}
    missing = [text for text in texts if text not in by_text]
    if missing:
        raise SystemExit(f"{len(missing)} development tasks are no role's example: {missing[:3]}")
    return by_text


def _others(task: str, similarities: Cosines) -> Cosines:
    """The similarities of a task to every indexed text but the example that is the task."""
    itself = [EXAMPLE_ID in e.id and e.text == task for e in similarities.entries()]
    return similarities.where(~np.array(itself, dtype=bool))


def main() -> int:
    return run_on_own_mesh(tune)


if __name__ == "__main__":
    sys.exit(main())
