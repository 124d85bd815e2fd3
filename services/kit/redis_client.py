"""The Redis client a layer uses on its request path.

redis-py's default pool raises ``MaxConnectionsError`` once every connection is in use, which
turns a burst of concurrent calls into internal errors; a blocking pool makes the extra calls
wait (briefly) for a connection instead.
"""

from __future__ import annotations

import redis.asyncio as redis

MAX_CONNECTIONS = 64
WAIT_SECONDS = 5.0  # longer than any one command takes; beyond it the caller gets the error


def redis_client(
    url: str, *, max_connections: int = MAX_CONNECTIONS, wait_seconds: float = WAIT_SECONDS
) -> redis.Redis:
    pool = redis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=wait_seconds
    )
    return redis.Redis.from_pool(pool)  # closing the client closes the pool
