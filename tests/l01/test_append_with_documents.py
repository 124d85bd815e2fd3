"""AppendEventsWithDocuments: events and the documents projecting them, in one transaction."""

import asyncio
import uuid

import grpc
import pytest

from agentic.data.v1 import documents_pb2 as docs_pb
from agentic.data.v1 import documents_pb2_grpc, event_store_pb2_grpc
from agentic.data.v1 import event_store_pb2 as pb
from services.kit import open_channel
from tests.support import jwt_for, new_event, platform_code, stream_name, struct

pytestmark = [pytest.mark.integration, pytest.mark.l01]


def document(collection: str, document_id: str) -> str:
    return f"collections/{collection}/documents/{document_id}"


def request(
    stream: str, expected: int | None, writes: dict[str, dict], event_id: str = ""
) -> pb.AppendEventsWithDocumentsRequest:
    append = pb.AppendEventsRequest(stream_id=stream, events=[new_event(event_id=event_id)])
    if expected is not None:
        append.expected_version = expected
    return pb.AppendEventsWithDocumentsRequest(
        append=append,
        documents=[pb.DocumentWrite(name=n, content=struct(c)) for n, c in writes.items()],
    )


@pytest.fixture
def store(l01_channel) -> event_store_pb2_grpc.EventStoreServiceStub:
    return event_store_pb2_grpc.EventStoreServiceStub(l01_channel)


@pytest.fixture
def docs(l01_channel) -> documents_pb2_grpc.DocumentServiceStub:
    return documents_pb2_grpc.DocumentServiceStub(l01_channel)


async def stored(docs, name: str) -> docs_pb.Document | None:
    try:
        return (await docs.GetDocument(docs_pb.GetDocumentRequest(name=name))).document
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.NOT_FOUND
        return None


async def refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def test_the_documents_are_readable_once_the_append_answers(store, docs) -> None:
    stream, coll = stream_name(), f"c-{uuid.uuid4().hex[:8]}"
    first = document(coll, "a")
    reply = await store.AppendEventsWithDocuments(
        request(stream, -1, {first: {"v": 1}, document(coll, "b"): {"w": [1, 2]}})
    )
    assert (reply.appended.stream_id, reply.appended.first_version) == (stream, 0)
    a = await stored(docs, first)
    assert a is not None and a.revision == 1 and dict(a.content) == {"v": 1}
    await store.AppendEventsWithDocuments(request(stream, 0, {first: {"v": 2}}))
    a = await stored(docs, first)
    assert a is not None and a.revision == 2 and dict(a.content) == {"v": 2}
    events = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert [e.stream_version for e in events.events] == [0, 1]


async def test_a_refused_append_writes_no_document(store, docs) -> None:
    stream, name = stream_name(), document(f"c-{uuid.uuid4().hex[:8]}", "a")
    await store.AppendEvents(pb.AppendEventsRequest(stream_id=stream, events=[new_event()]))
    error = await refused(store.AppendEventsWithDocuments(request(stream, -1, {name: {"v": 1}})))
    assert error.code() == grpc.StatusCode.ABORTED and platform_code(error) == "E1005"
    assert await stored(docs, name) is None


async def test_a_replayed_append_does_not_put_its_documents_again(store, docs) -> None:
    stream, name = stream_name(), document(f"c-{uuid.uuid4().hex[:8]}", "a")
    event_id = str(uuid.uuid4())
    first = await store.AppendEventsWithDocuments(request(stream, None, {name: {"v": 1}}, event_id))
    again = await store.AppendEventsWithDocuments(request(stream, None, {name: {"v": 9}}, event_id))
    assert again.appended == first.appended
    kept = await stored(docs, name)
    assert kept is not None and kept.revision == 1 and dict(kept.content) == {"v": 1}


async def test_concurrent_appends_and_puts_of_one_document_all_land(store, docs) -> None:
    """Appends put the document under the log lock, PutDocument locks the row before it
    takes the log lock: with the document's advisory lock taken first by both, mixed writers
    of one row neither deadlock nor lose a revision."""
    name = document(f"c-{uuid.uuid4().hex[:8]}", "shared")
    appends = [
        store.AppendEventsWithDocuments(request(stream_name(), -1, {name: {"by": "append"}}))
        for _ in range(20)
    ]
    puts = [
        docs.PutDocument(docs_pb.PutDocumentRequest(name=name, content=struct({"by": "put"})))
        for _ in range(20)
    ]
    await asyncio.wait_for(asyncio.gather(*appends, *puts), timeout=30)
    final = await stored(docs, name)
    assert final is not None and final.revision == 40


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.ClearField("append"), "append"),
        (lambda r: r.ClearField("documents"), "documents"),
        (
            lambda r: r.documents.add(name="collections/x/documents/a", content=struct({})),
            "documents",
        ),
        (lambda r: setattr(r.documents[0], "name", "collections/x"), "documents[0].name"),
        (lambda r: r.documents[0].ClearField("content"), "documents[0].content"),
        (lambda r: r.documents[0].content.update({"s": "a\x00b"}), "documents[0].content"),
        (
            lambda r: r.documents[0].content.update({"s": "x" * (1024 * 1024)}),
            "documents[0].content",
        ),
        (lambda r: r.documents.extend([r.documents[0]] * 16), "documents"),
        (lambda r: setattr(r.append, "stream_id", ""), "stream_id"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_writes_nothing(
    store, docs, change, field
) -> None:
    stream = stream_name()
    bad = request(stream, -1, {"collections/x/documents/a": {"v": 1}})
    change(bad)
    error = await refused(store.AppendEventsWithDocuments(bad))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(error).startswith("E1")
    assert field in error.details()
    with pytest.raises(grpc.aio.AioRpcError):
        await store.GetStream(pb.GetStreamRequest(stream_id=stream))


async def test_through_the_gateway_only_admins_may_call_it(mesh, gateway_channel, docs) -> None:
    name = document(f"c-{uuid.uuid4().hex[:8]}", "a")
    admin = event_store_pb2_grpc.EventStoreServiceStub(gateway_channel)
    reply = await admin.AppendEventsWithDocuments(request(stream_name(), -1, {name: {"v": 1}}))
    assert reply.appended.first_version == 0
    async with open_channel(mesh.gateway_target, token=jwt_for("wendy", ["writer"])) as channel:
        writer = event_store_pb2_grpc.EventStoreServiceStub(channel)
        error = await refused(
            writer.AppendEventsWithDocuments(request(stream_name(), -1, {name: {"v": 2}}))
        )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and platform_code(error) == "E9403"
    assert (await stored(docs, name)).content["v"] == 1
