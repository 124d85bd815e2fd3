"""Document collections: JSON documents with a server-side revision.

A put replaces the content whole and increments the revision (1 on create);
an expected revision makes puts and deletes optimistic (0: must not exist).
Each change appends an audit event ("$document.put", "$document.deleted") to
the system stream "$documents:{collection}" in the same transaction, naming
the principal; payloads hold ids and revisions, never the content. An append may
put documents too (EventStore.submit): its events record those puts, and it
writes them while it holds the log lock, so a change here first takes the
document's advisory lock, as such an append does (see event_store.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.kit.errors import PlatformError
from services.l01_data import errors
from services.l01_data.audit import audit_append
from services.l01_data.audited_change import run_audited
from services.l01_data.database import translate_outages
from services.l01_data.document_query import (
    Cursor,
    Filter,
    Params,
    SortKey,
    after_sql,
    decode_page_token,
    encode_page_token,
    order_by_sql,
    query_fingerprint,
    sort_expressions,
    where_sql,
)
from services.l01_data.log.append_plan import AppendRequest
from services.l01_data.log.event_store import lock_documents
from services.l01_data.log.events import MAX_PAGE_BYTES, invalid_field, object_json
from services.l01_data.log.head import LogHead

MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_PAGE_SIZE = 1_000
DEFAULT_PAGE_SIZE = 100

_COLLECTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_DOCUMENT_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,255}")
_NAME = re.compile(r"collections/([^/]*)/documents/([^/]*)")
_PARENT = re.compile(r"collections/([^/]*)")

_RETURNING = "RETURNING revision, create_time, update_time"
_PUT_ANY = f"""
INSERT INTO documents AS d (collection, document_id, revision, content)
VALUES ($1, $2, 1, $3::jsonb)
ON CONFLICT (collection, document_id) DO UPDATE
   SET revision = d.revision + 1, content = EXCLUDED.content, update_time = now()
{_RETURNING}
"""
_PUT_NEW = f"""
INSERT INTO documents (collection, document_id, revision, content)
VALUES ($1, $2, 1, $3::jsonb)
ON CONFLICT (collection, document_id) DO NOTHING
{_RETURNING}
"""
_PUT_REVISION = f"""
UPDATE documents SET revision = revision + 1, content = $3::jsonb, update_time = now()
 WHERE collection = $1 AND document_id = $2 AND revision = $4
{_RETURNING}
"""
_DELETE = """
DELETE FROM documents
 WHERE collection = $1 AND document_id = $2 AND ($3::bigint IS NULL OR revision = $3)
RETURNING revision
"""
_REVISION = "SELECT revision FROM documents WHERE collection = $1 AND document_id = $2"
_GET = """
SELECT document_id, revision, content::text AS content, create_time, update_time
  FROM documents WHERE collection = $1 AND document_id = $2
"""


@dataclass(frozen=True)
class StoredDocument:
    collection: str
    document_id: str
    content_json: str
    revision: int
    create_time: datetime
    update_time: datetime


PutResult = tuple[StoredDocument, bool]


@dataclass(frozen=True)
class DocumentPage:
    documents: list[StoredDocument]
    next_page_token: str  # empty: no more


def audit_stream(collection: str) -> str:
    return f"$documents:{collection}"


def _check_collection(collection: str, field: str) -> str:
    if not _COLLECTION_ID.fullmatch(collection):
        raise invalid_field(
            field,
            "the collection id must be 1-128 letters, digits, '_', '-', '.', "
            "starting with a letter or digit",
        )
    return collection


def parse_document_name(name: str, field: str = "name") -> tuple[str, str]:
    """``collections/{collection}/documents/{document}`` as (collection, document id)."""
    match = _NAME.fullmatch(name)
    if match is None:
        raise invalid_field(field, "must be 'collections/{collection}/documents/{document}'")
    collection, document_id = match.groups()
    _check_collection(collection, field)
    if not _DOCUMENT_ID.fullmatch(document_id):
        raise invalid_field(
            field,
            "the document id must be 1-256 letters, digits, '_', '-', '.', '@', "
            "starting with a letter, digit or '_'",
        )
    return collection, document_id


def parse_collection_name(name: str, field: str = "parent") -> str:
    """``collections/{collection}`` as the collection id."""
    match = _PARENT.fullmatch(name)
    if match is None:
        raise invalid_field(field, "must be 'collections/{collection}'")
    return _check_collection(match.group(1), field)


def document_name(collection: str, document_id: str) -> str:
    return f"collections/{collection}/documents/{document_id}"


def content_json(content: Mapping[str, Any], field: str = "content") -> str:
    """The content as JSON text, within the size limit."""
    text = object_json(content, field)
    size = len(text.encode())
    if size > MAX_DOCUMENT_BYTES:
        raise PlatformError(
            errors.DOCUMENT_TOO_LARGE,
            f"{field}: {size} bytes as JSON; the limit is {MAX_DOCUMENT_BYTES}",
            field=field,
            metadata={"limit_bytes": str(MAX_DOCUMENT_BYTES), "size_bytes": str(size)},
        )
    return text


def validate_expected_revision(expected: int | None, *, for_delete: bool = False) -> int | None:
    if expected is None:
        return None
    if for_delete and expected < 1:
        raise invalid_field("expected_revision", "must be absent (any) or a revision >= 1")
    if expected < 0:
        raise invalid_field(
            "expected_revision", "must be absent (any), 0 (must not exist) or a revision >= 1"
        )
    return expected


def validate_page_size(size: int) -> int:
    if size == 0:
        return DEFAULT_PAGE_SIZE
    if size < 0 or size > MAX_PAGE_SIZE:
        raise invalid_field(
            "page_size", f"must be between 1 and {MAX_PAGE_SIZE} (0 means {DEFAULT_PAGE_SIZE})"
        )
    return size


def _conflict(collection: str, document_id: str, expected: int, actual: int) -> PlatformError:
    actual_text = "does not exist" if actual == 0 else f"is at revision {actual}"
    wanted = "not to exist" if expected == 0 else f"revision {expected}"
    return PlatformError(
        errors.DOCUMENT_REVISION_MISMATCH,
        f"document {document_name(collection, document_id)!r} {actual_text}; expected {wanted}",
        field="expected_revision",
        metadata={"actual_revision": str(actual), "expected_revision": str(expected)},
    )


def _not_found(collection: str, document_id: str) -> PlatformError:
    return PlatformError(
        errors.DOCUMENT_NOT_FOUND,
        f"document {document_name(collection, document_id)!r} does not exist",
        field="name",
    )


class DocumentStore:
    """Documents in the ``documents`` table, audited in the event log."""

    def __init__(self, pool: asyncpg.Pool, head: LogHead) -> None:
        self._pool = pool
        self._head = head

    async def put(
        self,
        collection: str,
        document_id: str,
        content: str,
        expected_revision: int | None,
        principal: str,
    ) -> tuple[StoredDocument, bool]:
        """Stores ``content`` (JSON object text); returns the document and whether it is new."""

        async def change(conn: asyncpg.Connection) -> tuple[PutResult, AppendRequest]:
            await lock_documents(conn, [(collection, document_id)])
            row = await self._write(conn, collection, document_id, content, expected_revision)
            stored = StoredDocument(
                collection,
                document_id,
                content,
                row["revision"],
                row["create_time"],
                row["update_time"],
            )
            created = stored.revision == 1
            audit = audit_append(
                audit_stream(collection),
                "$document.put",
                {
                    "collection": collection,
                    "document_id": document_id,
                    "revision": stored.revision,
                    "created": created,
                },
                principal,
            )
            return (stored, created), audit

        return await run_audited(self._pool, self._head, change)

    async def _write(
        self,
        conn: asyncpg.Connection,
        collection: str,
        document_id: str,
        content: str,
        expected: int | None,
    ) -> asyncpg.Record:
        if expected is None:
            return await conn.fetchrow(_PUT_ANY, collection, document_id, content)
        if expected == 0:
            row = await conn.fetchrow(_PUT_NEW, collection, document_id, content)
        else:
            row = await conn.fetchrow(_PUT_REVISION, collection, document_id, content, expected)
        if row is None:
            actual = await conn.fetchval(_REVISION, collection, document_id) or 0
            raise _conflict(collection, document_id, expected, actual)
        return row

    async def get(self, collection: str, document_id: str) -> StoredDocument:
        async with translate_outages():
            row = await self._pool.fetchrow(_GET, collection, document_id)
        if row is None:
            raise _not_found(collection, document_id)
        return _document(collection, row)

    async def delete(
        self,
        collection: str,
        document_id: str,
        expected_revision: int | None,
        allow_missing: bool,
        principal: str,
    ) -> int:
        """Deletes the document; returns the revision it had (0: nothing was deleted)."""

        async def change(conn: asyncpg.Connection) -> tuple[int, AppendRequest | None]:
            await lock_documents(conn, [(collection, document_id)])
            revision = await conn.fetchval(_DELETE, collection, document_id, expected_revision)
            if revision is None:
                actual = await conn.fetchval(_REVISION, collection, document_id)
                if actual is not None and expected_revision is not None:
                    raise _conflict(collection, document_id, expected_revision, actual)
                if not allow_missing:
                    raise _not_found(collection, document_id)
                return 0, None
            audit = audit_append(
                audit_stream(collection),
                "$document.deleted",
                {"collection": collection, "document_id": document_id, "revision": revision},
                principal,
            )
            return revision, audit

        return await run_audited(self._pool, self._head, change)

    async def query(
        self,
        collection: str,
        filters: Sequence[Filter],
        order: Sequence[SortKey],
        page_size: int,
        page_token: str,
    ) -> DocumentPage:
        fingerprint = query_fingerprint(collection, filters, order)
        cursor = decode_page_token(page_token, fingerprint, len(order))
        params = Params(collection)
        conditions = ["collection = $1", *where_sql(filters, "content", params)]
        keys = sort_expressions(order, "content", params)
        if cursor is not None:
            conditions.append(after_sql(order, keys, "document_id", cursor, params))
        sort_columns = "".join(f", {key}::text AS sort_{i}" for i, key in enumerate(keys))
        sql = (
            "SELECT document_id, revision, content::text AS content, create_time, update_time"
            f"{sort_columns} FROM documents WHERE {' AND '.join(conditions)}"
            f" ORDER BY {order_by_sql(order, keys, 'document_id')}"
            f" LIMIT {params.add(page_size + 1)}"
        )
        async with translate_outages():
            try:
                rows = await self._pool.fetch(sql, *params.values)
            except asyncpg.DataError:
                # Only a forged cursor value can fail to cast: filter values are validated.
                if cursor is None:
                    raise
                raise PlatformError(
                    errors.INVALID_PAGE_TOKEN,
                    "page_token: is malformed; pass the next_page_token of a previous page",
                    field="page_token",
                ) from None
        return _page(collection, rows, page_size, len(order), fingerprint)


def _document(collection: str, row: asyncpg.Record) -> StoredDocument:
    return StoredDocument(
        collection,
        row["document_id"],
        row["content"],
        row["revision"],
        row["create_time"],
        row["update_time"],
    )


def _page(
    collection: str, rows: Sequence[asyncpg.Record], page_size: int, key_count: int, query: str
) -> DocumentPage:
    """Up to ``page_size`` documents and MAX_PAGE_BYTES (at least one), with the next token."""
    documents: list[StoredDocument] = []
    size = 0
    for row in rows[:page_size]:
        size += len(row["content"])
        if documents and size > MAX_PAGE_BYTES:
            break
        documents.append(_document(collection, row))
    if len(documents) == len(rows):  # everything that matched fits
        return DocumentPage(documents, "")
    last = rows[len(documents) - 1]
    cursor = Cursor(tuple(last[f"sort_{i}"] for i in range(key_count)), last["document_id"])
    return DocumentPage(documents, encode_page_token(query, cursor))
