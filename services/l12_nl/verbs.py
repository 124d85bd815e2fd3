"""Which verb a request asks for (get, list, delete, append, watch...), learned from the
example requests of every method that starts with it.

Most wrong answers are a right service's neighbour, a method on the same resource with
another verb (GetSecret for AccessSecretVersion, PutDocument for GetDocument). A request's
way of asking ("which ... exist", "what is", "remove", "tail") is shared by every service's
methods of one verb, so a naive Bayes model over the words of all their examples tells the
verbs apart where a resource's own few examples do not.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

# Additive smoothing of word counts: small, since a verb's examples are few and a word seen
# only with one verb ("enumerate") is a strong sign of it.
SMOOTHING = 0.1


class VerbClassifier:
    """A multinomial naive Bayes model of P(verb | request words)."""

    def __init__(
        self,
        verbs: Iterable[str],
        examples: Sequence[tuple[str, str]],
        features: Callable[[str], list[str]],
    ) -> None:
        """``verbs``: every verb a method has; ``examples``: (verb, request text) pairs;
        ``features``: the words of a text the model counts."""
        self._features = features
        self.verbs = tuple(sorted(set(verbs) | {verb for verb, _ in examples}))
        self._counts = {verb: Counter[str]() for verb in self.verbs}
        self._examples = Counter[str]()
        self._by_text: dict[str, list[tuple[str, Counter[str]]]] = {}
        for verb, text in examples:
            found = Counter(features(text))
            self._counts[verb].update(found)
            self._examples[verb] += 1
            self._by_text.setdefault(text, []).append((verb, found))
        self._model = _Model.of(self._counts, self._examples)

    def probabilities(self, text: str, leaving_out: str | None = None) -> dict[str, float]:
        """P(verb | ``text``) for every verb. ``leaving_out``: an example text not to count
        (the query itself, when choosing weights)."""
        removed = self._by_text.get(leaving_out, []) if leaving_out is not None else []
        model = self._model  # a served query reads the counts as they are
        if removed:
            counts = {verb: Counter(found) for verb, found in self._counts.items()}
            examples = Counter(self._examples)
            for verb, found in removed:
                counts[verb].subtract(found)
                examples[verb] -= 1
            model = _Model.of(counts, examples)
        wanted = [
            (term, n) for term, n in Counter(self._features(text)).items() if model.seen[term] > 0
        ]
        all_examples = sum(model.examples.values())
        log_p = {}
        for verb in self.verbs:
            score = math.log((model.examples[verb] + 1) / (all_examples + len(self.verbs)))
            denominator = model.totals[verb] + SMOOTHING * model.vocabulary
            for term, n in wanted:
                score += n * math.log((model.counts[verb][term] + SMOOTHING) / denominator)
            log_p[verb] = score
        top = max(log_p.values(), default=0.0)
        exp = {verb: math.exp(score - top) for verb, score in log_p.items()}
        total = sum(exp.values())
        return {verb: value / total for verb, value in exp.items()}


@dataclass(frozen=True)
class _Model:
    """The counts a probability is read from: words by verb, examples by verb, and what
    follows from them."""

    counts: dict[str, Counter[str]]
    examples: Counter[str]
    totals: dict[str, int]  # words counted by verb
    seen: Counter[str]  # words counted over all verbs
    vocabulary: int  # distinct words seen

    @classmethod
    def of(cls, counts: dict[str, Counter[str]], examples: Counter[str]) -> _Model:
        seen = Counter[str]()
        for found in counts.values():
            seen.update(found)
        return cls(
            counts=counts,
            examples=examples,
            totals={verb: sum(found.values()) for verb, found in counts.items()},
            seen=seen,
            vocabulary=sum(1 for count in seen.values() if count > 0),
        )
