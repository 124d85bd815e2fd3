"""A linear model of which label a text's embedding belongs to, learned from labelled example
texts: which RPC a request to L12's catalog search asks for (services/l12_nl/search.py), which
role a task is for (services/l13_roles/classifier.py).

The closest example says how near a text is to one earlier request; a softmax regression over
all of a label's examples learns which directions of the embedding space tell that label from
the others, so a text worded like none of the examples can still fall on the right side. It
is small (one weight per label and dimension), fitted once per change of the examples in well
under a second for a thousand of them, and deterministic (the same examples give the same
model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Unit vectors have small coordinates: scaled up, the model reaches confident answers in few
# steps. Both values, and the L2 penalty, were chosen by cross-validation on L13's examples.
_SCALE = 10.0
_L2 = 0.01
_STEPS = 400
_STEP_SIZE = 0.5


@dataclass(frozen=True)
class VectorModel:
    """Softmax regression: P(label | vector) = softmax(scale * vector @ weights + bias)."""

    labels: tuple[str, ...]
    weights: np.ndarray  # (dimension, labels)
    bias: np.ndarray  # (labels,)

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: Sequence[str]) -> VectorModel:
        """``vectors``: unit vectors, one row per example; ``labels``: each row's label. A
        label the examples lack cannot be learned: ask only about those in ``labels``."""
        names = tuple(sorted(set(labels)))
        position = {name: i for i, name in enumerate(names)}
        wanted = np.eye(len(names), dtype=np.float32)[[position[label] for label in labels]]
        inputs = np.asarray(vectors, dtype=np.float32) * np.float32(_SCALE)
        weights = np.zeros((inputs.shape[1], len(names)), dtype=np.float32)
        bias = np.zeros(len(names), dtype=np.float32)
        # Plain gradient descent from zero: deterministic, and enough for a convex loss of
        # this size.
        for _ in range(_STEPS):
            error = _softmax(inputs @ weights + bias) - wanted
            weights -= _STEP_SIZE * (inputs.T @ error / len(inputs) + _L2 * weights)
            bias -= _STEP_SIZE * error.mean(axis=0)
        return cls(names, weights, bias)

    def log_probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """log P(label | vector) for each row of ``vectors`` and each of ``labels``."""
        logits = np.atleast_2d(vectors) * _SCALE @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))  # type: ignore[no-any-return]


def cross_fitted(
    vectors: np.ndarray, labels: Sequence[str], folds: int = 10, seed: int = 0
) -> tuple[tuple[str, ...], np.ndarray]:
    """Each example's log-probabilities from a model fitted without it: the examples are dealt
    into ``folds`` parts and each part is scored by a model of the others. What choosing a
    blend's weights on the examples themselves needs (a model that has seen a text knows its
    label)."""
    names = tuple(sorted(set(labels)))
    part = np.random.default_rng(seed).permutation(len(labels)) % folds
    found = np.zeros((len(labels), len(names)))
    for fold in range(folds):
        held = part == fold
        model = VectorModel.fit(
            vectors[~held], [lb for lb, h in zip(labels, held, strict=True) if not h]
        )
        # A label whose examples all fell in this fold is unknown to its model: least likely.
        scores = np.full((int(held.sum()), len(names)), -1e3)
        columns = [names.index(name) for name in model.labels]
        scores[:, columns] = model.log_probabilities(vectors[held])
        found[held] = scores
    return names, found


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]
