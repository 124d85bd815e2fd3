"""L01 through its generated clients: documents (the registry, idempotency records) and the
``tool.executed`` events. Domain modules see only the small interfaces defined here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf import json_format

from agentic.data.v1 import documents_pb2 as doc_pb
from agentic.data.v1 import documents_pb2_grpc as doc_grpc
from agentic.data.v1 import event_store_pb2 as event_pb
from agentic.data.v1 import event_store_pb2_grpc as event_grpc
from services.kit import PlatformError
from services.l03_tools import errors
from services.l03_tools.store import RevisionConflict

PAGE_SIZE = 500


def _integral(value: Any) -> Any:
    """Struct holds numbers as doubles; whole numbers become ints again."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def struct_to_dict(message: Any) -> dict[str, Any]:
    return _integral(json_format.MessageToDict(message))  # type: ignore[no-any-return]


def _unavailable(exc: grpc.aio.AioRpcError) -> PlatformError:
    return PlatformError(errors.STORE_UNAVAILABLE, f"L01: {exc.code().name}: {exc.details()}")


class L01Documents:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = doc_grpc.DocumentServiceStub(channel)

    async def get(self, collection: str, document: str) -> tuple[dict[str, Any], int] | None:
        """(content, revision), or None when absent."""
        try:
            reply = await self._stub.GetDocument(
                doc_pb.GetDocumentRequest(name=f"collections/{collection}/documents/{document}")
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise _unavailable(exc) from exc
        return struct_to_dict(reply.document.content), reply.document.revision

    async def put(
        self,
        collection: str,
        document: str,
        content: dict[str, Any],
        expected_revision: int | None = None,
    ) -> int:
        """Stores ``content``; returns the new revision. ``expected_revision`` 0 means the
        document must not exist yet."""
        request = doc_pb.PutDocumentRequest(name=f"collections/{collection}/documents/{document}")
        request.content.update(content)
        if expected_revision is not None:
            request.expected_revision = expected_revision
        try:
            reply = await self._stub.PutDocument(request)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.ABORTED:
                raise RevisionConflict(exc.details()) from exc
            raise _unavailable(exc) from exc
        return int(reply.document.revision)

    async def scan(self, collection: str) -> AsyncIterator[dict[str, Any]]:
        """Every document of a collection, in id order."""
        token = ""
        while True:
            try:
                reply = await self._stub.QueryDocuments(
                    doc_pb.QueryDocumentsRequest(
                        parent=f"collections/{collection}", page_size=PAGE_SIZE, page_token=token
                    )
                )
            except grpc.aio.AioRpcError as exc:
                raise _unavailable(exc) from exc
            for document in reply.documents:
                yield struct_to_dict(document.content)
            token = reply.next_page_token
            if not token:
                return


class L01Events:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = event_grpc.EventStoreServiceStub(channel)

    async def append(self, stream_id: str, event_type: str, data: dict[str, Any]) -> None:
        try:
            await self._stub.AppendEvents(_append(stream_id, event_type, data))
        except grpc.aio.AioRpcError as exc:
            raise _unavailable(exc) from exc

    async def append_with_document(
        self,
        stream_id: str,
        event_type: str,
        data: dict[str, Any],
        document: tuple[str, str, dict[str, Any]],
    ) -> None:
        collection, document_id, content = document
        request = event_pb.AppendEventsWithDocumentsRequest(
            append=_append(stream_id, event_type, data)
        )
        request.documents.add(
            name=f"collections/{collection}/documents/{document_id}"
        ).content.update(content)
        try:
            await self._stub.AppendEventsWithDocuments(request)
        except grpc.aio.AioRpcError as exc:
            raise _unavailable(exc) from exc


def _append(stream_id: str, event_type: str, data: dict[str, Any]) -> event_pb.AppendEventsRequest:
    request = event_pb.AppendEventsRequest(stream_id=stream_id)
    request.events.add(type=event_type).data.update(data)
    return request
