"""DocumentService: revisions and conflicts, filters, ordering, paging, audit, bad input, auth."""

import asyncio
import base64
import json
import math
import uuid
from typing import Any

import grpc
import httpx
import pytest

from agentic.data.v1 import documents_pb2 as pb
from agentic.data.v1 import documents_pb2_grpc, event_store_pb2, event_store_pb2_grpc
from agentic.data.v1.query_pb2 import Filter, OrderBy
from services.kit import open_channel
from tests.l01.filters import value, where
from tests.support import error_metadata, new_event, platform_code, rest_reason, stream_name, struct

pytestmark = [pytest.mark.integration, pytest.mark.l01]

EQ, NE, IN = Filter.OPERATOR_EQUAL, Filter.OPERATOR_NOT_EQUAL, Filter.OPERATOR_IN
LT, LTE = Filter.OPERATOR_LESS_THAN, Filter.OPERATOR_LESS_THAN_OR_EQUAL
GT, GTE = Filter.OPERATOR_GREATER_THAN, Filter.OPERATOR_GREATER_THAN_OR_EQUAL


@pytest.fixture(params=["direct", "envoy"])
def docs(request, l01_channel, gateway_channel) -> documents_pb2_grpc.DocumentServiceStub:
    """The DocumentService stub, once straight to L01 and once through Envoy."""
    channel = l01_channel if request.param == "direct" else gateway_channel
    return documents_pb2_grpc.DocumentServiceStub(channel)


def collection() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def name(coll: str, doc: str) -> str:
    return f"collections/{coll}/documents/{doc}"


async def put(stub, coll: str, doc: str, content: dict, **kwargs: Any) -> pb.PutDocumentResponse:
    return await stub.PutDocument(
        pb.PutDocumentRequest(name=name(coll, doc), content=struct(content), **kwargs)
    )


async def refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def query_ids(stub, coll: str, *filters: Filter, order=(), page_size=0) -> list[str]:
    """Every matching id, page by page."""
    ids, token = [], ""
    while True:
        page = await stub.QueryDocuments(
            pb.QueryDocumentsRequest(
                parent=f"collections/{coll}",
                filters=filters,
                order_by=order,
                page_size=page_size,
                page_token=token,
            )
        )
        ids += [d.name.rsplit("/", 1)[1] for d in page.documents]
        token = page.next_page_token
        if not token:
            return ids


# -- revisions and conflicts --------------------------------------------------------------


async def test_put_creates_then_replaces_with_increasing_revisions(docs) -> None:
    coll = collection()
    first = await put(docs, coll, "d1", {"status": "open", "n": 3, "tags": ["a"]})
    assert first.created and first.document.revision == 1
    second = await put(docs, coll, "d1", {"status": "closed"})
    assert not second.created and second.document.revision == 2
    got = (await docs.GetDocument(pb.GetDocumentRequest(name=name(coll, "d1")))).document
    assert dict(got.content) == {"status": "closed"}  # replaced whole, not merged
    assert got.revision == 2 and got.name == name(coll, "d1")
    assert got.create_time == first.document.create_time
    assert got.update_time.ToDatetime() >= got.create_time.ToDatetime()


async def test_expected_revision_zero_means_must_not_exist(docs) -> None:
    coll = collection()
    await put(docs, coll, "d", {"a": 1}, expected_revision=0)
    error = await refused(put(docs, coll, "d", {"a": 2}, expected_revision=0))
    assert error.code() == grpc.StatusCode.ABORTED
    assert platform_code(error) == "E1101"
    assert error_metadata(error)["actual_revision"] == "1"


async def test_expected_revision_must_match_the_stored_one(docs) -> None:
    coll = collection()
    await put(docs, coll, "d", {"v": 1})
    await put(docs, coll, "d", {"v": 2}, expected_revision=1)
    stale = await refused(put(docs, coll, "d", {"v": 3}, expected_revision=1))
    assert stale.code() == grpc.StatusCode.ABORTED
    assert error_metadata(stale) == {
        "actual_revision": "2",
        "expected_revision": "1",
        "field": "expected_revision",
    }
    missing = await refused(put(docs, coll, "other", {"v": 1}, expected_revision=4))
    assert error_metadata(missing)["actual_revision"] == "0"
    got = await docs.GetDocument(pb.GetDocumentRequest(name=name(coll, "d")))
    assert got.document.content["v"] == 2


async def test_concurrent_creates_of_one_document_let_exactly_one_win(docs) -> None:
    coll = collection()
    results = await asyncio.gather(
        *(put(docs, coll, "race", {"writer": i}, expected_revision=0) for i in range(12)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, pb.PutDocumentResponse)]
    losers = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(winners) == 1 and len(losers) == 11
    assert {platform_code(e) for e in losers} == {"E1101"}


async def test_concurrent_unconditional_puts_each_get_their_own_revision(docs) -> None:
    coll = collection()
    results = await asyncio.gather(*(put(docs, coll, "hot", {"i": i}) for i in range(15)))
    assert sorted(r.document.revision for r in results) == list(range(1, 16))


async def test_delete_checks_the_revision_and_then_the_document_is_gone(docs) -> None:
    coll = collection()
    await put(docs, coll, "d", {"x": 1})
    await put(docs, coll, "d", {"x": 2})
    stale = await refused(
        docs.DeleteDocument(pb.DeleteDocumentRequest(name=name(coll, "d"), expected_revision=1))
    )
    assert stale.code() == grpc.StatusCode.ABORTED and platform_code(stale) == "E1101"
    deleted = await docs.DeleteDocument(
        pb.DeleteDocumentRequest(name=name(coll, "d"), expected_revision=2)
    )
    assert deleted.deleted and deleted.revision == 2
    gone = await refused(docs.GetDocument(pb.GetDocumentRequest(name=name(coll, "d"))))
    assert gone.code() == grpc.StatusCode.NOT_FOUND and platform_code(gone) == "E1100"
    again = await refused(docs.DeleteDocument(pb.DeleteDocumentRequest(name=name(coll, "d"))))
    assert again.code() == grpc.StatusCode.NOT_FOUND
    tolerant = await docs.DeleteDocument(
        pb.DeleteDocumentRequest(name=name(coll, "d"), allow_missing=True)
    )
    assert not tolerant.deleted and tolerant.revision == 0
    recreated = await put(docs, coll, "d", {"x": 3}, expected_revision=0)
    assert recreated.created and recreated.document.revision == 1


# -- audit ----------------------------------------------------------------------------------


async def _audit_events(l01_channel, since: int, coll: str) -> list[Any]:
    store = event_store_pb2_grpc.EventStoreServiceStub(l01_channel)
    page = await store.ReadAll(
        event_store_pb2.ReadAllRequest(from_position=since, type_prefix="$document.", max_count=100)
    )
    return [e for e in page.events if e.stream_id == f"$documents:{coll}"]


async def _head(l01_channel) -> int:
    store = event_store_pb2_grpc.EventStoreServiceStub(l01_channel)
    reply = await store.AppendEvents(
        event_store_pb2.AppendEventsRequest(stream_id=stream_name(), events=[new_event()])
    )
    return reply.last_position


async def test_each_change_records_one_audit_event_with_the_principal(mesh, l01_channel) -> None:
    docs = documents_pb2_grpc.DocumentServiceStub(l01_channel)
    coll = collection()
    since = await _head(l01_channel)
    await put(docs, coll, "d", {"secret": "not in the log"})
    await refused(put(docs, coll, "d", {"a": 1}, expected_revision=0))  # no event for a conflict
    await put(docs, coll, "d", {"a": 2})
    await docs.DeleteDocument(pb.DeleteDocumentRequest(name=name(coll, "d")))
    await docs.DeleteDocument(pb.DeleteDocumentRequest(name=name(coll, "d"), allow_missing=True))
    events = await _audit_events(l01_channel, since, coll)
    assert [(e.type, e.data["revision"]) for e in events] == [
        ("$document.put", 1),
        ("$document.put", 2),
        ("$document.deleted", 2),
    ]
    assert all(e.metadata["$principal"] == "dev" for e in events)
    assert "secret" not in json.dumps([dict(e.data) for e in events])
    async with open_channel(mesh.l01_target, token="test_token_123") as ch:
        other = documents_pb2_grpc.DocumentServiceStub(ch)
        await put(other, coll, "d2", {})
    events = await _audit_events(l01_channel, since, coll)
    assert events[-1].metadata["$principal"] == "test"


# -- filters ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def catalog(l01_channel) -> str:
    """A collection of eight documents with varied field types, shared by the filter tests."""
    docs = documents_pb2_grpc.DocumentServiceStub(l01_channel)
    coll = collection()
    contents = {
        "a": {"status": "open", "n": 1, "tags": ["x", "y"], "owner": {"name": "ann", "age": 30}},
        "b": {"status": "open", "n": 2.5, "tags": ["y"], "owner": {"name": "bob"}},
        "c": {"status": "closed", "n": 10, "owner": {"name": "ann", "age": 30, "extra": True}},
        "d": {"status": "closed", "n": "10"},
        "e": {"status": None, "n": -4},
        "f": {"n": 2.5, "flag": True},
        "g": {"status": "open", "n": 1e15, "tags": []},
        "h": {"status": "Open", "n": 7},
    }
    for doc, content in contents.items():
        await put(docs, coll, doc, content)
    return coll


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([where("status", EQ, "open")], "abg"),
        ([where("n", EQ, 1)], "a"),
        ([where("n", EQ, 10)], "c"),  # the string "10" is not the number 10
        ([where("n", EQ, "10")], "d"),
        ([where("n", EQ, 2.5)], "bf"),
        ([where("status", EQ, None)], "e"),  # JSON null, not a missing field
        ([where("owner", EQ, {"name": "ann", "age": 30})], "a"),  # exact, not containment
        ([where("tags", EQ, ["y"])], "b"),
        ([where("owner.name", EQ, "ann")], "ac"),
        ([where("owner.age", EQ, 30), where("status", EQ, "closed")], "c"),
        ([where("status", NE, "open")], "cdefh"),  # missing fields match NOT_EQUAL
        ([where("n", GT, 2)], "bcfgh"),  # numbers only: "10" is a string
        ([where("n", GTE, 2.5), where("n", LT, 10)], "bfh"),
        ([where("n", LTE, 1)], "ae"),
        ([where("n", GT, "1")], "d"),  # strings compare with strings only
        ([where("status", IN, ["closed", "Open"])], "cdh"),
        ([where("n", IN, [1, "10", 99])], "ad"),
        ([where("nope", EQ, 1)], ""),
        ([where("flag", EQ, True)], "f"),
        ([where("owner.name.first", EQ, "ann")], ""),
    ],
)
async def test_filters_select_exactly_the_matching_documents(
    l01_channel, catalog: str, filters: list[Filter], expected: str
) -> None:
    docs = documents_pb2_grpc.DocumentServiceStub(l01_channel)
    assert await query_ids(docs, catalog, *filters) == list(expected)


async def test_ordering_is_total_with_missing_fields_first_and_ties_by_id(
    l01_channel, catalog: str
) -> None:
    docs = documents_pb2_grpc.DocumentServiceStub(l01_channel)
    by_status = await query_ids(docs, catalog, order=[OrderBy(field="status")])
    # missing (f) and null (e) sort as JSON null, first; ties (a, b, g) by id.
    assert by_status == ["e", "f", "h", "c", "d", "a", "b", "g"]
    by_owner_desc = await query_ids(
        docs,
        catalog,
        where("owner.name", NE, None),
        order=[OrderBy(field="owner.name", descending=True)],
    )
    assert by_owner_desc == ["b", "a", "c", "d", "e", "f", "g", "h"]


@pytest.mark.parametrize("page_size", [1, 2, 3, 1000])
async def test_paging_returns_each_document_once_in_order(
    l01_channel, catalog: str, page_size: int
) -> None:
    docs = documents_pb2_grpc.DocumentServiceStub(l01_channel)
    order = [OrderBy(field="status", descending=True), OrderBy(field="n")]
    whole = await query_ids(docs, catalog, order=order, page_size=1000)
    assert len(whole) == 8
    assert await query_ids(docs, catalog, order=order, page_size=page_size) == whole


async def test_paging_is_stable_while_documents_are_written(docs) -> None:
    coll = collection()
    originals = {f"k{i:02d}" for i in range(0, 40, 2)}
    for i in range(0, 40, 2):
        await put(docs, coll, f"k{i:02d}", {"rank": i})
    seen: list[str] = []
    ranks: list[float] = []
    token, written = "", 0
    while True:
        page = await docs.QueryDocuments(
            pb.QueryDocumentsRequest(
                parent=f"collections/{coll}",
                order_by=[OrderBy(field="rank")],
                page_size=5,
                page_token=token,
            )
        )
        seen += [d.name.rsplit("/", 1)[1] for d in page.documents]
        ranks += [d.content["rank"] for d in page.documents]
        if not (token := page.next_page_token):
            break
        # Between pages: one document lands behind the cursor, one just ahead of it.
        written += 1
        await put(docs, coll, f"behind{written}", {"rank": -written})
        await put(docs, coll, f"ahead{written}", {"rank": ranks[-1] + 1})
    assert len(seen) == len(set(seen))  # no document twice
    assert originals <= set(seen)  # none that existed before is skipped
    assert not [d for d in seen if d.startswith("behind")]
    assert len([d for d in seen if d.startswith("ahead")]) == written
    assert ranks == sorted(ranks)


async def test_large_documents_make_pages_shorter_not_bigger_than_4_mib(l01_channel) -> None:
    docs = documents_pb2_grpc.DocumentServiceStub(l01_channel)
    coll = collection()
    blob = "z" * 900_000
    for i in range(5):
        await put(docs, coll, f"big{i}", {"blob": blob})
    first = await docs.QueryDocuments(
        pb.QueryDocumentsRequest(parent=f"collections/{coll}", page_size=10)
    )
    assert 1 <= len(first.documents) < 5 and first.next_page_token
    assert await query_ids(docs, coll, page_size=10) == [f"big{i}" for i in range(5)]


async def test_a_document_of_about_one_megabyte_round_trips(docs) -> None:
    coll = collection()
    blob = "q" * 1_000_000
    await put(docs, coll, "mb", {"blob": blob})
    got = await docs.GetDocument(pb.GetDocumentRequest(name=name(coll, "mb")))
    assert got.document.content["blob"] == blob


# -- page tokens -----------------------------------------------------------------------------


async def test_page_tokens_only_work_for_their_own_query(docs, catalog: str) -> None:
    parent = f"collections/{catalog}"
    page = await docs.QueryDocuments(pb.QueryDocumentsRequest(parent=parent, page_size=2))
    token = page.next_page_token
    for request in (
        pb.QueryDocumentsRequest(parent=parent, page_token=token, order_by=[OrderBy(field="n")]),
        pb.QueryDocumentsRequest(parent=parent, page_token=token, filters=[where("n", EQ, 1)]),
        pb.QueryDocumentsRequest(parent=f"collections/{collection()}", page_token=token),
        pb.QueryDocumentsRequest(parent=parent, page_token=token[:-3]),
        pb.QueryDocumentsRequest(parent=parent, page_token="garbage!"),
    ):
        error = await refused(docs.QueryDocuments(request))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert platform_code(error) == "E1104" and "page_token" in error.details()


async def test_a_forged_token_with_the_right_shape_is_refused_cleanly(docs, catalog: str) -> None:
    parent = f"collections/{catalog}"
    order = [OrderBy(field="n")]
    page = await docs.QueryDocuments(
        pb.QueryDocumentsRequest(parent=parent, page_size=1, order_by=order)
    )
    payload = json.loads(base64.urlsafe_b64decode(page.next_page_token + "=="))
    payload["k"] = ["1e999999"]  # valid JSON, but no PostgreSQL number
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    error = await refused(
        docs.QueryDocuments(
            pb.QueryDocumentsRequest(parent=parent, order_by=order, page_token=forged)
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and platform_code(error) == "E1104"


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_name",
    [
        "",
        "collections/c/documents/",
        "collections//documents/d",
        "collections/c/documents/d/extra",
        "documents/d",
        "collections/c d/documents/d",
        "collections/c/documents/" + "x" * 257,
        "collections/" + "c" * 129 + "/documents/d",
        "collections/c/documents/a'--",
        "collections/c/documents/\x00",
    ],
)
async def test_malformed_names_are_refused_on_every_document_rpc(docs, bad_name: str) -> None:
    for call in (
        docs.PutDocument(pb.PutDocumentRequest(name=bad_name, content=struct({}))),
        docs.GetDocument(pb.GetDocumentRequest(name=bad_name)),
        docs.DeleteDocument(pb.DeleteDocumentRequest(name=bad_name)),
    ):
        error = await refused(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert platform_code(error) == "E1002" and error.details().startswith("E1002: name:")


@pytest.mark.parametrize("parent", ["", "collections/", "collections/a/b", "tables/x"])
async def test_malformed_parents_are_refused(docs, parent: str) -> None:
    error = await refused(docs.QueryDocuments(pb.QueryDocumentsRequest(parent=parent)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "parent" in error.details()


async def test_put_content_must_be_set_finite_and_at_most_one_mib(docs) -> None:
    coll = collection()
    missing = await refused(docs.PutDocument(pb.PutDocumentRequest(name=name(coll, "d"))))
    assert "content: must be set" in missing.details()
    nan = struct({"ok": 1, "deep": {"x": [1.0, math.nan]}})
    error = await refused(
        docs.PutDocument(pb.PutDocumentRequest(name=name(coll, "d"), content=nan))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "content.deep.x[1]" in error.details()
    huge = await refused(put(docs, coll, "d", {"blob": "x" * (1024 * 1024)}))
    assert huge.code() == grpc.StatusCode.INVALID_ARGUMENT and platform_code(huge) == "E1102"
    nul = await refused(put(docs, coll, "d", {"s": "a\x00b"}))
    assert nul.code() == grpc.StatusCode.INVALID_ARGUMENT
    gone = await refused(docs.GetDocument(pb.GetDocumentRequest(name=name(coll, "d"))))
    assert gone.code() == grpc.StatusCode.NOT_FOUND  # nothing was stored


async def test_negative_revisions_are_refused(docs) -> None:
    coll = collection()
    error = await refused(put(docs, coll, "d", {}, expected_revision=-1))
    assert "expected_revision" in error.details()
    error = await refused(
        docs.DeleteDocument(pb.DeleteDocumentRequest(name=name(coll, "d"), expected_revision=0))
    )
    assert (
        error.code() == grpc.StatusCode.INVALID_ARGUMENT and "expected_revision" in error.details()
    )


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"filters": [Filter(field="", op=EQ, value=value(1))]}, "filters[0].field"),
        ({"filters": [Filter(field="a;drop", op=EQ, value=value(1))]}, "filters[0].field"),
        ({"filters": [Filter(field="a", value=value(1))]}, "filters[0].op"),
        ({"filters": [Filter(field="a", op=99, value=value(1))]}, "filters[0].op"),  # type: ignore[arg-type]
        ({"filters": [Filter(field="a", op=EQ)]}, "filters[0].value"),
        ({"filters": [where("a", EQ, 1), where("b", GT, True)]}, "filters[1].value"),
        ({"filters": [where("a", LT, {"x": 1})]}, "filters[0].value"),
        ({"filters": [where("a", IN, "x")]}, "filters[0].value"),
        ({"filters": [where("a", IN, list(range(101)))]}, "filters[0].value"),
        ({"filters": [where("a", EQ, math.nan)]}, "filters[0].value"),
        ({"filters": [where("a", EQ, 1)] * 33}, "filters"),
        ({"order_by": [OrderBy(field="a..b")]}, "order_by[0].field"),
        ({"order_by": [OrderBy(field="a")] * 5}, "order_by"),
    ],
)
async def test_bad_filters_and_orders_name_the_field(
    docs, request_fields: dict, field: str
) -> None:
    error = await refused(
        docs.QueryDocuments(pb.QueryDocumentsRequest(parent="collections/c", **request_fields))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(error) in {"E1103", "E1002"}
    assert error.details().split(": ", 2)[1] == field


@pytest.mark.parametrize("page_size", [-1, 1001])
async def test_page_size_out_of_range_is_refused(docs, page_size: int) -> None:
    error = await refused(
        docs.QueryDocuments(pb.QueryDocumentsRequest(parent="collections/c", page_size=page_size))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_size" in error.details()


# -- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "wrong-token"])
@pytest.mark.parametrize("path", ["direct", "envoy"])
async def test_every_document_rpc_refuses_missing_or_wrong_tokens(mesh, token, path) -> None:
    target = mesh.l01_target if path == "direct" else mesh.gateway_target
    async with open_channel(target, token=token) as channel:
        stub = documents_pb2_grpc.DocumentServiceStub(channel)
        doc = name("c", "d")
        for call in (
            stub.PutDocument(pb.PutDocumentRequest(name=doc, content=struct({}))),
            stub.GetDocument(pb.GetDocumentRequest(name=doc)),
            stub.DeleteDocument(pb.DeleteDocumentRequest(name=doc)),
            stub.QueryDocuments(pb.QueryDocumentsRequest(parent="collections/c")),
        ):
            error = await refused(call)
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            # The gateway may refuse first, with its own code.
            assert platform_code(error) in {"E1001", "E9401"}


# -- REST ------------------------------------------------------------------------------------


async def test_documents_over_rest(rest: httpx.AsyncClient) -> None:
    coll = collection()
    url = f"/v1/collections/{coll}/documents/o-1"
    created = await rest.put(url, params={"expected_revision": 0}, json={"total": 12, "s": "open"})
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["created"] is True and body["document"]["content"] == {"total": 12, "s": "open"}
    assert body["document"]["revision"] == "1"
    conflict = await rest.put(url, params={"expected_revision": 0}, json={"total": 1})
    assert conflict.status_code == 409 and rest_reason(conflict.json()) == "E1101"
    got = await rest.get(url)
    assert got.status_code == 200 and got.json()["document"]["content"]["total"] == 12
    query = await rest.post(
        f"/v1/collections/{coll}/documents:query",
        json={
            "filters": [{"field": "total", "op": "OPERATOR_GREATER_THAN_OR_EQUAL", "value": 12}],
            "order_by": [{"field": "total", "descending": True}],
            "page_size": 10,
        },
    )
    assert query.status_code == 200, query.text
    assert [d["name"] for d in query.json()["documents"]] == [f"collections/{coll}/documents/o-1"]
    assert query.json()["next_page_token"] == ""
    deleted = await rest.delete(url, params={"expected_revision": 1})
    assert deleted.status_code == 200 and deleted.json() == {"deleted": True, "revision": "1"}
    missing = await rest.get(url)
    assert missing.status_code == 404 and rest_reason(missing.json()) == "E1100"
    odd = f"/v1/collections/{coll}.v2/documents/ann_lee-1@example.com"
    assert (await rest.put(odd, json={"a": 1})).status_code == 200
    got = await rest.get(odd)
    assert (
        got.json()["document"]["name"] == f"collections/{coll}.v2/documents/ann_lee-1@example.com"
    )


async def test_bad_rest_input_is_400_with_a_code(rest: httpx.AsyncClient) -> None:
    coll = collection()
    bad_filter = await rest.post(
        f"/v1/collections/{coll}/documents:query",
        json={"filters": [{"field": "a", "op": "OPERATOR_LESS_THAN", "value": [1]}]},
    )
    assert bad_filter.status_code == 400 and rest_reason(bad_filter.json()) == "E1103"
    wrong_type = await rest.post(f"/v1/collections/{coll}/documents:query", json={"filters": "x"})
    assert wrong_type.status_code == 400 and rest_reason(wrong_type.json()) == "E9400"
    not_object = await rest.put(f"/v1/collections/{coll}/documents/d", content=b"[1, 2]")
    assert not_object.status_code == 400
    malformed = await rest.put(f"/v1/collections/{coll}/documents/d", content=b"{nope")
    assert malformed.status_code == 400
    token = await rest.post(f"/v1/collections/{coll}/documents:query", json={"page_token": "%%%"})
    assert token.status_code == 400 and rest_reason(token.json()) == "E1104"
    anonymous = await rest.get(f"/v1/collections/{coll}/documents/d", headers={"authorization": ""})
    assert anonymous.status_code == 401
    assert rest_reason(anonymous.json()) in {"E1001", "E9401"}
