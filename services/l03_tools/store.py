"""What the domain needs of storage: documents with revisions, and an event log (L01 in a
mesh, see ``l01.py``; in memory in unit tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol


class RevisionConflict(Exception):
    """The document's revision was not the expected one."""


class Documents(Protocol):
    async def get(self, collection: str, document: str) -> tuple[dict[str, Any], int] | None:
        """(content, revision), or None when absent."""

    async def put(
        self,
        collection: str,
        document: str,
        content: dict[str, Any],
        expected_revision: int | None = None,
    ) -> int:
        """Stores the content and returns its new revision; raises RevisionConflict when
        ``expected_revision`` (0: must not exist) does not hold."""

    def scan(self, collection: str) -> AsyncIterator[dict[str, Any]]:
        """Every document of a collection."""


class Events(Protocol):
    async def append(self, stream_id: str, event_type: str, data: dict[str, Any]) -> None: ...

    async def append_with_document(
        self,
        stream_id: str,
        event_type: str,
        data: dict[str, Any],
        document: tuple[str, str, dict[str, Any]],
    ) -> None:
        """The event, and the document (collection, id, content) replaced whole, in one
        transaction."""
