"""A naive Bayes model of which label a short text asks for, learned from labelled example
texts: which verb or which service a request to L12's catalog search means
(services/l12_nl/search.py), which role a task is for (services/l13_roles/classifier.py).

How people ask for a kind of thing is shared by every example of that kind, so the words of
all of a label's examples tell labels apart where one example's meaning alone does not: "which
... exist", "remove", "tail" name a verb whatever resource follows; "profile doc" names the
documents service; "flaky", "coverage" a tester's task whatever the product.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

# Additive smoothing of word counts: small, since a label's examples are few and a word seen
# only with one label ("enumerate" with list) is a strong sign of it.
SMOOTHING = 0.1


class WordModel:
    """A multinomial naive Bayes model of P(label | a text's words)."""

    def __init__(
        self,
        labels: Iterable[str],
        examples: Sequence[tuple[str, str]],
        features: Callable[[str], list[str]],
    ) -> None:
        """``labels``: every label there is, with examples or not; ``examples``: (label, text)
        pairs; ``features``: the words of a text the model counts."""
        self._features = features
        self.labels = tuple(sorted(set(labels) | {label for label, _ in examples}))
        self._counts = {label: Counter[str]() for label in self.labels}
        self._examples = Counter[str]()
        self._by_text: dict[str, list[tuple[str, Counter[str]]]] = {}
        for label, text in examples:
            found = Counter(features(text))
            self._counts[label].update(found)
            self._examples[label] += 1
            self._by_text.setdefault(text, []).append((label, found))
        self._model = _Model.of(self._counts, self._examples)

    def probabilities(self, text: str, leaving_out: str | None = None) -> dict[str, float]:
        """P(label | ``text``) for every label. ``leaving_out``: an example text not to count
        (the query itself, when choosing weights)."""
        removed = self._by_text.get(leaving_out, []) if leaving_out is not None else []
        model = self._model  # a served query reads the counts as they are
        if removed:
            counts = {label: Counter(found) for label, found in self._counts.items()}
            examples = Counter(self._examples)
            for label, found in removed:
                counts[label].subtract(found)
                examples[label] -= 1
            model = _Model.of(counts, examples)
        wanted = [
            (term, n) for term, n in Counter(self._features(text)).items() if model.seen[term] > 0
        ]
        all_examples = sum(model.examples.values())
        log_p = {}
        for label in self.labels:
            score = math.log((model.examples[label] + 1) / (all_examples + len(self.labels)))
            denominator = model.totals[label] + SMOOTHING * model.vocabulary
            for term, n in wanted:
                score += n * math.log((model.counts[label][term] + SMOOTHING) / denominator)
            log_p[label] = score
        top = max(log_p.values(), default=0.0)
        exp = {label: math.exp(score - top) for label, score in log_p.items()}
        total = sum(exp.values())
        return {label: value / total for label, value in exp.items()}


@dataclass(frozen=True)
class _Model:
    """The counts a probability is read from: words by label, examples by label, and what
    follows from them."""

    counts: dict[str, Counter[str]]
    examples: Counter[str]
    totals: dict[str, int]  # words counted by label
    seen: Counter[str]  # words counted over all labels
    vocabulary: int  # distinct words seen

    @classmethod
    def of(cls, counts: dict[str, Counter[str]], examples: Counter[str]) -> _Model:
        seen = Counter[str]()
        for found in counts.values():
            seen.update(found)
        return cls(
            counts=counts,
            examples=examples,
            totals={label: sum(found.values()) for label, found in counts.items()},
            seen=seen,
            vocabulary=sum(1 for count in seen.values() if count > 0),
        )
