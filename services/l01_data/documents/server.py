"""DocumentService servicer: maps RPCs to the document store, and back."""

from __future__ import annotations

import grpc

from agentic.data.v1 import documents_pb2 as pb
from agentic.data.v1 import documents_pb2_grpc as pb_grpc
from services.kit import current_principal
from services.l01_data import document_query as dq
from services.l01_data.documents.store import (
    DocumentStore,
    StoredDocument,
    content_json,
    document_name,
    parse_collection_name,
    parse_document_name,
    validate_expected_revision,
    validate_page_size,
)
from services.l01_data.log.events import invalid_field
from services.l01_data.proto_json import struct_from_json, struct_to_python
from services.l01_data.query_proto import parse_filters

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DocumentService"].full_name


def to_proto(document: StoredDocument) -> pb.Document:
    message = pb.Document(
        name=document_name(document.collection, document.document_id),
        content=struct_from_json(document.content_json),
        revision=document.revision,
    )
    message.create_time.FromDatetime(document.create_time)
    message.update_time.FromDatetime(document.update_time)
    return message


class DocumentServicer(pb_grpc.DocumentServiceServicer):
    def __init__(self, store: DocumentStore) -> None:
        self._store = store

    async def PutDocument(
        self, request: pb.PutDocumentRequest, context: grpc.aio.ServicerContext
    ) -> pb.PutDocumentResponse:
        collection, document_id = parse_document_name(request.name)
        if not request.HasField("content"):
            raise invalid_field("content", "must be set (a JSON object)")
        expected = validate_expected_revision(
            request.expected_revision if request.HasField("expected_revision") else None
        )
        content = content_json(struct_to_python(request.content, "content"))
        document, created = await self._store.put(
            collection, document_id, content, expected, current_principal.get()
        )
        return pb.PutDocumentResponse(document=to_proto(document), created=created)

    async def GetDocument(
        self, request: pb.GetDocumentRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetDocumentResponse:
        collection, document_id = parse_document_name(request.name)
        return pb.GetDocumentResponse(
            document=to_proto(await self._store.get(collection, document_id))
        )

    async def DeleteDocument(
        self, request: pb.DeleteDocumentRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteDocumentResponse:
        collection, document_id = parse_document_name(request.name)
        expected = validate_expected_revision(
            request.expected_revision if request.HasField("expected_revision") else None,
            for_delete=True,
        )
        revision = await self._store.delete(
            collection, document_id, expected, request.allow_missing, current_principal.get()
        )
        return pb.DeleteDocumentResponse(deleted=revision > 0, revision=revision)

    async def QueryDocuments(
        self, request: pb.QueryDocumentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.QueryDocumentsResponse:
        collection = parse_collection_name(request.parent)
        filters = parse_filters(request.filters)
        order = dq.parse_order([(o.field, o.descending) for o in request.order_by])
        page = await self._store.query(
            collection, filters, order, validate_page_size(request.page_size), request.page_token
        )
        return pb.QueryDocumentsResponse(
            documents=[to_proto(d) for d in page.documents],
            next_page_token=page.next_page_token,
        )
