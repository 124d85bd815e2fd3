"""Vector collections: their settings, their tables and their HNSW indexes.

Storage choice: one table per collection, ``vectors_<n>``, created by
CreateCollection with an ``embedding vector(<dimension>)`` column. An HNSW
index needs a fixed dimension, and a column typed with it gives one index per
collection with the opclass of its distance (vector_cosine_ops, vector_l2_ops,
vector_ip_ops) that plain ``ORDER BY embedding <op> $1 LIMIT k`` queries use,
with the collection's own planner statistics; deleting a collection is a DROP.
(A shared table would need one partial expression index per collection, cast
to ``vector(n)``, and every query would have to repeat that cast and predicate
exactly for the planner to pick it.) The table name comes from the registry's
serial id, never from the client's collection id, and is never reused: a
stale cache entry for a deleted collection can only hit a missing table.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.kit.errors import PlatformError
from services.l01_data import errors
from services.l01_data.log.events import invalid_field

MAX_DIMENSION = 2_000  # pgvector's limit for an HNSW index on vector
DEFAULT_HNSW_M = 16
DEFAULT_HNSW_EF_CONSTRUCTION = 64

_COLLECTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_NAME = re.compile(r"vectorCollections/([^/]*)")


class Distance(enum.Enum):
    """A distance: its stored name, pgvector operator and HNSW opclass."""

    COSINE = ("cosine", "<=>", "vector_cosine_ops")
    L2 = ("l2", "<->", "vector_l2_ops")
    INNER_PRODUCT = ("inner_product", "<#>", "vector_ip_ops")

    @property
    def stored(self) -> str:
        return self.value[0]

    @property
    def operator(self) -> str:
        return self.value[1]

    @property
    def opclass(self) -> str:
        return self.value[2]

    @classmethod
    def from_stored(cls, text: str) -> Distance:
        return next(d for d in cls if d.stored == text)


@dataclass(frozen=True)
class CollectionSpec:
    """What a client asks for when creating a collection (validated)."""

    collection_id: str
    dimension: int
    distance: Distance
    hnsw_m: int
    hnsw_ef_construction: int
    defer_index: bool


@dataclass(frozen=True)
class CollectionInfo:
    collection_id: str
    table_number: int
    dimension: int
    distance: Distance
    hnsw_m: int
    hnsw_ef_construction: int
    create_time: datetime

    @property
    def table(self) -> str:
        """The collection's table: a constant prefix and an integer, safe to put in SQL."""
        return f"vectors_{self.table_number:d}"

    @property
    def hnsw_index(self) -> str:
        return f"{self.table}_hnsw"


def collection_name(collection_id: str) -> str:
    return f"vectorCollections/{collection_id}"


def validate_collection_id(collection_id: str, field: str = "collection_id") -> str:
    if not _COLLECTION_ID.fullmatch(collection_id):
        raise invalid_field(
            field,
            "the collection id must be 1-128 letters, digits, '_', '-', '.', "
            "starting with a letter or digit",
        )
    return collection_id


def parse_collection_name(name: str, field: str) -> str:
    """``vectorCollections/{collection}`` as the collection id."""
    match = _NAME.fullmatch(name)
    if match is None:
        raise invalid_field(field, "must be 'vectorCollections/{collection}'")
    return validate_collection_id(match.group(1), field)


def collection_spec(
    collection_id: str,
    dimension: int,
    distance: Distance | None,
    hnsw_m: int,
    hnsw_ef_construction: int,
    defer_index: bool,
) -> CollectionSpec:
    """Validates a create request; zero HNSW options mean the defaults."""
    validate_collection_id(collection_id)
    if not 1 <= dimension <= MAX_DIMENSION:
        raise invalid_field("collection.dimension", f"must be between 1 and {MAX_DIMENSION}")
    if distance is None:
        raise invalid_field(
            "collection.distance",
            "must be DISTANCE_COSINE, DISTANCE_L2 or DISTANCE_INNER_PRODUCT",
        )
    m = hnsw_m or DEFAULT_HNSW_M
    if not 2 <= m <= 100:
        raise invalid_field("collection.hnsw_m", "must be between 2 and 100 (0: 16)")
    ef_construction = hnsw_ef_construction or max(DEFAULT_HNSW_EF_CONSTRUCTION, 2 * m)
    if not 2 * m <= ef_construction <= 1_000:
        raise invalid_field(
            "collection.hnsw_ef_construction",
            "must be between 2 * hnsw_m and 1,000 (0: 64)",
        )
    return CollectionSpec(collection_id, dimension, distance, m, ef_construction, defer_index)


def not_found(collection_id: str, field: str) -> PlatformError:
    return PlatformError(
        errors.VECTOR_COLLECTION_NOT_FOUND,
        f"vector collection {collection_name(collection_id)!r} does not exist",
        field=field,
        metadata={"collection": collection_id},
    )


_SELECT = """
SELECT name, id, dimension, distance, hnsw_m, hnsw_ef_construction, create_time
  FROM vector_collections
"""


def info_from_row(row: asyncpg.Record) -> CollectionInfo:
    return CollectionInfo(
        collection_id=row["name"],
        table_number=row["id"],
        dimension=row["dimension"],
        distance=Distance.from_stored(row["distance"]),
        hnsw_m=row["hnsw_m"],
        hnsw_ef_construction=row["hnsw_ef_construction"],
        create_time=row["create_time"],
    )


async def insert_collection(conn: asyncpg.Connection, spec: CollectionSpec) -> CollectionInfo:
    """Registers the collection and creates its table (and index unless deferred)."""
    row = await conn.fetchrow(
        "INSERT INTO vector_collections"
        " (name, dimension, distance, hnsw_m, hnsw_ef_construction)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING"
        " RETURNING name, id, dimension, distance, hnsw_m, hnsw_ef_construction, create_time",
        spec.collection_id,
        spec.dimension,
        spec.distance.stored,
        spec.hnsw_m,
        spec.hnsw_ef_construction,
    )
    if row is None:
        raise PlatformError(
            errors.VECTOR_COLLECTION_EXISTS,
            f"vector collection {collection_name(spec.collection_id)!r} already exists",
            field="collection_id",
            metadata={"collection": spec.collection_id},
        )
    info = info_from_row(row)
    # Identifiers and numbers below come from the registry row and validated integers.
    await conn.execute(
        f"CREATE TABLE {info.table} ("
        " id text PRIMARY KEY,"
        f" embedding vector({info.dimension:d}) NOT NULL,"
        " metadata jsonb NOT NULL DEFAULT '{}',"
        " update_time timestamptz NOT NULL DEFAULT now())"
    )
    # Lets the planner answer a selective metadata filter exactly, without the HNSW index.
    await conn.execute(
        f"CREATE INDEX {info.table}_metadata ON {info.table} USING gin (metadata jsonb_path_ops)"
    )
    if not spec.defer_index:
        await conn.execute(hnsw_index_sql(info))
    return info


def hnsw_index_sql(info: CollectionInfo) -> str:
    return (
        f"CREATE INDEX IF NOT EXISTS {info.hnsw_index} ON {info.table}"
        f" USING hnsw (embedding {info.distance.opclass})"
        f" WITH (m = {info.hnsw_m:d}, ef_construction = {info.hnsw_ef_construction:d})"
    )


async def fetch_collection(conn: asyncpg.Connection, collection_id: str) -> CollectionInfo | None:
    row = await conn.fetchrow(f"{_SELECT} WHERE name = $1", collection_id)
    return None if row is None else info_from_row(row)


async def list_collections(
    conn: asyncpg.Connection, after: str, count: int
) -> list[tuple[CollectionInfo, bool]]:
    """Up to ``count`` collections named after ``after``, each with whether it is indexed."""
    rows = await conn.fetch(
        "SELECT c.*, to_regclass(format('vectors_%s_hnsw', c.id)) IS NOT NULL AS indexed"
        f" FROM ({_SELECT}) c WHERE name > $1 ORDER BY name LIMIT $2",
        after,
        count,
    )
    return [(info_from_row(row), row["indexed"]) for row in rows]


async def is_indexed(conn: asyncpg.Connection, info: CollectionInfo) -> bool:
    indexed: bool = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", info.hnsw_index)
    return indexed
