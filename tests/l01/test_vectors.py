"""VectorService: collections, upserts, k-NN search with filters, audit, bad input, auth."""

import asyncio
import math
import random
import uuid

import grpc
import httpx
import pytest

from agentic.data.v1 import event_store_pb2, event_store_pb2_grpc, vectors_pb2_grpc
from agentic.data.v1 import vectors_pb2 as pb
from agentic.data.v1.query_pb2 import Filter
from services.kit import open_channel
from tests.l01.filters import where
from tests.support import error_metadata, new_event, platform_code, rest_reason, stream_name, struct

pytestmark = [pytest.mark.integration, pytest.mark.l01]

COSINE, L2, IP = pb.DISTANCE_COSINE, pb.DISTANCE_L2, pb.DISTANCE_INNER_PRODUCT


@pytest.fixture(params=["direct", "envoy"])
def vectors(request, l01_channel, gateway_channel) -> vectors_pb2_grpc.VectorServiceStub:
    """The VectorService stub, once straight to L01 and once through Envoy."""
    channel = l01_channel if request.param == "direct" else gateway_channel
    return vectors_pb2_grpc.VectorServiceStub(channel)


@pytest.fixture
def direct(l01_channel) -> vectors_pb2_grpc.VectorServiceStub:
    return vectors_pb2_grpc.VectorServiceStub(l01_channel)


def new_id() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def cname(collection_id: str) -> str:
    return f"vectorCollections/{collection_id}"


async def create(stub, dimension: int, distance: int = COSINE, **options) -> str:
    collection_id = new_id()
    await stub.CreateCollection(
        pb.CreateCollectionRequest(
            collection_id=collection_id,
            collection=pb.VectorCollection(dimension=dimension, distance=distance, **options),
        )
    )
    return collection_id


def vec(vector_id: str, values, **metadata) -> pb.Vector:
    return pb.Vector(id=vector_id, values=values, metadata=struct(metadata) if metadata else None)


async def upsert(stub, collection_id: str, *items: pb.Vector) -> int:
    reply = await stub.UpsertVectors(
        pb.UpsertVectorsRequest(parent=cname(collection_id), vectors=items)
    )
    return reply.upserted_count


async def search(stub, collection_id: str, query, **options) -> list[pb.SearchMatch]:
    reply = await stub.SearchVectors(
        pb.SearchVectorsRequest(parent=cname(collection_id), vector=query, **options)
    )
    return list(reply.matches)


async def refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


# -- collections -----------------------------------------------------------------------------


async def test_collection_lifecycle(vectors) -> None:
    collection_id = await create(vectors, 3, L2, hnsw_m=8, hnsw_ef_construction=32)
    got = (
        await vectors.GetCollection(pb.GetCollectionRequest(name=cname(collection_id)))
    ).collection
    assert (got.name, got.dimension, got.distance) == (cname(collection_id), 3, L2)
    assert (got.hnsw_m, got.hnsw_ef_construction, got.indexed, got.vector_count) == (8, 32, True, 0)
    await upsert(vectors, collection_id, vec("a", [1, 2, 3]), vec("b", [0, 0, 0]))
    got = (
        await vectors.GetCollection(pb.GetCollectionRequest(name=cname(collection_id)))
    ).collection
    assert got.vector_count == 2
    names, token = [], ""
    while True:
        page = await vectors.ListCollections(
            pb.ListCollectionsRequest(page_size=2, page_token=token)
        )
        names += [c.name for c in page.collections]
        if not (token := page.next_page_token):
            break
    assert cname(collection_id) in names and names == sorted(names)
    again = await refused(
        vectors.CreateCollection(
            pb.CreateCollectionRequest(
                collection_id=collection_id,
                collection=pb.VectorCollection(dimension=3, distance=L2),
            )
        )
    )
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS and platform_code(again) == "E1201"
    deleted = await vectors.DeleteCollection(pb.DeleteCollectionRequest(name=cname(collection_id)))
    assert deleted.deleted_vector_count == 2
    gone = await refused(vectors.GetCollection(pb.GetCollectionRequest(name=cname(collection_id))))
    assert gone.code() == grpc.StatusCode.NOT_FOUND and platform_code(gone) == "E1200"


async def test_a_recreated_collection_takes_its_new_dimension(direct) -> None:
    collection_id = await create(direct, 3)
    await upsert(direct, collection_id, vec("a", [1, 2, 3]))
    await direct.DeleteCollection(pb.DeleteCollectionRequest(name=cname(collection_id)))
    await direct.CreateCollection(
        pb.CreateCollectionRequest(
            collection_id=collection_id, collection=pb.VectorCollection(dimension=2, distance=L2)
        )
    )
    assert await upsert(direct, collection_id, vec("b", [1, 2])) == 1
    matches = await search(direct, collection_id, [1, 2])
    assert [m.id for m in matches] == ["b"]


async def test_concurrent_creates_of_one_collection_let_exactly_one_win(direct) -> None:
    collection_id = new_id()
    request = pb.CreateCollectionRequest(
        collection_id=collection_id, collection=pb.VectorCollection(dimension=4, distance=L2)
    )
    results = await asyncio.gather(
        *(direct.CreateCollection(request) for _ in range(6)), return_exceptions=True
    )
    losers = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(losers) == 5 and {platform_code(e) for e in losers} == {"E1201"}


# -- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("distance", "expected"),
    [
        # query (1, 0): a = (2, 0), b = (0, 1), c = (-1, -1), d = (0.9, 0.1)
        (COSINE, [("a", 0.0), ("d", 1 - 0.9 / math.hypot(0.9, 0.1)), ("b", 1.0)]),
        (L2, [("d", math.hypot(0.1, 0.1)), ("b", math.sqrt(2)), ("a", 1.0)]),
        (IP, [("a", -2.0), ("d", -0.9), ("b", 0.0)]),
    ],
)
async def test_search_ranks_by_the_collection_distance(vectors, distance, expected) -> None:
    collection_id = await create(vectors, 2, distance)
    await upsert(
        vectors,
        collection_id,
        vec("a", [2, 0]),
        vec("b", [0, 1]),
        vec("c", [-1, -1]),
        vec("d", [0.9, 0.1]),
    )
    matches = await search(vectors, collection_id, [1, 0], k=3)
    expected_order = sorted(expected, key=lambda pair: pair[1])
    assert [m.id for m in matches] == [vector_id for vector_id, _ in expected_order]
    for match, (_, distance_value) in zip(matches, expected_order, strict=True):
        assert match.distance == pytest.approx(distance_value, abs=1e-6)


async def test_upsert_replaces_by_id_and_search_returns_metadata_and_values(vectors) -> None:
    collection_id = await create(vectors, 3, L2)
    await upsert(vectors, collection_id, vec("a", [1, 1, 1], kind="old"), vec("b", [5, 5, 5]))
    await upsert(vectors, collection_id, vec("a", [9, 9, 9], kind="new", n=2))
    matches = await search(vectors, collection_id, [9, 9, 9], k=1, include_values=True)
    assert matches[0].id == "a" and dict(matches[0].metadata) == {"kind": "new", "n": 2}
    assert list(matches[0].values) == [9, 9, 9]
    without = await search(vectors, collection_id, [9, 9, 9], k=1)
    assert list(without[0].values) == []


async def test_get_vector_returns_values_and_metadata_or_not_found(vectors) -> None:
    collection_id = await create(vectors, 3, L2)
    await upsert(vectors, collection_id, vec("a.1@x", [1.5, -2, 3], kind="k", n=2))
    reply = await vectors.GetVector(pb.GetVectorRequest(parent=cname(collection_id), id="a.1@x"))
    assert reply.vector.id == "a.1@x"
    assert list(reply.vector.values) == [1.5, -2, 3]
    assert dict(reply.vector.metadata) == {"kind": "k", "n": 2}

    error = await refused(
        vectors.GetVector(pb.GetVectorRequest(parent=cname(collection_id), id="b"))
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND and platform_code(error) == "E1207"
    assert error_metadata(error)["id"] == "b"
    for bad_id in ("", "a b", "x" * 257):
        error = await refused(
            vectors.GetVector(pb.GetVectorRequest(parent=cname(collection_id), id=bad_id))
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, bad_id


async def test_deleted_vectors_are_no_longer_found(vectors) -> None:
    collection_id = await create(vectors, 2, L2)
    await upsert(vectors, collection_id, vec("a", [0, 0]), vec("b", [1, 1]), vec("c", [2, 2]))
    reply = await vectors.DeleteVectors(
        pb.DeleteVectorsRequest(parent=cname(collection_id), ids=["a", "c", "never-was"])
    )
    assert reply.deleted_count == 2
    assert [m.id for m in await search(vectors, collection_id, [0, 0], k=10)] == ["b"]


@pytest.fixture(scope="module")
async def grouped(l01_channel) -> tuple[str, list[list[float]]]:
    """2,000 indexed vectors of dimension 8 in 100 metadata groups (20 per group)."""
    stub = vectors_pb2_grpc.VectorServiceStub(l01_channel)
    collection_id = await create(stub, 8, L2)
    rng = random.Random(7)
    points = [[rng.gauss(0, 1) for _ in range(8)] for _ in range(2000)]
    for start in range(0, 2000, 500):
        await upsert(
            stub,
            collection_id,
            *(
                vec(f"v{i}", points[i], group=i % 100, rank=i, tag="even" if i % 2 == 0 else "odd")
                for i in range(start, start + 500)
            ),
        )
    return collection_id, points


async def test_a_selective_filter_still_returns_k_matches_through_the_index(
    l01_channel, grouped
) -> None:
    stub = vectors_pb2_grpc.VectorServiceStub(l01_channel)
    collection_id, points = grouped
    query = points[0]
    matches = await search(
        stub, collection_id, query, k=10, filters=[where("group", Filter.OPERATOR_EQUAL, 7)]
    )
    assert len(matches) == 10
    assert {m.metadata["group"] for m in matches} == {7}
    exact = await search(
        stub,
        collection_id,
        query,
        k=10,
        exact=True,
        filters=[where("group", Filter.OPERATOR_EQUAL, 7)],
    )
    assert len({m.id for m in matches} & {m.id for m in exact}) >= 9
    assert [m.distance for m in matches] == sorted(m.distance for m in matches)


async def test_search_filters_combine_on_metadata(l01_channel, grouped) -> None:
    stub = vectors_pb2_grpc.VectorServiceStub(l01_channel)
    collection_id, points = grouped
    matches = await search(
        stub,
        collection_id,
        points[1],
        k=50,
        filters=[
            where("rank", Filter.OPERATOR_LESS_THAN, 300),
            where("tag", Filter.OPERATOR_EQUAL, "odd"),
            where("group", Filter.OPERATOR_IN, [1, 3, 5]),
        ],
    )
    ids = sorted(int(m.id[1:]) for m in matches)
    assert ids == [i for i in range(300) if i % 2 == 1 and i % 100 in (1, 3, 5)]


async def test_index_search_agrees_with_exact_search(l01_channel, grouped) -> None:
    stub = vectors_pb2_grpc.VectorServiceStub(l01_channel)
    collection_id, points = grouped
    overlap = 0
    for query in points[:20]:
        approximate = await search(stub, collection_id, query, k=10)
        exact = await search(stub, collection_id, query, k=10, exact=True)
        overlap += len({m.id for m in approximate} & {m.id for m in exact})
    assert overlap / 200 >= 0.95


async def test_a_deferred_index_is_built_on_request(vectors) -> None:
    collection_id = await create(vectors, 4, COSINE, defer_index=True)
    got = await vectors.GetCollection(pb.GetCollectionRequest(name=cname(collection_id)))
    assert not got.collection.indexed
    await upsert(vectors, collection_id, *(vec(f"v{i}", [1, i, 0, 1]) for i in range(50)))
    before = await search(vectors, collection_id, [1, 3, 0, 1], k=3)
    assert before[0].id == "v3"
    built = await vectors.BuildIndex(pb.BuildIndexRequest(name=cname(collection_id)))
    assert built.built and built.collection.indexed and built.collection.vector_count == 50
    again = await vectors.BuildIndex(pb.BuildIndexRequest(name=cname(collection_id)))
    assert not again.built
    after = await search(vectors, collection_id, [1, 3, 0, 1], k=3)
    assert [m.id for m in after] == [m.id for m in before]


async def test_concurrent_upserts_all_land(direct) -> None:
    collection_id = await create(direct, 4, L2)
    await asyncio.gather(
        *(
            upsert(direct, collection_id, *(vec(f"w{w}-{i}", [w, i, 0, 1]) for i in range(25)))
            for w in range(8)
        )
    )
    got = await direct.GetCollection(pb.GetCollectionRequest(name=cname(collection_id)))
    assert got.collection.vector_count == 200


# -- audit -----------------------------------------------------------------------------------


async def test_changes_are_audited_with_the_principal_and_no_vectors(l01_channel) -> None:
    store = event_store_pb2_grpc.EventStoreServiceStub(l01_channel)
    since = (
        await store.AppendEvents(
            event_store_pb2.AppendEventsRequest(stream_id=stream_name(), events=[new_event()])
        )
    ).last_position
    stub = vectors_pb2_grpc.VectorServiceStub(l01_channel)
    collection_id = await create(stub, 2, L2)
    await upsert(stub, collection_id, vec("a", [1, 2]), vec("b", [3, 4]))
    await refused(upsert(stub, collection_id, vec("c", [1, 2, 3])))  # refused: no event
    await stub.DeleteVectors(pb.DeleteVectorsRequest(parent=cname(collection_id), ids=["a"]))
    await stub.DeleteVectors(pb.DeleteVectorsRequest(parent=cname(collection_id), ids=["zz"]))
    await stub.DeleteCollection(pb.DeleteCollectionRequest(name=cname(collection_id)))
    page = await store.ReadAll(
        event_store_pb2.ReadAllRequest(from_position=since, type_prefix="$vector", max_count=100)
    )
    events = [e for e in page.events if e.stream_id == f"$vectors:{collection_id}"]
    assert [e.type for e in events] == [
        "$vector_collection.created",
        "$vectors.upserted",
        "$vectors.deleted",
        "$vector_collection.deleted",
    ]
    assert list(events[1].data["ids"]) == ["a", "b"]
    assert "values" not in events[1].data
    assert {e.metadata["$principal"] for e in events} == {"dev"}


# -- bad input -------------------------------------------------------------------------------


async def test_wrong_dimensions_are_refused_and_nothing_is_stored(vectors) -> None:
    collection_id = await create(vectors, 3, L2)
    error = await refused(upsert(vectors, collection_id, vec("ok", [1, 2, 3]), vec("bad", [1, 2])))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and platform_code(error) == "E1202"
    assert error_metadata(error)["field"] == "vectors[1].values"
    assert "dimension is 3" in error.details()
    for query in ([1, 2], [1, 2, 3, 4], []):
        error = await refused(search(vectors, collection_id, query))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and platform_code(error) == "E1202"
    assert await search(vectors, collection_id, [1, 2, 3]) == []


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
async def test_non_finite_values_are_refused(vectors, bad: float) -> None:
    collection_id = await create(vectors, 3, L2)
    error = await refused(upsert(vectors, collection_id, vec("a", [1, bad, 3])))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and platform_code(error) == "E1203"
    assert error_metadata(error)["field"] == "vectors[0].values[1]"
    error = await refused(search(vectors, collection_id, [bad, 0, 0]))
    assert platform_code(error) == "E1203" and "vector[0]" in error.details()


async def test_zero_vectors_are_refused_under_cosine(vectors) -> None:
    collection_id = await create(vectors, 2, COSINE)
    error = await refused(upsert(vectors, collection_id, vec("z", [0, 0])))
    assert platform_code(error) == "E1204"
    assert platform_code(await refused(search(vectors, collection_id, [0, 0]))) == "E1204"


async def test_unknown_collections_are_not_found_on_every_rpc(vectors) -> None:
    name = cname(new_id())
    for call in (
        vectors.GetCollection(pb.GetCollectionRequest(name=name)),
        vectors.DeleteCollection(pb.DeleteCollectionRequest(name=name)),
        vectors.BuildIndex(pb.BuildIndexRequest(name=name)),
        vectors.UpsertVectors(pb.UpsertVectorsRequest(parent=name, vectors=[vec("a", [1])])),
        vectors.DeleteVectors(pb.DeleteVectorsRequest(parent=name, ids=["a"])),
        vectors.SearchVectors(pb.SearchVectorsRequest(parent=name, vector=[1])),
        vectors.GetVector(pb.GetVectorRequest(parent=name, id="a")),
    ):
        error = await refused(call)
        assert error.code() == grpc.StatusCode.NOT_FOUND and platform_code(error) == "E1200"


@pytest.mark.parametrize(
    ("collection_id", "collection", "field"),
    [
        ("", pb.VectorCollection(dimension=3, distance=L2), "collection_id"),
        ("a/b", pb.VectorCollection(dimension=3, distance=L2), "collection_id"),
        ("x" * 129, pb.VectorCollection(dimension=3, distance=L2), "collection_id"),
        ("ok", pb.VectorCollection(dimension=0, distance=L2), "collection.dimension"),
        ("ok", pb.VectorCollection(dimension=2001, distance=L2), "collection.dimension"),
        ("ok", pb.VectorCollection(dimension=-5, distance=L2), "collection.dimension"),
        ("ok", pb.VectorCollection(dimension=3), "collection.distance"),
        ("ok", pb.VectorCollection(dimension=3, distance=42), "collection.distance"),  # type: ignore[arg-type]
        ("ok", pb.VectorCollection(dimension=3, distance=L2, hnsw_m=1), "collection.hnsw_m"),
        (
            "ok",
            pb.VectorCollection(dimension=3, distance=L2, hnsw_ef_construction=5000),
            "collection.hnsw_ef_construction",
        ),
    ],
)
async def test_bad_collection_settings_name_the_field(
    vectors, collection_id: str, collection: pb.VectorCollection, field: str
) -> None:
    error = await refused(
        vectors.CreateCollection(
            pb.CreateCollectionRequest(collection_id=collection_id, collection=collection)
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_metadata(error)["field"] == field


@pytest.mark.parametrize(
    "name", ["", "vectorCollections/", "collections/x", "vectorCollections/a/b"]
)
async def test_malformed_collection_names_are_refused(vectors, name: str) -> None:
    for call, field in (
        (vectors.GetCollection(pb.GetCollectionRequest(name=name)), "name"),
        (vectors.DeleteCollection(pb.DeleteCollectionRequest(name=name)), "name"),
        (vectors.BuildIndex(pb.BuildIndexRequest(name=name)), "name"),
        (vectors.UpsertVectors(pb.UpsertVectorsRequest(parent=name)), "parent"),
        (vectors.DeleteVectors(pb.DeleteVectorsRequest(parent=name, ids=["a"])), "parent"),
        (vectors.SearchVectors(pb.SearchVectorsRequest(parent=name, vector=[1])), "parent"),
    ):
        error = await refused(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_metadata(error)["field"] == field


async def test_bad_batches_are_refused(vectors) -> None:
    collection_id = await create(vectors, 2, L2)
    parent = cname(collection_id)
    cases = [
        (pb.UpsertVectorsRequest(parent=parent), "vectors", "E1002"),
        (
            pb.UpsertVectorsRequest(
                parent=parent, vectors=[vec(f"v{i}", [1, 1]) for i in range(1001)]
            ),
            "vectors",
            "E1205",
        ),
        (
            pb.UpsertVectorsRequest(parent=parent, vectors=[vec("a", [1, 1])] * 2),
            "vectors",
            "E1002",
        ),
        (
            pb.UpsertVectorsRequest(parent=parent, vectors=[vec("", [1, 1])]),
            "vectors[0].id",
            "E1002",
        ),
        (
            pb.UpsertVectorsRequest(parent=parent, vectors=[vec("a b", [1, 1])]),
            "vectors[0].id",
            "E1002",
        ),
        (
            pb.UpsertVectorsRequest(parent=parent, vectors=[vec("a", [1, 1], blob="x" * 70_000)]),
            "vectors[0].metadata",
            "E1206",
        ),
        (
            pb.UpsertVectorsRequest(parent=parent, vectors=[vec("a", [1, 1], bad=math.nan)]),
            "vectors[0].metadata.bad",
            "E1002",
        ),
    ]
    for request, field, code in cases:
        error = await refused(vectors.UpsertVectors(request))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (error_metadata(error)["field"], platform_code(error)) == (field, code)
    for ids, field in (
        ([], "ids"),
        (["ok", "no way"], "ids[1]"),
        ([f"{i}" for i in range(1001)], "ids"),
    ):
        error = await refused(
            vectors.DeleteVectors(pb.DeleteVectorsRequest(parent=parent, ids=ids))
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_metadata(error)["field"] == field


async def test_bad_search_options_are_refused(vectors) -> None:
    collection_id = await create(vectors, 2, L2)
    parent = cname(collection_id)
    for options, field in (
        ({"k": 1001}, "k"),
        ({"k": -1}, "k"),
        ({"ef_search": 0}, "ef_search"),
        ({"ef_search": 5000}, "ef_search"),
        ({"filters": [Filter(field="a'--", op=Filter.OPERATOR_EQUAL)]}, "filters[0].field"),
        ({"filters": [where("a", Filter.OPERATOR_GREATER_THAN, None)]}, "filters[0].value"),
    ):
        error = await refused(
            vectors.SearchVectors(pb.SearchVectorsRequest(parent=parent, vector=[1, 1], **options))
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_metadata(error)["field"] == field


async def test_the_largest_batch_at_the_largest_dimension_is_stored(direct) -> None:
    collection_id = await create(direct, 2000, L2, defer_index=True)
    rng = random.Random(3)
    batch = [vec(f"v{i}", [rng.random() for _ in range(2000)]) for i in range(1000)]
    assert await upsert(direct, collection_id, *batch) == 1000
    matches = await search(direct, collection_id, list(batch[10].values), k=1)
    assert matches[0].id == "v10" and matches[0].distance == pytest.approx(0, abs=1e-3)


# -- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "wrong-token"])
@pytest.mark.parametrize("path", ["direct", "envoy"])
async def test_every_vector_rpc_refuses_missing_or_wrong_tokens(mesh, token, path) -> None:
    target = mesh.l01_target if path == "direct" else mesh.gateway_target
    async with open_channel(target, token=token) as channel:
        stub = vectors_pb2_grpc.VectorServiceStub(channel)
        name = cname("c")
        for call in (
            stub.CreateCollection(
                pb.CreateCollectionRequest(
                    collection_id="c", collection=pb.VectorCollection(dimension=2, distance=L2)
                )
            ),
            stub.GetCollection(pb.GetCollectionRequest(name=name)),
            stub.ListCollections(pb.ListCollectionsRequest()),
            stub.DeleteCollection(pb.DeleteCollectionRequest(name=name)),
            stub.BuildIndex(pb.BuildIndexRequest(name=name)),
            stub.UpsertVectors(pb.UpsertVectorsRequest(parent=name, vectors=[vec("a", [1, 1])])),
            stub.DeleteVectors(pb.DeleteVectorsRequest(parent=name, ids=["a"])),
            stub.SearchVectors(pb.SearchVectorsRequest(parent=name, vector=[1, 1])),
            stub.GetVector(pb.GetVectorRequest(parent=name, id="a")),
        ):
            error = await refused(call)
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            assert platform_code(error) in {"E1001", "E9401"}


# -- REST ------------------------------------------------------------------------------------


async def test_vectors_over_rest(rest: httpx.AsyncClient) -> None:
    collection_id = new_id()
    created = await rest.post(
        "/v1/vectorCollections",
        params={"collection_id": collection_id},
        json={"dimension": 2, "distance": "DISTANCE_L2"},
    )
    assert created.status_code == 200, created.text
    assert created.json()["collection"]["name"] == cname(collection_id)
    base = f"/v1/vectorCollections/{collection_id}"
    upserted = await rest.post(
        f"{base}/vectors:upsert",
        json={
            "vectors": [
                {"id": "a", "values": [1, 2], "metadata": {"t": "x"}},
                {"id": "b", "values": [3, 4], "metadata": {"t": "y"}},
            ]
        },
    )
    assert upserted.status_code == 200 and upserted.json()["upserted_count"] == 2
    found = await rest.post(
        f"{base}/vectors:search",
        json={
            "vector": [3, 4.1],
            "k": 5,
            "filters": [{"field": "t", "op": "OPERATOR_EQUAL", "value": "y"}],
        },
    )
    assert found.status_code == 200, found.text
    assert [(m["id"], m["metadata"]) for m in found.json()["matches"]] == [("b", {"t": "y"})]
    built = await rest.post(f"{base}:buildIndex", json={})
    assert built.status_code == 200 and built.json()["built"] is False
    listed = await rest.get("/v1/vectorCollections", params={"page_size": 1000})
    assert cname(collection_id) in [c["name"] for c in listed.json()["collections"]]
    fetched = await rest.get(f"{base}/vectors/b")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["vector"] == {"id": "b", "values": [3, 4], "metadata": {"t": "y"}}
    missing = await rest.get(f"{base}/vectors/zz")
    assert missing.status_code == 404 and rest_reason(missing.json()) == "E1207"
    removed = await rest.post(f"{base}/vectors:delete", json={"ids": ["a"]})
    assert removed.json()["deleted_count"] == 1
    got = await rest.get(base)
    assert got.json()["collection"]["vector_count"] == "1"
    deleted = await rest.delete(base)
    assert deleted.status_code == 200 and deleted.json()["deleted_vector_count"] == "1"


async def test_bad_vector_input_over_rest_is_a_json_error_with_a_code(
    rest: httpx.AsyncClient,
) -> None:
    collection_id = new_id()
    await rest.post(
        "/v1/vectorCollections",
        params={"collection_id": collection_id},
        json={"dimension": 2, "distance": "DISTANCE_COSINE"},
    )
    base = f"/v1/vectorCollections/{collection_id}"
    nan = await rest.post(f"{base}/vectors:search", json={"vector": [1, "NaN"]})
    assert nan.status_code == 400 and rest_reason(nan.json()) == "E1203"
    wrong_dimension = await rest.post(
        f"{base}/vectors:upsert", json={"vectors": [{"id": "a", "values": [1]}]}
    )
    assert wrong_dimension.status_code == 400 and rest_reason(wrong_dimension.json()) == "E1202"
    wrong_type = await rest.post(f"{base}/vectors:search", json={"vector": "abc"})
    assert wrong_type.status_code == 400 and rest_reason(wrong_type.json()) == "E9400"
    unknown = await rest.post(
        f"/v1/vectorCollections/{new_id()}/vectors:search", json={"vector": [1, 1]}
    )
    assert unknown.status_code == 404 and rest_reason(unknown.json()) == "E1200"
    duplicate = await rest.post(
        "/v1/vectorCollections",
        params={"collection_id": collection_id},
        json={"dimension": 2, "distance": "DISTANCE_COSINE"},
    )
    assert duplicate.status_code == 409 and rest_reason(duplicate.json()) == "E1201"
    unspecified = await rest.post(
        "/v1/vectorCollections", params={"collection_id": new_id()}, json={"dimension": 2}
    )
    assert unspecified.status_code == 400 and "collection.distance" in unspecified.json()["message"]
