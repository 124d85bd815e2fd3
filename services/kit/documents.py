"""JSON documents in an L01 collection, through its generated client, as plain dicts.

For layers that keep their records in L01 (roles, skills): optimistic concurrency with
expected revisions, queries with equality filters and L01's own paging. Calls carry the
principal of the call being served, which L01 records on its audit events when the channel
presents the service token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2

from agentic.data.v1 import documents_pb2 as doc_pb
from agentic.data.v1 import documents_pb2_grpc as doc_grpc
from agentic.data.v1 import query_pb2
from services.kit.auth import PRINCIPAL_HEADER, current_principal
from services.kit.errors import error_info_of


@dataclass(frozen=True)
class StoredDocument:
    """One document as L01 holds it."""

    id: str
    content: dict[str, Any]
    revision: int
    update_time: datetime


class RevisionConflict(Exception):
    """The stored revision is not the expected one."""

    def __init__(self, actual: int) -> None:
        super().__init__(f"the stored revision is {actual}")
        self.actual = actual


def caller_metadata() -> tuple[tuple[str, str], ...]:
    """The principal of the call being served, for L01's audit."""
    return ((PRINCIPAL_HEADER, current_principal.get()),)


def plain(value: Any) -> Any:
    """Struct numbers are doubles: whole ones become ints again (a budget of 4000, not 4000.0)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _stored(document: doc_pb.Document) -> StoredDocument:
    return StoredDocument(
        id=document.name.rsplit("/", 1)[1],
        content=plain(json_format.MessageToDict(document.content)),
        revision=document.revision,
        update_time=document.update_time.ToDatetime(),
    )


class DocumentCollection:
    """One L01 document collection."""

    def __init__(self, channel: grpc.aio.Channel, collection: str) -> None:
        self._stub = doc_grpc.DocumentServiceStub(channel)
        self.collection = collection

    def _name(self, document_id: str) -> str:
        return f"collections/{self.collection}/documents/{document_id}"

    async def get(self, document_id: str) -> StoredDocument | None:
        try:
            reply = await self._stub.GetDocument(
                doc_pb.GetDocumentRequest(name=self._name(document_id)),
                metadata=caller_metadata(),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return _stored(reply.document)

    async def put(
        self, document_id: str, content: Mapping[str, Any], expected_revision: int | None
    ) -> StoredDocument:
        """Creates or replaces; ``expected_revision`` 0 = must not exist, None = any."""
        body = struct_pb2.Struct()
        body.update(dict(content))
        request = doc_pb.PutDocumentRequest(name=self._name(document_id), content=body)
        if expected_revision is not None:
            request.expected_revision = expected_revision
        try:
            reply = await self._stub.PutDocument(request, metadata=caller_metadata())
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.ABORTED:
                raise RevisionConflict(_actual_revision(error)) from None
            raise
        return _stored(reply.document)

    async def query(
        self,
        equal: Mapping[str, Any] | None = None,
        *,
        page_size: int = 100,
        page_token: str = "",
        order_by: str = "",
    ) -> tuple[list[StoredDocument], str]:
        """Documents whose fields equal the given values, a page at a time."""
        request = doc_pb.QueryDocumentsRequest(
            parent=f"collections/{self.collection}", page_size=page_size, page_token=page_token
        )
        for field, value in (equal or {}).items():
            condition = request.filters.add(field=field, op=query_pb2.Filter.OPERATOR_EQUAL)
            condition.value.CopyFrom(_value(value))
        if order_by:
            request.order_by.add(field=order_by)
        reply = await self._stub.QueryDocuments(request, metadata=caller_metadata())
        return [_stored(d) for d in reply.documents], reply.next_page_token

    async def all(self, equal: Mapping[str, Any] | None = None) -> list[StoredDocument]:
        found: list[StoredDocument] = []
        token = ""
        while True:
            page, token = await self.query(equal, page_size=1000, page_token=token)
            found.extend(page)
            if not token:
                return found


def _value(value: Any) -> struct_pb2.Value:
    message = struct_pb2.Value()
    json_format.ParseDict(value, message)
    return message


def _actual_revision(error: grpc.aio.AioRpcError) -> int:
    info = error_info_of(error)
    if info is not None and "actual_revision" in info.metadata:
        return int(info.metadata["actual_revision"])
    return -1
