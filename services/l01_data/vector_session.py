"""What every pool connection needs for vectors: pgvector's codec and search defaults."""

from __future__ import annotations

import asyncpg
import structlog
from pgvector.asyncpg import register_vector

log = structlog.get_logger("l01.vector_session")

# Set once per connection so a default search is one statement: a wider HNSW candidate
# list than pgvector's 40 (recall), and iterative scans so a metadata filter cannot leave
# fewer than k rows. A search asking otherwise uses SET LOCAL in its own transaction.
SEARCH_DEFAULTS = {"hnsw.ef_search": "100", "hnsw.iterative_scan": "strict_order"}


async def prepare_vector_session(conn: asyncpg.Connection) -> None:
    """The pool's ``init`` hook: vectors travel as binary float32 arrays, not decimal text.

    On a fresh database the vector type appears only with the migrations, which
    run on a pool connection: the pool's connections are expired after migrating.
    """
    try:
        await register_vector(conn)
    except ValueError as error:  # "unknown type: public.vector"
        log.info("vector_session.type_missing", detail=str(error))
        return
    await conn.execute(
        "; ".join(f"SET {name} = '{value}'" for name, value in SEARCH_DEFAULTS.items())
    )
