"""Finding RPCs by what a caller wants done: embeddings (meaning) blended with keywords and
with requests callers have made for each RPC.

Each method is one document: its name and its service's in words, and its doc comment. The
documents are embedded once, when the index is built; a query costs one embedding and a
matrix product. Keywords catch the exact terms (a field or resource name) that a small
embedding model blurs. Requests in users' words (``data/requests.yaml``) are nearer to a new
request than any description is ("kill agent 9 its looping" to "agent 12 is stuck, shut it
down"), so a method's closest request is a signal of its own. Those requests also teach how
callers ask for each verb, which tells a resource's methods apart, and which words name each
service, which tells a verb's methods apart (services/kit/word_model.py). Last, a model of all
the requests' embeddings at once (services/kit/vector_model.py) learns which directions of
meaning tell the methods apart, for a request worded like none of the examples.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from services.kit.identifiers import without_identifiers
from services.kit.vector_model import VectorModel, cross_fitted
from services.kit.word_model import WordModel
from services.l12_nl.catalog import CatalogMethod

# Texts in, unit vectors out (L04 Embed).
Embedder = Callable[[Sequence[str]], Awaitable[list[list[float]]]]


@dataclass(frozen=True)
class Weights:
    """How a search blends its signals (see ``blend``). The defaults were chosen on the
    development requests (data/requests.yaml, each left out of the examples and of the word
    models while it is the query) by ``python -m bench.nl_search_tuning``."""

    semantic: float = 0.75  # the cosine, against the keyword score
    # The closest example request, against that: the learned signal, from all the examples'
    # embeddings, took its place (0.25 before it).
    example: float = 0.0
    verb: float = 0.3  # the verb's probability, against all of that
    service: float = 0.175  # the service's probability, against all of that
    learned: float = 0.05  # the embedding model's standardised log-probability, against all


@dataclass(frozen=True)
class Signals:
    """Every method's score from each source, for one query (or, row by row, for many)."""

    semantic: np.ndarray
    keywords: np.ndarray
    examples: np.ndarray
    verbs: np.ndarray
    services: np.ndarray
    learned: np.ndarray


REQUESTS = Path(__file__).parent / "data" / "requests.yaml"
# L04's Embed takes at most 256 texts a call.
_EMBED_BATCH = 200


def load_requests(path: Path = REQUESTS) -> dict[str, list[str]]:
    """Example requests by full method name."""
    loaded = yaml.safe_load(path.read_text()) or {}
    return {str(method): [str(text) for text in texts] for method, texts in loaded.items()}


_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_STOP_WORDS = frozenset(
    "a an and are as at be by for from i in into is it its me my of on or the this to up "
    "what which with all any do does can please show give get want need let new one some "
    "v1 agentic rpc service request response".split()
)


def words(text: str) -> list[str]:
    """Lower-case words of ``text``, CamelCase split (``AppendEvents`` -> append, events)."""
    return [word.lower() for word in _WORD.findall(text)]


def stem(word: str) -> str:
    """A crude suffix strip, enough to match 'events' to 'event' and 'appending' to 'append';
    a final 'e' goes too, so that 'role', 'roles' and 'approved', 'approve' meet."""
    for suffix in ("ies", "ing", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    return word[:-1] if word.endswith("e") and len(word) >= 4 else word


def terms(text: str) -> list[str]:
    return [stem(word) for word in words(text) if word not in _STOP_WORDS]


def verb_of(method: CatalogMethod) -> str:
    """The verb its name starts with: ``GetSecret`` -> ``get``."""
    found = words(method.short_name)
    return found[0] if found else ""


def verb_features(text: str) -> list[str]:
    """What the verb model reads: stemmed words, stop words too ("which", "all", "is" say
    which verb is meant), and the first one marked, since a request most often opens with
    its verb."""
    stems = [stem(word) for word in words(text)]
    return [*stems, f"^{stems[0]}"] if stems else []


# What callers say for the verbs API methods start with (AIP standard methods and the
# mesh's own): a request rarely uses the method's verb ("remove" for Delete, "store" for Put).
VERB_SYNONYMS: dict[str, str] = {
    "get": "get fetch show look up read one",
    "list": "list enumerate which exist show all",
    "create": "create make new set up register",
    "put": "put store save write create or replace",
    "upsert": "upsert insert add load store or replace",
    "update": "update change set modify",
    "delete": "delete remove drop erase get rid of",
    "append": "append add write record",
    "save": "save store persist",
    "read": "read fetch show page through history",
    "search": "search find nearest similar",
    "query": "query find filter where sorted",
    "subscribe": "subscribe follow live watch tail consume receive",
    "ack": "ack acknowledge confirm processed move checkpoint",
    "stream": "stream incremental as it is written",
    "build": "build create now",
    "generate": "generate ask write answer complete",
    "embed": "embed vectorize turn into vectors",
    "invoke": "invoke call run execute",
    "access": "access read value",
    "add": "add store new value",
    "enable": "enable turn back on again",
    "disable": "disable turn off block for now",
    "destroy": "destroy erase wipe permanently",
    "rotate": "rotate re-key",
    "pause": "pause hold suspend",
    "resume": "resume unpause continue carry on",
    "terminate": "terminate stop kill shut down",
    "cancel": "cancel abort stop",
    "run": "run start kick off a task",
    "watch": "watch follow live progress stream",
    "approve": "approve allow accept sign off",
    "reject": "reject deny refuse decline",
    "request": "request ask for open",
    "evaluate": "evaluate decide allowed may permit",
    "deploy": "deploy push roll out publish",
    "rollback": "rollback revert undo go back to",
    "validate": "validate check lint dry run",
    "assign": "assign give attach to",
    "deprecate": "deprecate retire obsolete",
    "classify": "classify which suggest pick for",
    "register": "register add publish",
    "execute": "execute run",
}


# A sentence ends at ".", "!" or "?" before a capital or a quote, so that a period at the end
# of a comment's line ends it and one inside "e.g. a" does not.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"])")


def first_sentence(text: str) -> str:
    return _SENTENCE_END.split(" ".join(text.split()), 1)[0]


def heading(method: CatalogMethod) -> str:
    """Its name in words, what callers say for its verb, and its service's subject."""
    service = " ".join(words(method.service.rsplit(".", 1)[1].removesuffix("Service")))
    name = words(method.short_name)
    synonyms = VERB_SYNONYMS.get(name[0], name[0]) if name else ""
    return f"{' '.join(name)}: {synonyms} {' '.join(name[1:])} ({service})."


def document(method: CatalogMethod) -> str:
    """The text a method is found by: its heading and its whole doc comment."""
    return f"{heading(method)} {' '.join(method.description.split())}"


def summary(method: CatalogMethod) -> str:
    """The short form of its document: a long doc comment would drown the name in the
    embedding's average, so both are embedded and the closer one counts."""
    return f"{heading(method)} {first_sentence(method.description)}"


@dataclass(frozen=True)
class Scored:
    method: CatalogMethod
    score: float


def one_edit_apart(typed: str, known: str) -> bool:
    """Whether ``known`` is ``typed`` with one letter changed, added or dropped, or two
    neighbouring letters swapped: the typos a hurried request has ("agnet", "roels")."""
    if typed == known or abs(len(typed) - len(known)) > 1:
        return False
    if len(typed) == len(known):
        diffs = [i for i, (a, b) in enumerate(zip(typed, known, strict=True)) if a != b]
        return len(diffs) == 1 or (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and typed[diffs[0]] == known[diffs[1]]
            and typed[diffs[1]] == known[diffs[0]]
        )
    short, long = sorted((typed, known), key=len)
    at = next((i for i, (a, b) in enumerate(zip(short, long, strict=False)) if a != b), len(short))
    return short[at:] == long[at + 1 :]


# Shorter words have too many neighbours one edit away to guess which was meant.
_MIN_TYPO_LENGTH = 4


class KeywordScorer:
    """The share of a query's terms (weighted by rarity) that a method's document has."""

    def __init__(self, documents: Sequence[str]) -> None:
        self._terms = [set(terms(text)) for text in documents]
        counts = Counter(term for found in self._terms for term in found)
        self._idf = {t: math.log(1 + len(documents) / n) for t, n in counts.items()}
        # The commonest first: a typo one edit from two known terms most likely meant it.
        self._by_use = sorted(counts, key=lambda t: (-counts[t], t))

    def known(self, term: str) -> str | None:
        """The documents' term a query term stands for: itself, or the one a typo is one
        edit away from; None when the documents do not have it."""
        if term in self._idf:
            return term
        if len(term) < _MIN_TYPO_LENGTH:
            return None
        return next((known for known in self._by_use if one_edit_apart(term, known)), None)

    def scores(self, query: str) -> np.ndarray:
        wanted = {known for known in map(self.known, terms(query)) if known is not None}
        total = sum(self._idf[t] for t in wanted)
        if not total:
            return np.zeros(len(self._terms))
        return np.array(
            [sum(self._idf[t] for t in wanted & found) / total for found in self._terms]
        )


class SearchIndex:
    """Embeddings of every method's document and example requests, and the keyword scorer
    over the documents."""

    def __init__(
        self,
        methods: Sequence[CatalogMethod],
        vectors: np.ndarray,
        embed: Embedder,
        examples: Sequence[tuple[int, str]] = (),
        example_vectors: np.ndarray | None = None,
        learned: VectorModel | None = None,
    ) -> None:
        """``learned``: the model of the example vectors (``build`` fits it in a thread)."""
        self._methods = tuple(methods)
        self._position = {method.name: i for i, method in enumerate(methods)}
        self._learned = learned
        self._vectors = vectors
        self._embed = embed
        self._keywords = KeywordScorer([document(m) for m in methods])
        self._example_owner = np.array([owner for owner, _ in examples], dtype=int)
        self._example_texts = [text for _, text in examples]
        self._example_vectors = example_vectors
        self._method_verbs = [verb_of(m) for m in methods]
        self._verbs = WordModel(
            self._method_verbs,
            [(self._method_verbs[owner], text) for owner, text in examples],
            verb_features,
        )
        self._method_services = [m.service for m in methods]
        self._services = WordModel(
            self._method_services,
            [(self._method_services[owner], text) for owner, text in examples],
            terms,
        )

    @classmethod
    async def build(
        cls,
        methods: Sequence[CatalogMethod],
        embed: Embedder,
        requests: Mapping[str, Sequence[str]] | None = None,
    ) -> SearchIndex:
        """``requests``: example requests by method name (default: the shipped ones); those
        of methods not in the catalog are left out."""
        requests = load_requests() if requests is None else requests
        position = {method.name: i for i, method in enumerate(methods)}
        examples = [
            (position[name], text)
            for name, texts in requests.items()
            if name in position
            for text in texts
        ]
        views = [document(m) for m in methods] + [summary(m) for m in methods]
        vectors = await _embed_all(embed, views + [text for _, text in examples])
        views_count = len(views)
        example_vectors = vectors[views_count:] if examples else None
        learned = None
        if example_vectors is not None:
            labels = [methods[owner].name for owner, _ in examples]
            learned = await asyncio.to_thread(VectorModel.fit, example_vectors, labels)
        return cls(
            methods,
            vectors[:views_count].reshape(2, len(methods), -1),
            embed,
            examples,
            example_vectors,
            learned,
        )

    async def query_vector(self, query: str) -> np.ndarray:
        (vector,) = _unit_rows(await self._embed([query]))
        return vector

    def semantic_scores(self, vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query to each method's closer view."""
        return (self._vectors @ vector).max(axis=0)  # type: ignore[no-any-return]

    def example_scores(self, vector: np.ndarray, leaving_out: str | None = None) -> np.ndarray:
        """Cosine similarity of the query to each method's closest example request; a method
        with none gets the lowest of the others' (never an advantage). ``leaving_out``: an
        example text not to count (the query itself, when choosing weights)."""
        scores = np.full(len(self._methods), np.nan)
        if self._example_vectors is None:
            return np.zeros(len(self._methods))
        cosines = self._example_vectors @ vector
        if leaving_out is not None:
            cosines = np.where(
                [text == leaving_out for text in self._example_texts], -np.inf, cosines
            )
        np.fmax.at(scores, self._example_owner, cosines)
        scores[~np.isfinite(scores)] = np.nan
        lowest = np.nanmin(scores) if np.isfinite(scores).any() else 0.0
        return np.where(np.isnan(scores), lowest, scores)  # type: ignore[no-any-return]

    def keyword_scores(self, query: str) -> np.ndarray:
        return self._keywords.scores(query)

    def verb_scores(self, query: str, leaving_out: str | None = None) -> np.ndarray:
        """The probability that the query asks for each method's verb, learned from the
        example requests; ``leaving_out`` as for example_scores."""
        probability = self._verbs.probabilities(query, leaving_out)
        return np.array([probability[verb] for verb in self._method_verbs])

    def service_scores(self, query: str, leaving_out: str | None = None) -> np.ndarray:
        """The probability that the query asks for each method's service, learned from the
        example requests; ``leaving_out`` as for example_scores."""
        probability = self._services.probabilities(query, leaving_out)
        return np.array([probability[service] for service in self._method_services])

    def learned_scores(self, vector: np.ndarray) -> np.ndarray:
        """Each method's log-probability from the model of the example requests' embeddings,
        standardised across the methods with examples; a method with none gets the lowest."""
        if self._learned is None:
            return np.zeros(len(self._methods))
        logs = self._learned.log_probabilities(vector)[0]
        return self._over_methods(self._learned.labels, logs)

    def learned_left_out(self) -> np.ndarray:
        """Each example request's learned scores (one row per example, in the order given)
        from models fitted without it: what choosing weights on the examples needs, since
        the model cannot leave one out the way the word models do."""
        if self._example_vectors is None:
            return np.zeros((0, len(self._methods)))
        labels = [self._methods[owner].name for owner in self._example_owner]
        names, logs = cross_fitted(self._example_vectors, labels)
        return np.stack([self._over_methods(names, row) for row in logs])

    def _over_methods(self, labels: Sequence[str], logs: np.ndarray) -> np.ndarray:
        spread = float(logs.std())
        standard = (logs - logs.mean()) / spread if spread > 1e-9 else np.zeros(len(logs))
        scores = np.full(len(self._methods), float(standard.min()))
        scores[[self._position[label] for label in labels]] = standard
        return scores

    def signals(self, query: str, vector: np.ndarray, leaving_out: str | None = None) -> Signals:
        """``vector``: the query's (query_vector); ``leaving_out`` as for example_scores (the
        learned scores cannot leave an example out: see learned_left_out)."""
        return Signals(
            self.semantic_scores(vector),
            self.keyword_scores(query),
            self.example_scores(vector, leaving_out),
            self.verb_scores(query, leaving_out),
            self.service_scores(query, leaving_out),
            self.learned_scores(vector),
        )

    async def search(self, query: str, limit: int, weights: Weights = Weights()) -> list[Scored]:
        # The id a request names says nothing of the RPC it wants (and would sway the words).
        query = without_identifiers(query) or query
        blended = blend(self.signals(query, await self.query_vector(query)), weights)
        order = np.argsort(-blended, kind="stable")[:limit]
        return [Scored(self._methods[i], float(blended[i])) for i in order]


def blend(signals: Signals, weights: Weights = Weights()) -> np.ndarray:
    """A method's score: its texts' meaning and keywords, then its closest example request,
    then how likely the query asks for its verb, then for its service, then what the model of
    the examples' embeddings says."""
    described = weights.semantic * signals.semantic + (1 - weights.semantic) * signals.keywords
    found = (1 - weights.example) * described + weights.example * signals.examples
    asked = (1 - weights.verb) * found + weights.verb * signals.verbs
    served = (1 - weights.service) * asked + weights.service * signals.services
    return (1 - weights.learned) * served + weights.learned * signals.learned  # type: ignore[no-any-return]


async def _embed_all(embed: Embedder, texts: Sequence[str]) -> np.ndarray:
    vectors: list[list[float]] = []
    for start in range(0, len(texts), _EMBED_BATCH):
        vectors += await embed(texts[start : start + _EMBED_BATCH])
    return _unit_rows(vectors)


def _unit_rows(vectors: list[list[float]]) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)  # type: ignore[no-any-return]
