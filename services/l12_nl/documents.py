"""L12's own state (confirmation tokens, conversations) as JSON documents in L01."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format

from agentic.data.v1 import documents_pb2 as pb
from agentic.data.v1 import documents_pb2_grpc


class RevisionConflict(Exception):
    """Someone else changed (or created) the document first."""


@dataclass(frozen=True)
class Stored:
    content: dict[str, Any]
    revision: int


class DocumentStore:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._documents = documents_pb2_grpc.DocumentServiceStub(channel)

    async def get(self, collection: str, document: str) -> Stored | None:
        try:
            reply = await self._documents.GetDocument(
                pb.GetDocumentRequest(name=_name(collection, document))
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        content = json_format.MessageToDict(reply.document.content)
        return Stored(content, reply.document.revision)

    async def put(
        self, collection: str, document: str, content: dict[str, Any], expected_revision: int
    ) -> int:
        """Writes ``content`` if the stored revision is ``expected_revision`` (0: must not
        exist); the new revision."""
        request = pb.PutDocumentRequest(
            name=_name(collection, document), expected_revision=expected_revision
        )
        request.content.update(content)
        try:
            reply = await self._documents.PutDocument(request)
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.ABORTED, grpc.StatusCode.ALREADY_EXISTS):
                raise RevisionConflict(str(error.details())) from None
            raise
        return reply.document.revision


def _name(collection: str, document: str) -> str:
    return f"collections/{collection}/documents/{document}"
