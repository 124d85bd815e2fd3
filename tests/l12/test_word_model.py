"""The verb model of the catalog search: how callers ask for a verb, learned from example
requests of any resource, and its share of a search's blend."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from services.kit import descriptors
from services.kit.word_model import WordModel
from services.l12_nl.catalog import Catalog
from services.l12_nl.search import SearchIndex, Signals, Weights, blend, verb_features, verb_of

pytestmark = [pytest.mark.unit, pytest.mark.l12]

CATALOG = Catalog(descriptors.load())
EXAMPLES = [
    ("get", "show widget 3"),
    ("get", "what is the state of gadget 9"),
    ("list", "which widgets exist"),
    ("list", "list all the gadgets"),
    ("delete", "remove widget 4"),
    ("delete", "drop the gadget"),
]


def test_verb_of_a_method_is_the_first_word_of_its_name() -> None:
    by_name = {m.short_name: verb_of(m) for m in CATALOG.methods}
    assert by_name["GetSecret"] == "get"
    assert by_name["AccessSecretVersion"] == "access"
    assert by_name["ListConsumerGroups"] == "list"


def test_features_keep_little_words_and_mark_the_first() -> None:
    assert verb_features("Which Groups exist") == ["which", "group", "exist", "^which"]
    assert verb_features("") == []


def test_a_verb_is_learned_from_other_resources_requests() -> None:
    model = WordModel(["get", "list", "delete", "create"], EXAMPLES, verb_features)
    # None of the examples is about a secret: the way of asking decides.
    for text, verb in [
        ("which secrets exist", "list"),
        ("remove the old secret", "delete"),
        ("show secret 12", "get"),
    ]:
        found = model.probabilities(text)
        assert max(found, key=found.__getitem__) == verb, (text, found)
        assert sum(found.values()) == pytest.approx(1)
    # A verb without examples still has a probability, never zero.
    assert 0 < model.probabilities("which secrets exist")["create"] < 0.5


def test_a_left_out_example_does_not_count() -> None:
    examples = [("delete", "erase widget 1"), ("get", "show widget 2")]
    model = WordModel(["get", "delete"], examples, verb_features)
    found = model.probabilities("erase widget 1")
    assert found["delete"] > found["get"]
    # Left out, "erase" is a word no example has and "widget" is only the other verb's.
    left_out = model.probabilities("erase widget 1", leaving_out="erase widget 1")
    assert left_out["get"] > left_out["delete"]
    assert model.probabilities("erase widget 1") == found  # the model is unchanged


async def test_the_verb_tells_one_resource_s_methods_apart() -> None:
    by_name = {m.short_name: m for m in CATALOG.methods}
    methods = [by_name[n] for n in ("GetSecret", "ListSecrets", "DeleteSecret")]
    other = {m.short_name: m for m in CATALOG.methods if m.service.endswith("ToolService")}

    async def embed(texts: Sequence[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]  # the same meaning for every text

    requests = {
        other["GetTool"].name: ["show tool 3"],
        other["ListTools"].name: ["which tools exist"],
        other["DeprecateTool"].name: ["retire the old tool"],
    }
    index = await SearchIndex.build(
        [*methods, other["GetTool"], other["ListTools"]], embed, requests
    )
    scores = index.verb_scores("which secrets exist")
    assert scores[1] == scores[4] and scores[1] > scores[0] > 0
    found = await index.search("which secrets exist", 3, Weights(example=0.0, verb=0.5))
    assert found[0].method.short_name in {"ListSecrets", "ListTools"}
    # Without its weight the verb changes nothing.
    same, apart = np.ones(2), np.array([1.0, 0.0])
    unweighted = Weights(verb=0, service=0, learned=0)
    assert blend(Signals(same, same, same, apart, apart, apart), unweighted).tolist() == [1.0, 1.0]


async def test_the_service_tells_one_verbs_methods_apart() -> None:
    """Requests that name no resource the descriptions use ("the profile doc") find the
    service whose example requests use their words."""
    by_name = {m.short_name: m for m in CATALOG.methods}
    methods = [by_name["GetDocument"], by_name["GetSecret"], by_name["GetConsumerGroup"]]

    async def embed(texts: Sequence[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]

    requests = {
        by_name["PutDocument"].name: ["save the profile doc for user 7"],
        by_name["QueryDocuments"].name: ["profiles with plan pro"],
        by_name["CreateSecret"].name: ["store the stripe key"],
    }
    index = await SearchIndex.build([*methods, by_name["PutDocument"]], embed, requests)
    scores = index.service_scores("pull up the profile doc of user 88")
    assert scores[0] == scores[3] and scores[0] > scores[1] > 0
    found = await index.search("pull up the profile doc of user 88", 1, Weights(service=0.5))
    assert found[0].method.short_name in {"GetDocument", "PutDocument"}
