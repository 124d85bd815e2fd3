"""Choosing a weighted blend of signals on labelled data: a grid search, numpy throughout."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def labelled(path: Path, split: str) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [row for row in rows if row["split"] == split]


def signal_array(
    found: Sequence[Sequence[tuple[str, Mapping[str, float]]]],
    candidates: Sequence[str],
    signals: Sequence[str],
) -> np.ndarray:
    """(queries, candidates, signals) from each query's (candidate, signal values) pairs."""
    array = np.full((len(found), len(candidates), len(signals)), -1e6)  # absent ranks last
    for query, pairs in enumerate(found):
        for candidate, values in pairs:
            array[query, candidates.index(candidate)] = [values[s] for s in signals]
    return array


def evaluate(
    array: np.ndarray, truth: np.ndarray, weights: np.ndarray
) -> tuple[float, float, float]:
    """(top-1, top-3, mean margin of the right candidate over the best other, per unit weight)."""
    scores = array @ weights
    order = np.argsort(-scores, axis=1, kind="stable")
    top1 = float(np.mean(order[:, 0] == truth))
    top3 = float(np.mean((order[:, :3] == truth[:, None]).any(axis=1)))
    rows = np.arange(len(truth))
    right = scores[rows, truth]
    others = scores.copy()
    others[rows, truth] = -np.inf
    margin = float(np.mean(right - others.max(axis=1)) / max(float(weights.sum()), 1e-9))
    return top1, top3, margin


def choose(
    array: np.ndarray,
    truth: np.ndarray,
    signals: Sequence[str],
    needed: Sequence[str],
    *,
    by_top3: bool = False,
) -> tuple[dict[str, float], tuple[float, float, float]]:
    """The grid point with the best top-1, then top-3, then margin (``by_top3``: top-3 first);
    at least one of ``needed`` must weigh something."""
    best: tuple[tuple[float, float, float], tuple[float, ...]] | None = None
    positions = [signals.index(s) for s in needed]
    for values in itertools.product(GRID, repeat=len(signals)):
        if sum(values[p] for p in positions) == 0:
            continue
        figures = evaluate(array, truth, np.array(values))
        if by_top3:
            figures = (figures[1], figures[0], figures[2])
        if best is None or figures > best[0]:
            best = (figures, values)
    assert best is not None
    top1, top3, margin = (best[0][1], best[0][0], best[0][2]) if by_top3 else best[0]
    return dict(zip(signals, best[1], strict=True)), (top1, top3, margin)


def write_weights(
    path: Path, source: str, count: int, weights: Mapping[str, float], top1: float, top3: float
) -> None:
    body = {
        "chosen_on": f"{source} ({count} rows)",
        "dev_top1": round(top1, 4),
        "dev_top3": round(top3, 4),
        "weights": dict(weights),
    }
    path.write_text(json.dumps(body, indent=2) + "\n")
