"""services/kit/vector_model.py: the softmax regression L12 and L13 learn from example texts."""

from __future__ import annotations

import numpy as np

from services.kit.vector_model import VectorModel, cross_fitted


def clusters(seed: int, per_label: int = 30) -> tuple[np.ndarray, list[str]]:
    """Unit vectors around one centre per label, in 16 dimensions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, 16))
    rows, labels = [], []
    for i, name in enumerate(["alpha", "beta", "gamma", "delta"]):
        rows.append(centres[i] + rng.normal(scale=0.6, size=(per_label, 16)))
        labels += [name] * per_label
    vectors = np.vstack(rows)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), labels


def test_it_learns_which_label_a_vector_near_its_examples_has() -> None:
    vectors, labels = clusters(0)
    model = VectorModel.fit(vectors, labels)
    fresh, fresh_labels = clusters(0, per_label=40)  # same centres, new points
    fresh, fresh_labels = fresh[30 * 4 :], fresh_labels[30 * 4 :]
    logs = model.log_probabilities(fresh)
    assert logs.shape == (len(fresh), 4)
    assert np.allclose(np.exp(logs).sum(axis=1), 1.0, atol=1e-5)
    found = [model.labels[i] for i in logs.argmax(axis=1)]
    right = np.mean([a == b for a, b in zip(found, fresh_labels, strict=True)])
    assert right > 0.9


def test_the_same_examples_give_the_same_model() -> None:
    vectors, labels = clusters(1)
    first, second = VectorModel.fit(vectors, labels), VectorModel.fit(vectors, labels)
    assert first.labels == second.labels == ("alpha", "beta", "delta", "gamma")
    assert np.array_equal(first.weights, second.weights)
    assert np.array_equal(first.bias, second.bias)


def test_cross_fitting_scores_each_example_by_a_model_without_it() -> None:
    vectors, labels = clusters(2)
    names, logs = cross_fitted(vectors, labels, folds=5)
    assert names == ("alpha", "beta", "delta", "gamma")
    assert logs.shape == (len(labels), 4)
    right = np.mean(
        [names[i] == label for i, label in zip(logs.argmax(axis=1), labels, strict=True)]
    )
    assert right > 0.8


def test_a_label_with_one_example_is_least_likely_where_its_model_never_saw_it() -> None:
    vectors, labels = clusters(3)
    labels[0] = "lonely"  # its only example: the fold that holds it knows no "lonely"
    names, logs = cross_fitted(vectors, labels, folds=5)
    assert logs[0, names.index("lonely")] == -1e3
