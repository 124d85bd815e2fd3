"""The grid search that chooses L13's and L14's blend weights: the vectorised search must pick
what trying each point one by one picks, ties included."""

from __future__ import annotations

import itertools

import numpy as np

from bench.blend import choose, evaluate


def one_by_one(
    array: np.ndarray, truth: np.ndarray, grid: tuple[float, ...], by_top3: bool
) -> tuple[float, ...]:
    best: tuple[tuple[float, float, float], tuple[float, ...]] | None = None
    for values in itertools.product(grid, repeat=array.shape[2]):
        if values[0] == 0:  # the first signal is the needed one
            continue
        top1, top3, margin = evaluate(array, truth, np.array(values))
        figures = (top3, top1, margin) if by_top3 else (top1, top3, margin)
        if best is None or figures > best[0]:
            best = (figures, values)
    assert best is not None
    return best[1]


def test_the_search_picks_what_trying_each_point_picks() -> None:
    rng = np.random.default_rng(7)
    grid = (0.0, 0.5, 1.0, 2.0)
    for trial in range(4):
        # Values rounded to one decimal: many scores tie, which the order must settle alike.
        array = np.round(rng.normal(size=(40, 6, 4)), 1)
        truth = rng.integers(0, 6, 40)
        by_top3 = trial % 2 == 1
        chosen, figures = choose(array, truth, list("abcd"), ["a"], by_top3=by_top3, grid=grid)
        assert tuple(chosen.values()) == one_by_one(array, truth, grid, by_top3)
        assert figures[:2] == evaluate(array, truth, np.array(list(chosen.values())))[:2]


def test_a_signal_that_separates_the_labels_is_chosen() -> None:
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 5, 60)
    noise = rng.normal(size=(60, 5))
    telling = np.eye(5)[truth] + rng.normal(scale=0.1, size=(60, 5))
    array = np.stack([noise, telling], axis=2)
    chosen, (top1, _, _) = choose(array, truth, ["noise", "telling"], ["noise", "telling"])
    assert chosen["noise"] == 0.0 and chosen["telling"] > 0
    assert top1 == 1.0
