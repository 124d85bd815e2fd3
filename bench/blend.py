"""Choosing a weighted blend of signals on labelled data: a grid search, numpy throughout."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
# Points of the grid weighed at once: (queries x candidates x points) scores in memory.
_CHUNK = 2000


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
    top1, top3, margin = _evaluate_many(array, truth, np.asarray(weights, dtype=np.float64)[None])
    return float(top1[0]), float(top3[0]), float(margin[0])


def choose(
    array: np.ndarray,
    truth: np.ndarray,
    signals: Sequence[str],
    needed: Sequence[str],
    *,
    by_top3: bool = False,
    grid: Sequence[float] = GRID,
) -> tuple[dict[str, float], tuple[float, float, float]]:
    """The grid point with the best top-1, then top-3, then margin (``by_top3``: top-3 first);
    at least one of ``needed`` must weigh something. Every point of ``grid`` ^ signals is
    tried, a chunk of points per matrix product."""
    values = np.asarray(grid, dtype=np.float64)
    positions = [signals.index(s) for s in needed]
    count = len(values) ** len(signals)
    # Point i's weights are the digits of i in base len(grid), first signal most significant
    # (the order of itertools.product, so that ties go to the same point as one by one).
    powers = len(values) ** np.arange(len(signals) - 1, -1, -1)
    best: tuple[tuple[float, float, float], np.ndarray] | None = None
    for start in range(0, count, _CHUNK):
        points = values[
            (np.arange(start, min(start + _CHUNK, count))[:, None] // powers) % len(values)
        ]
        points = points[points[:, positions].sum(axis=1) > 0]
        if not len(points):
            continue
        if not by_top3:
            # Top-1 alone is one argmax: only the points that reach the best so far are
            # weighed in full.
            top1 = _top1_many(array, truth, points)
            points = points[top1 >= (best[0][0] if best else top1.max())]
            if not len(points):
                continue
        top1, top3, margin = _evaluate_many(array, truth, points)
        first, second = (top3, top1) if by_top3 else (top1, top3)
        at = int(np.lexsort((-np.arange(len(points)), margin, second, first))[-1])
        figures = (float(first[at]), float(second[at]), float(margin[at]))
        if best is None or figures > best[0]:
            best = (figures, points[at])
    assert best is not None
    (a, b, gap), point = best
    chosen = (b, a, gap) if by_top3 else (a, b, gap)
    return dict(zip(signals, point.tolist(), strict=True)), chosen


def _scores(array: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Each point's scores (points, queries, candidates): candidates last, where argmax and
    max run fastest."""
    queries, candidates, signals = array.shape
    scores = (points @ array.reshape(-1, signals).T).reshape(len(points), queries, candidates)
    # Rounded: a product's last bits depend on how many points share it, and equal scores
    # must stay equal whichever batch computed them (ties decide ranks).
    return np.round(scores, 9, out=scores)


def _top1_many(array: np.ndarray, truth: np.ndarray, points: np.ndarray) -> np.ndarray:
    # argmax takes the first of equal scores, as a stable sort does.
    return (_scores(array, points).argmax(axis=2) == truth).mean(axis=1)  # type: ignore[no-any-return]


def _evaluate_many(
    array: np.ndarray, truth: np.ndarray, points: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``evaluate`` at each row of ``points`` at once: (top-1, top-3, margin), one per point."""
    queries, candidates, _ = array.shape
    scores = _scores(array, points)
    rows = np.arange(queries)
    right = scores[:, rows, truth]  # (points, queries)
    # A candidate ranks above the right one if it scores higher, or the same and comes first
    # (a stable sort keeps ties in candidate order).
    earlier = np.arange(candidates)[None, :] < truth[:, None]
    above = (scores > right[:, :, None]) | ((scores == right[:, :, None]) & earlier)
    rank = above.sum(axis=2)
    scores[:, rows, truth] = -np.inf
    margin = (right - scores.max(axis=2)).mean(axis=1) / np.maximum(points.sum(axis=1), 1e-9)
    return (rank == 0).mean(axis=1), (rank < 3).mean(axis=1), margin


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
