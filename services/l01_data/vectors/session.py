"""What every pool connection needs for vectors: pgvector's codec and search defaults."""

from __future__ import annotations

import asyncpg
from pgvector.asyncpg import register_vector

# Set once per connection so a default search is one statement: a wider HNSW candidate
# list than pgvector's 40 (recall), and iterative scans so a metadata filter cannot leave
# fewer than k rows. A search asking otherwise uses SET LOCAL in its own transaction.
SEARCH_DEFAULTS = {"hnsw.ef_search": "100", "hnsw.iterative_scan": "strict_order"}


async def prepare_vector_session(conn: asyncpg.Connection) -> None:
    """The pool's ``init`` hook: vectors travel as binary float32 arrays, not decimal text.

    The vector type comes with the migrations, which run before the pool opens.
    """
    await register_vector(conn)
    await conn.execute(
        "; ".join(f"SET {name} = '{value}'" for name, value in SEARCH_DEFAULTS.items())
    )
