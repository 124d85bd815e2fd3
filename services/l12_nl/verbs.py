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
        self._totals = {verb: sum(counts.values()) for verb, counts in self._counts.items()}
        self._seen = Counter[str]()
        for counts in self._counts.values():
            self._seen.update(counts)

    def probabilities(self, text: str, leaving_out: str | None = None) -> dict[str, float]:
        """P(verb | ``text``) for every verb. ``leaving_out``: an example text not to count
        (the query itself, when choosing weights)."""
        removed = self._by_text.get(leaving_out, []) if leaving_out is not None else []
        # Copies only when an example is left out: a served query reads the counts as they are.
        seen = self._seen.copy() if removed else self._seen
        examples = self._examples.copy() if removed else self._examples
        totals = dict(self._totals)
        removed_counts = {verb: Counter[str]() for verb in self.verbs}
        for verb, found in removed:
            seen.subtract(found)
            examples[verb] -= 1
            totals[verb] -= sum(found.values())
            removed_counts[verb].update(found)
        vocabulary = sum(1 for count in seen.values() if count > 0)
        wanted = [(term, n) for term, n in Counter(self._features(text)).items() if seen[term] > 0]
        all_examples = sum(examples.values())
        log_p = {}
        for verb in self.verbs:
            score = math.log((examples[verb] + 1) / (all_examples + len(self.verbs)))
            denominator = totals[verb] + SMOOTHING * vocabulary
            for term, n in wanted:
                count = self._counts[verb][term] - removed_counts[verb][term]
                score += n * math.log((count + SMOOTHING) / denominator)
            log_p[verb] = score
        top = max(log_p.values(), default=0.0)
        exp = {verb: math.exp(score - top) for verb, score in log_p.items()}
        total = sum(exp.values())
        return {verb: value / total for verb, value in exp.items()}
