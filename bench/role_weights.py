"""Chooses L13's classification weights on the development half of the labelled tasks.

``python -m bench.role_weights`` starts a mesh of its own (L13 stores and embeds the shipped
roles at start), embeds the development tasks through L04, computes each role's signals with
L13's own code, and searches a grid of weights for the best top-1 accuracy (ties: top-3, then
the margin of the right role). The held-out half is never read. The result is written to
``services/l13_roles/data/weights.json``; ``python -m bench.roles`` reports on the held-out half.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.own_mesh import run_on_own_mesh
from services.kit import open_channel
from services.kit.semantic_index import SemanticIndex
from services.l13_roles.classifier import MEANING, SIGNALS, RoleProfile, Signals, Weights, signals
from services.l13_roles.config import RoleSettings
from services.l13_roles.definitions import load_shipped_roles
from services.l13_roles.roles import INDEX_COLLECTION
from services.launcher.config import LauncherSettings
from tests.support import DEV_TOKEN

TASKS = Path("tests/data/role_tasks.jsonl")
GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def labelled(split: str) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in TASKS.read_text().splitlines() if line.strip()]
    return [row for row in rows if row["split"] == split]


def signal_array(found: Sequence[Sequence[Signals]], roles: Sequence[str]) -> np.ndarray:
    """(tasks, roles, signals), roles in the given order."""
    array = np.zeros((len(found), len(roles), len(SIGNALS)))
    for task, role_signals in enumerate(found):
        for s in role_signals:
            array[task, roles.index(s.role)] = [s.values[name] for name in SIGNALS]
    return array


def evaluate(
    array: np.ndarray, truth: np.ndarray, weights: np.ndarray
) -> tuple[float, float, float]:
    """(top-1, top-3, mean margin of the right role over the best other, per unit of weight)."""
    scores = array @ weights
    order = np.argsort(-scores, axis=1, kind="stable")
    top1 = float(np.mean(order[:, 0] == truth))
    top3 = float(np.mean((order[:, :3] == truth[:, None]).any(axis=1)))
    right = scores[np.arange(len(truth)), truth]
    others = scores.copy()
    others[np.arange(len(truth)), truth] = -np.inf
    margin = float(np.mean(right - others.max(axis=1)) / max(weights.sum(), 1e-9))
    return top1, top3, margin


def choose(array: np.ndarray, truth: np.ndarray) -> tuple[Weights, tuple[float, float, float]]:
    """The grid point with the best top-1, then top-3, then margin."""
    best: tuple[tuple[float, float, float], tuple[float, ...]] | None = None
    for values in itertools.product(GRID, repeat=len(SIGNALS)):
        if sum(values[: len(MEANING)]) == 0:
            continue  # meaning must count: keywords alone leave most tasks unmatched
        figures = evaluate(array, truth, np.array(values))
        if best is None or figures > best[0]:
            best = (figures, values)
    assert best is not None
    return Weights(**dict(zip(SIGNALS, best[1], strict=True))), best[0]


async def tune(settings: LauncherSettings) -> None:
    dev = labelled("dev")
    l01 = open_channel(f"127.0.0.1:{settings.layer_port('l01')}", token=DEV_TOKEN)
    l04 = open_channel(f"127.0.0.1:{settings.layer_port('l04')}", token=DEV_TOKEN, timeout=60)
    index = SemanticIndex(l01, l04, INDEX_COLLECTION)
    await index.load()
    profiles = {r.name: RoleProfile.of(r) for r in load_shipped_roles(RoleSettings().roles_dir)}
    vectors = await index.embed([str(row["text"]) for row in dev])
    found = [
        signals(str(row["text"]), index.similarities(vector), profiles)
        for row, vector in zip(dev, vectors, strict=True)
    ]
    roles = sorted(profiles)
    array = signal_array(found, roles)
    truth = np.array([roles.index(str(row["role"])) for row in dev])
    weights, (top1, top3, margin) = choose(array, truth)
    print(
        f"development half ({len(dev)} tasks): top-1 {top1:.1%}, top-3 {top3:.1%},"
        f" margin {margin:.3f}"
    )
    print(f"weights: {weights.as_dict()}")
    for name in SIGNALS:
        alone = np.array([float(s == name) for s in SIGNALS])
        print(f"  {name} alone: top-1 {evaluate(array, truth, alone)[0]:.1%}")
    path = RoleSettings().weights_path
    path.write_text(
        json.dumps(
            {
                "chosen_on": f"{TASKS} split=dev ({len(dev)} tasks), python -m bench.role_weights",
                "dev_top1": round(top1, 4),
                "dev_top3": round(top3, 4),
                "weights": weights.as_dict(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written to {path}")
    await l01.close()
    await l04.close()


def main() -> int:
    return run_on_own_mesh(tune)


if __name__ == "__main__":
    sys.exit(main())
