"""Documents and audit events in L01, through its generated gRPC clients.

Calls carry the service token and name the caller L00 is serving, so L01's own audit of
every document change records who asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2

from agentic.data.v1 import documents_pb2 as doc_pb
from agentic.data.v1 import documents_pb2_grpc as doc_grpc
from agentic.data.v1 import event_store_pb2 as ev_pb
from agentic.data.v1 import event_store_pb2_grpc as ev_grpc
from agentic.data.v1 import query_pb2
from services.kit import PlatformError, current_principal, get_logger
from services.kit.auth import PRINCIPAL_HEADER
from services.l00_secrets import errors
from services.l00_secrets.storage import RevisionConflict, StoredDocument, StoreUnavailable

log = get_logger("l00.l01")


def _metadata() -> tuple[tuple[str, str], ...]:
    return ((PRINCIPAL_HEADER, current_principal.get()),)


_RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def _unavailable(error: grpc.aio.AioRpcError) -> PlatformError:
    """L01 away is worth a retry (503); anything else it refused is L00's own fault (500)."""
    if error.code() in _RETRYABLE:
        return StoreUnavailable(f"L01: {error.code().name}: {error.details()}")
    log.error("l01.refused", code=error.code().name, details=error.details())
    return PlatformError(errors.INTERNAL, "internal error; see the server log")


def _path(collection: str, document_id: str) -> str:
    return f"collections/{collection}/documents/{document_id}"


def _content(document: doc_pb.Document) -> dict[str, Any]:
    return json_format.MessageToDict(document.content)  # type: ignore[no-any-return]


class L01Documents:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = doc_grpc.DocumentServiceStub(channel)

    async def get(self, collection: str, document_id: str) -> StoredDocument | None:
        try:
            reply = await self._stub.GetDocument(
                doc_pb.GetDocumentRequest(name=_path(collection, document_id)),
                metadata=_metadata(),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise _unavailable(error) from None
        return StoredDocument(document_id, _content(reply.document), reply.document.revision)

    async def put(
        self,
        collection: str,
        document_id: str,
        content: dict[str, Any],
        expected_revision: int | None,
    ) -> int:
        body = struct_pb2.Struct()
        body.update(content)
        request = doc_pb.PutDocumentRequest(name=_path(collection, document_id), content=body)
        if expected_revision is not None:
            request.expected_revision = expected_revision
        try:
            reply = await self._stub.PutDocument(request, metadata=_metadata())
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.ABORTED:
                raise RevisionConflict(document_id) from None
            raise _unavailable(error) from None
        return int(reply.document.revision)

    async def delete(self, collection: str, document_id: str) -> None:
        request = doc_pb.DeleteDocumentRequest(
            name=_path(collection, document_id), allow_missing=True
        )
        try:
            await self._stub.DeleteDocument(request, metadata=_metadata())
        except grpc.aio.AioRpcError as error:
            raise _unavailable(error) from None

    async def query(
        self,
        collection: str,
        equals: dict[str, str],
        page_size: int,
        page_token: str,
    ) -> tuple[Sequence[StoredDocument], str]:
        request = doc_pb.QueryDocumentsRequest(
            parent=f"collections/{collection}", page_size=page_size, page_token=page_token
        )
        for field, value in equals.items():
            condition = request.filters.add(field=field, op=query_pb2.Filter.OPERATOR_EQUAL)
            condition.value.string_value = value
        try:
            reply = await self._stub.QueryDocuments(request, metadata=_metadata())
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.INVALID_ARGUMENT:  # only the token is the caller's
                raise PlatformError(
                    errors.INVALID_ARGUMENT,
                    "page_token: not a token this server gave",
                    field="page_token",
                ) from None
            raise _unavailable(error) from None
        documents = [
            StoredDocument(d.name.rsplit("/", 1)[-1], _content(d), d.revision)
            for d in reply.documents
        ]
        return documents, reply.next_page_token


class L01AuditLog:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = ev_grpc.EventStoreServiceStub(channel)

    async def record(self, stream: str, event_type: str, data: dict[str, Any]) -> None:
        request = ev_pb.AppendEventsRequest(stream_id=stream)
        event = request.events.add(type=event_type)
        event.data.update(data)
        try:
            await self._stub.AppendEvents(request, metadata=_metadata())
        except grpc.aio.AioRpcError as error:
            raise _unavailable(error) from None
