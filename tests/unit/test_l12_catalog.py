"""The NL catalog, its schemas, keyword scoring and credential choice, without a mesh."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from agentic.data.v1 import event_store_pb2, vectors_pb2
from services.kit import PlatformError, descriptors
from services.kit.auth import CALLER_AUTHORIZATION_HEADER
from services.l12_nl.arguments import (
    MAX_ARRAY_ITEMS,
    MAX_PAGE_SIZE,
    MAX_STRING_CHARS,
    bounded,
    prompt,
)
from services.l12_nl.catalog import Catalog
from services.l12_nl.credentials import caller_credential
from services.l12_nl.index_builder import IndexBuilder
from services.l12_nl.schemas import message_schema
from services.l12_nl.search import (
    KeywordScorer,
    SearchIndex,
    Weights,
    document,
    first_sentence,
    load_requests,
    one_edit_apart,
    stem,
    terms,
)

pytestmark = [pytest.mark.unit, pytest.mark.l12]

CATALOG = Catalog(descriptors.load())


def test_a_schema_has_every_field_with_its_json_type() -> None:
    schema = message_schema(event_store_pb2.AppendEventsRequest.DESCRIPTOR)
    fields = {f.name for f in event_store_pb2.AppendEventsRequest.DESCRIPTOR.fields}
    assert set(schema["properties"]) == fields
    assert schema["properties"]["expected_version"]["type"] == "string"  # int64 in proto3 JSON
    event = schema["properties"]["events"]["items"]
    assert event["properties"]["data"] == {"type": "object"}  # google.protobuf.Struct
    assert schema["additionalProperties"] is False


def test_enums_maps_and_floats_have_their_json_forms() -> None:
    create = message_schema(vectors_pb2.CreateCollectionRequest.DESCRIPTOR)
    distance = create["properties"]["collection"]["properties"]["distance"]
    assert "DISTANCE_COSINE" in distance["enum"]
    search = message_schema(vectors_pb2.SearchVectorsRequest.DESCRIPTOR)
    assert search["properties"]["vector"] == {"type": "array", "items": {"type": "number"}}


def test_a_method_is_found_by_either_spelling_of_its_name() -> None:
    dotted = CATALOG.method("agentic.data.v1.EventStoreService.AppendEvents")
    assert CATALOG.method("/agentic.data.v1.EventStoreService/AppendEvents") is dotted
    assert dotted.grpc_path == "/agentic.data.v1.EventStoreService/AppendEvents"
    with pytest.raises(PlatformError) as refused:
        CATALOG.method("agentic.data.v1.EventStoreService.Nothing")
    assert refused.value.code == "E12101"


def test_pages_cover_every_service_once() -> None:
    seen, token = [], ""
    while True:
        page = CATALOG.page(3, token)
        seen += [s.name for s in page.services]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted({m.service for m in CATALOG.methods})


def test_reads_are_not_mutating_and_writes_are() -> None:
    assert not CATALOG.method("agentic.data.v1.DocumentService.GetDocument").mutating
    assert not CATALOG.method("agentic.data.v1.DocumentService.QueryDocuments").mutating
    assert CATALOG.method("agentic.data.v1.DocumentService.DeleteDocument").mutating


def test_keyword_scores_weigh_rare_terms_over_common_ones() -> None:
    scorer = KeywordScorer(["append events to a stream", "read a stream", "delete a collection"])
    scores = scorer.scores("append to the stream")
    assert scores[0] == 1.0
    assert 0 < scores[1] < scores[0]
    assert scores[2] == 0
    assert stem("events") == "event" and stem("appending") == "append"
    assert terms("the AppendEvents RPC") == ["append", "event"]


def test_a_typo_one_edit_away_is_the_word_it_was_meant_to_be() -> None:
    assert one_edit_apart("agnet", "agent")  # two neighbours swapped
    assert one_edit_apart("aprove", "approve") and one_edit_apart("approve", "aprove")
    assert one_edit_apart("secrut", "secret")  # one letter changed
    assert not one_edit_apart("agent", "agent")
    assert not one_edit_apart("role", "rule ")
    assert not one_edit_apart("gnaet", "agent")
    scorer = KeywordScorer(["list roles", "list models", "pause agent"])
    assert stem("roles") == stem("role") and stem("approved") == stem("approves")
    assert scorer.known(stem("roels")) == stem("role")
    assert scorer.known(stem("pause")) == stem("pause")
    assert scorer.known("rle") is None  # too short to guess
    assert scorer.known("zebra") is None
    scores = scorer.scores("list all roels")
    assert scores[0] == 1.0 and scores[0] > scores[1] > scores[2] == 0


def test_a_methods_text_says_its_verb_in_the_words_callers_use() -> None:
    text = document(CATALOG.method("agentic.secrets.v1.SecretService.DisableSecretVersion"))
    assert set(terms("disable turn off secret version")) <= set(terms(text))
    text = document(CATALOG.method("agentic.supervision.v1.PolicyService.RollbackPolicies"))
    assert set(terms("revert undo policies")) <= set(terms(text))


def test_a_summary_ends_at_the_first_sentence_even_at_a_line_end() -> None:
    comment = "Returns a stream's version.\nNOT_FOUND (E1300) if it has no events."
    assert first_sentence(comment) == "Returns a stream's version."
    assert first_sentence("Saves one (e.g. a read model) document. Then more.") == (
        "Saves one (e.g. a read model) document."
    )
    assert first_sentence("One sentence without a period") == "One sentence without a period"


def test_the_caller_credential_is_forwarded_never_the_service_token() -> None:
    service = "Bearer mesh-token"
    via_gateway = {"authorization": service, CALLER_AUTHORIZATION_HEADER: "Bearer agk_1_x"}
    assert caller_credential(via_gateway, "mesh-token") == "Bearer agk_1_x"
    assert caller_credential({"authorization": "Bearer mine"}, "mesh-token") == "Bearer mine"
    for metadata in ({"authorization": service}, {}, {CALLER_AUTHORIZATION_HEADER: service}):
        with pytest.raises(PlatformError) as refused:
            caller_credential(metadata, "mesh-token")
        assert refused.value.code == "E12104"


def test_a_models_answer_is_bounded_where_the_schema_leaves_it_free() -> None:
    schema = CATALOG.method("agentic.data.v1.EventStoreService.AppendEvents").request_schema
    bounded_schema = bounded(schema)
    properties = bounded_schema["properties"]
    assert properties["stream_id"]["maxLength"] == MAX_STRING_CHARS
    assert "maxLength" not in properties["expected_version"]  # a pattern bounds it already
    assert properties["events"]["maxItems"] == MAX_ARRAY_ITEMS
    assert "maxLength" not in schema["properties"]["stream_id"]  # the catalog's is unchanged


def test_a_page_size_a_model_writes_is_one_every_layer_takes() -> None:
    """ "0" asked of the assistant once became ListGoals with a page size past L05's 500."""
    schema = CATALOG.method("agentic.planning.v1.GoalService.ListGoals").request_schema
    page_size = bounded(schema)["properties"]["page_size"]
    assert (page_size["minimum"], page_size["maximum"]) == (1, MAX_PAGE_SIZE)
    assert schema["properties"]["page_size"]["maximum"] == 2**31 - 1


def test_the_prompt_carries_earlier_turns_then_the_request() -> None:
    method = CATALOG.method("agentic.data.v1.EventStoreService.ReadStream")
    history = [{"text": f"turn {n}", "method": method.name, "arguments": {}} for n in range(6)]
    system, messages = prompt(method, "read order-42", history)
    assert method.name in system
    assert messages[-1] == ("user", "read order-42")
    assert [m for role, m in messages if role == "user"][:-1] == [f"turn {n}" for n in range(2, 6)]


async def test_searches_wait_for_the_index_and_say_so_when_it_is_not_built() -> None:
    methods = CATALOG.methods[:3]
    attempts = []

    async def embed(texts: Sequence[str]) -> list[list[float]]:
        attempts.append(len(texts))
        if len(attempts) < 3:  # L04 still loading its embedder
            raise ConnectionError("L04 is loading")
        return [[float(i == n % 4) for i in range(4)] for n in range(len(texts))]

    builder = IndexBuilder(methods, embed)
    with pytest.raises(PlatformError) as loading:
        await builder.index(wait_seconds=0)
    assert loading.value.code == "E12003"
    builder.start()
    try:
        index = await builder.index(wait_seconds=10)
    finally:
        await builder.stop()
    assert len(attempts) == 3
    assert len(await index.search("anything", 2)) == 2


def _axis_embedder(words: Sequence[str], calls: list[int]) -> Any:
    """Embeds a text as the unit vector of the first of ``words`` it contains (else the last
    axis): texts about one word are identical, about two different words orthogonal."""

    async def embed(texts: Sequence[str]) -> list[list[float]]:
        calls.append(len(texts))
        return [
            [
                float(i == next((n for n, w in enumerate(words) if w in t), len(words)))
                for i in range(len(words) + 1)
            ]
            for t in texts
        ]

    return embed


async def test_a_method_s_example_requests_pull_a_query_like_them_to_the_top() -> None:
    methods = CATALOG.methods[:3]
    embed = _axis_embedder(["penguin", "walrus"], [])
    requests = {
        methods[1].name: ["feed the walrus"],
        methods[2].name: ["count the penguins"],
        "agentic.gone.v1.GoneService.Gone": ["penguins again"],  # not in the catalog: ignored
    }
    index = await SearchIndex.build(methods, embed, requests)
    vector = await index.query_vector("how many penguins are there")
    # The first method has no example: it gets the lowest score of those that have one.
    assert index.example_scores(vector).tolist() == [0.0, 0.0, 1.0]
    found = await index.search("how many penguins are there", 3, Weights(example=0.5))
    assert found[0].method.name == methods[2].name


async def test_example_scores_leave_out_the_query_s_own_text_when_asked() -> None:
    methods = CATALOG.methods[:2]
    embed = _axis_embedder(["penguin", "walrus"], [])
    requests = {methods[0].name: ["count the penguins"], methods[1].name: ["feed the walrus"]}
    index = await SearchIndex.build(methods, embed, requests)
    vector = await index.query_vector("count the penguins")
    assert index.example_scores(vector).tolist() == [1.0, 0.0]
    # Left out, the first method has no example: it gets the lowest of the others'.
    assert index.example_scores(vector, leaving_out="count the penguins").tolist() == [0.0, 0.0]


async def test_the_learned_scores_favour_the_method_whose_examples_are_near() -> None:
    methods = CATALOG.methods[:3]
    embed = _axis_embedder(["penguin", "walrus"], [])
    requests = {
        methods[1].name: ["feed the walrus", "the walrus is hungry"],
        methods[2].name: ["count the penguins", "penguins on the ice"],
    }
    index = await SearchIndex.build(methods, embed, requests)
    learned = index.learned_scores(await index.query_vector("how many penguins are there"))
    assert learned[2] > learned[1]
    assert learned[0] == learned.min()  # no examples: never an advantage
    # Each example scored by a model that never saw it: one row per example, every method.
    assert index.learned_left_out().shape == (4, 3)
    found = await index.search("how many penguins are there", 3, Weights(learned=0.5))
    assert found[0].method.name == methods[2].name


async def test_the_index_embeds_in_batches_l04_accepts() -> None:
    calls: list[int] = []
    requests = {CATALOG.methods[0].name: [f"request {n}" for n in range(600)]}
    await SearchIndex.build(CATALOG.methods, _axis_embedder(["x"], calls), requests)
    assert sum(calls) == 2 * len(CATALOG.methods) + 600
    assert max(calls) <= 256


def test_the_shipped_example_requests_name_methods_of_the_catalog() -> None:
    requests = load_requests()
    names = {method.name for method in CATALOG.methods}
    assert set(requests) <= names
    assert sum(len(texts) for texts in requests.values()) >= 400
