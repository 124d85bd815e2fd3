"""Vector collections and k-nearest-neighbour search over them (pgvector, HNSW).

Every change appends an audit event to the system stream
"$vectors:{collection}" in the same transaction, naming the principal; the
payloads hold ids and counts, never vectors.

Search breadth: every pool connection starts with ``hnsw.ef_search = 100``
and pgvector 0.8's ``hnsw.iterative_scan = strict_order`` (session.py),
so a default search is a single statement. Without iterative scans the index
returns its ef_search nearest candidates and a metadata filter may leave fewer
than k of them; with them the scan goes on until k rows pass, in exact order.
A search asking for another ef_search, or an exact one, sets it with SET LOCAL
in a transaction of its own.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
from pgvector import Vector

from services.kit.errors import PlatformError
from services.l01_data import errors
from services.l01_data.audit import audit_append
from services.l01_data.audited_change import run_audited
from services.l01_data.database import translate_outages
from services.l01_data.document_query import (
    Cursor,
    Filter,
    Params,
    decode_page_token,
    encode_page_token,
    where_sql,
)
from services.l01_data.log.append_plan import AppendRequest
from services.l01_data.log.events import invalid_field, object_json
from services.l01_data.log.head import LogHead
from services.l01_data.vectors import tables as vc
from services.l01_data.vectors.session import SEARCH_DEFAULTS

T = TypeVar("T")

MAX_VECTORS_PER_CALL = 1_000
MAX_METADATA_BYTES = 64 * 1024
MAX_K = 1_000
DEFAULT_K = 10
MAX_EF_SEARCH = 1_000  # pgvector's limit
DEFAULT_EF_SEARCH = int(SEARCH_DEFAULTS["hnsw.ef_search"])
MAX_PAGE_SIZE = 1_000
DEFAULT_PAGE_SIZE = 100
# Memory for one HNSW build: a graph that fits builds several times faster than one that
# spills (100,000 x 384 needs about 200 MB).
INDEX_BUILD_MEMORY = "1GB"
INDEX_BUILD_TIMEOUT_SECONDS = 3_600.0

_LIST_SCOPE = "vectorCollections"


@dataclass(frozen=True)
class NewVector:
    id: str
    values: list[float]
    metadata_json: str


# A vector read back has the same fields as one to upsert.
StoredVector = NewVector


@dataclass(frozen=True)
class Match:
    id: str
    distance: float
    metadata_json: str
    values: list[float] | None


@dataclass(frozen=True)
class CollectionState:
    info: vc.CollectionInfo
    indexed: bool
    vector_count: int | None  # None where not counted (lists)


@dataclass(frozen=True)
class SearchOptions:
    k: int
    ef_search: int
    exact: bool
    include_values: bool


def audit_stream(collection_id: str) -> str:
    return f"$vectors:{collection_id}"


def validate_vector_id(vector_id: str, field: str) -> str:
    if not vector_id or len(vector_id) > 256 or not _is_plain_id(vector_id):
        raise invalid_field(field, "must be 1-256 letters, digits, '_', '-', '.', '@'")
    return vector_id


def _is_plain_id(text: str) -> bool:
    return text.isascii() and all(c.isalnum() or c in "_-.@" for c in text)


def metadata_json(metadata: dict[str, object] | None, field: str) -> str:
    text = object_json(metadata, field)
    if len(text.encode()) > MAX_METADATA_BYTES:
        raise PlatformError(
            errors.VECTOR_METADATA_TOO_LARGE,
            f"{field}: over {MAX_METADATA_BYTES} bytes as JSON",
            field=field,
            metadata={"limit_bytes": str(MAX_METADATA_BYTES)},
        )
    return text


def validate_unique_ids(ids: Sequence[str], field: str) -> None:
    if len(set(ids)) != len(ids):
        raise invalid_field(field, "ids must be unique within one call")


def validate_batch(count: int, field: str) -> None:
    if count == 0:
        raise invalid_field(field, "must hold at least one entry")
    if count > MAX_VECTORS_PER_CALL:
        raise PlatformError(
            errors.VECTOR_BATCH_TOO_LARGE,
            f"{field}: {count} entries in one call; the limit is {MAX_VECTORS_PER_CALL}",
            field=field,
            metadata={"limit": str(MAX_VECTORS_PER_CALL)},
        )


def check_vector(values: Sequence[float], info: vc.CollectionInfo, field: str) -> None:
    """Refuses a wrong dimension, NaN/Infinity, and zero vectors under cosine distance."""
    if len(values) != info.dimension:
        raise PlatformError(
            errors.VECTOR_DIMENSION_MISMATCH,
            f"{field}: has {len(values)} values; the collection's dimension is {info.dimension}",
            field=field,
            metadata={"dimension": str(info.dimension), "received": str(len(values))},
        )
    # One pass in C: the sum of float32 values is finite exactly when every value is.
    if not math.isfinite(sum(values)):
        index = next(i for i, v in enumerate(values) if not math.isfinite(v))
        raise PlatformError(
            errors.VECTOR_NOT_FINITE,
            f"{field}[{index}]: must be finite (no NaN or Infinity)",
            field=f"{field}[{index}]",
        )
    if info.distance is vc.Distance.COSINE and not any(values):
        raise PlatformError(
            errors.VECTOR_ZERO_FOR_COSINE,
            f"{field}: a zero vector has no cosine distance",
            field=field,
        )


def search_options(k: int, ef_search: int | None, exact: bool, values: bool) -> SearchOptions:
    k = k or DEFAULT_K
    if not 1 <= k <= MAX_K:
        raise invalid_field("k", f"must be between 1 and {MAX_K} (0 means {DEFAULT_K})")
    if ef_search is not None and not 1 <= ef_search <= MAX_EF_SEARCH:
        raise invalid_field("ef_search", f"must be between 1 and {MAX_EF_SEARCH}")
    # The index returns at most ef_search rows: never fewer than k.
    breadth = max(ef_search or DEFAULT_EF_SEARCH, k)
    return SearchOptions(k, breadth, exact, values)


def validate_page_size(size: int) -> int:
    if size == 0:
        return DEFAULT_PAGE_SIZE
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise invalid_field("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    return size


class VectorStore:
    """Collections (cached by id) and their vectors, through the L01 pool."""

    def __init__(self, pool: asyncpg.Pool, head: LogHead) -> None:
        self._pool = pool
        self._head = head
        self._cache: dict[str, vc.CollectionInfo] = {}

    # -- collections ---------------------------------------------------------------------

    async def create(self, spec: vc.CollectionSpec, principal: str) -> CollectionState:
        async def change(conn: asyncpg.Connection) -> tuple[vc.CollectionInfo, AppendRequest]:
            info = await vc.insert_collection(conn, spec)
            audit = audit_append(
                audit_stream(spec.collection_id),
                "$vector_collection.created",
                {
                    "collection": spec.collection_id,
                    "dimension": spec.dimension,
                    "distance": spec.distance.stored,
                },
                principal,
            )
            return info, audit

        info = await run_audited(self._pool, self._head, change)
        self._cache[info.collection_id] = info
        return CollectionState(info, indexed=not spec.defer_index, vector_count=0)

    async def get(self, collection_id: str, field: str = "name") -> CollectionState:
        async def read(info: vc.CollectionInfo) -> CollectionState:
            async with self._pool.acquire() as conn:
                count = await conn.fetchval(f"SELECT count(*) FROM {info.table}")
                return CollectionState(info, await vc.is_indexed(conn, info), count)

        return await self._on_collection(collection_id, field, read)

    async def list_collections(
        self, page_size: int, page_token: str
    ) -> tuple[list[CollectionState], str]:
        cursor = decode_page_token(page_token, _LIST_SCOPE, 0)
        async with translate_outages(), self._pool.acquire() as conn:
            rows = await vc.list_collections(conn, cursor.last_id if cursor else "", page_size + 1)
        states = [CollectionState(info, indexed, None) for info, indexed in rows[:page_size]]
        token = ""
        if len(rows) > page_size:
            token = encode_page_token(_LIST_SCOPE, Cursor((), states[-1].info.collection_id))
        return states, token

    async def delete(self, collection_id: str, principal: str) -> int:
        """Drops the collection; returns how many vectors it held."""

        async def change(conn: asyncpg.Connection) -> tuple[int, AppendRequest]:
            info = await vc.fetch_collection(conn, collection_id)
            if info is None:
                raise vc.not_found(collection_id, "name")
            await conn.execute("DELETE FROM vector_collections WHERE id = $1", info.table_number)
            count: int = await conn.fetchval(f"SELECT count(*) FROM {info.table}")
            await conn.execute(f"DROP TABLE {info.table}")
            audit = audit_append(
                audit_stream(collection_id),
                "$vector_collection.deleted",
                {"collection": collection_id, "vector_count": count},
                principal,
            )
            return count, audit

        self._cache.pop(collection_id, None)
        return await run_audited(self._pool, self._head, change)

    async def build_index(self, collection_id: str, principal: str) -> tuple[CollectionState, bool]:
        """Builds the HNSW index if missing; returns the state and whether it was built now."""

        async def build(info: vc.CollectionInfo) -> bool:
            async def change(conn: asyncpg.Connection) -> tuple[bool, AppendRequest | None]:
                if await vc.is_indexed(conn, info):
                    return False, None
                await conn.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
                await conn.execute(vc.hnsw_index_sql(info), timeout=INDEX_BUILD_TIMEOUT_SECONDS)
                audit = audit_append(
                    audit_stream(collection_id),
                    "$vector_collection.indexed",
                    {"collection": collection_id},
                    principal,
                )
                return True, audit

            return await run_audited(self._pool, self._head, change)

        built = await self._on_collection(collection_id, "name", build)
        return await self.get(collection_id), built

    async def _on_collection(
        self,
        collection_id: str,
        field: str,
        operation: Callable[[vc.CollectionInfo], Awaitable[T]],
    ) -> T:
        """Runs ``operation`` on the collection; a cached entry whose table is gone is reloaded."""
        for attempt in range(2):
            info = self._cache.get(collection_id)
            if info is None:
                async with translate_outages(), self._pool.acquire() as conn:
                    info = await vc.fetch_collection(conn, collection_id)
                if info is None:
                    raise vc.not_found(collection_id, field)
                self._cache[collection_id] = info
            try:
                async with translate_outages():
                    return await operation(info)
            except asyncpg.UndefinedTableError:
                self._cache.pop(collection_id, None)
                if attempt:
                    raise vc.not_found(collection_id, field) from None
        raise AssertionError("unreachable")

    # -- vectors -------------------------------------------------------------------------

    async def upsert(self, collection_id: str, vectors: Sequence[NewVector], principal: str) -> int:
        async def upsert(info: vc.CollectionInfo) -> int:
            for i, vector in enumerate(vectors):
                check_vector(vector.values, info, f"vectors[{i}].values")

            async def change(conn: asyncpg.Connection) -> tuple[int, AppendRequest]:
                await conn.execute(
                    f"INSERT INTO {info.table} AS t (id, embedding, metadata)"
                    " SELECT * FROM unnest($1::text[], $2::vector[], $3::jsonb[])"
                    " ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding,"
                    " metadata = EXCLUDED.metadata, update_time = now()",
                    [v.id for v in vectors],
                    [Vector(v.values) for v in vectors],
                    [v.metadata_json for v in vectors],
                )
                audit = audit_append(
                    audit_stream(collection_id),
                    "$vectors.upserted",
                    {"collection": collection_id, "ids": [v.id for v in vectors]},
                    principal,
                )
                return len(vectors), audit

            return await run_audited(self._pool, self._head, change)

        return await self._on_collection(collection_id, "parent", upsert)

    async def delete_vectors(self, collection_id: str, ids: Sequence[str], principal: str) -> int:
        async def delete(info: vc.CollectionInfo) -> int:
            async def change(conn: asyncpg.Connection) -> tuple[int, AppendRequest | None]:
                deleted = await conn.fetch(
                    f"DELETE FROM {info.table} WHERE id = ANY($1::text[]) RETURNING id", list(ids)
                )
                if not deleted:
                    return 0, None
                audit = audit_append(
                    audit_stream(collection_id),
                    "$vectors.deleted",
                    {"collection": collection_id, "ids": [r["id"] for r in deleted]},
                    principal,
                )
                return len(deleted), audit

            return await run_audited(self._pool, self._head, change)

        return await self._on_collection(collection_id, "parent", delete)

    async def get_vector(self, collection_id: str, vector_id: str) -> StoredVector:
        async def get(info: vc.CollectionInfo) -> StoredVector:
            row = await self._pool.fetchrow(
                f"SELECT embedding, metadata::text AS metadata FROM {info.table} WHERE id = $1",
                vector_id,
            )
            if row is None:
                raise PlatformError(
                    errors.VECTOR_NOT_FOUND,
                    f"collection {collection_id!r} holds no vector {vector_id!r}",
                    field="id",
                    metadata={"collection": collection_id, "id": vector_id},
                )
            return StoredVector(vector_id, row["embedding"].to_list(), row["metadata"])

        return await self._on_collection(collection_id, "parent", get)

    async def search(
        self,
        collection_id: str,
        query: Sequence[float],
        filters: Sequence[Filter],
        options: SearchOptions,
    ) -> list[Match]:
        async def search(info: vc.CollectionInfo) -> list[Match]:
            check_vector(query, info, "vector")
            params = Params(Vector(list(query)))
            conditions = where_sql(filters, "metadata", params)
            where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
            values = ", embedding" if options.include_values else ""
            distance = f"embedding {info.distance.operator} $1::vector"
            sql = (
                f"SELECT id, {distance} AS distance, metadata::text AS metadata{values}"
                f" FROM {info.table}{where} ORDER BY {distance} LIMIT {params.add(options.k)}"
            )
            settings = _search_settings(options)
            async with self._pool.acquire() as conn:
                if not settings:  # the connection's defaults: one round trip
                    rows = await conn.fetch(sql, *params.values)
                else:
                    async with conn.transaction():
                        await conn.execute(settings)
                        rows = await conn.fetch(sql, *params.values)
            return [_match(row, options.include_values) for row in rows]

        return await self._on_collection(collection_id, "parent", search)


def _search_settings(options: SearchOptions) -> str:
    """SET LOCAL statements for a search that departs from the connection's defaults."""
    if options.exact:
        return "SET LOCAL enable_indexscan = off"
    if options.ef_search != DEFAULT_EF_SEARCH:
        return f"SET LOCAL hnsw.ef_search = {options.ef_search:d}"  # validated integer
    return ""


def _match(row: asyncpg.Record, include_values: bool) -> Match:
    values = row["embedding"].to_list() if include_values else None
    return Match(row["id"], row["distance"], row["metadata"], values)
