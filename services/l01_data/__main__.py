"""Starts L01: migrations, the outbox publisher, and the gRPC server."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from agentic.data.v1 import (
    documents_pb2_grpc,
    event_store_pb2_grpc,
    snapshots_pb2_grpc,
    subscriptions_pb2_grpc,
    vectors_pb2_grpc,
)
from services.kit import (
    GrpcServer,
    ServiceDefinition,
    TokenAuthenticator,
    configure_logging,
    wait_for_termination,
)
from services.l01_data import errors
from services.l01_data.config import DataSettings
from services.l01_data.database import create_pool, migrate
from services.l01_data.documents import server as documents_server
from services.l01_data.documents.store import DocumentStore
from services.l01_data.groups import server as consumer_groups_server
from services.l01_data.groups.store import ConsumerGroups
from services.l01_data.log.event_store import NOTIFY_CHANNEL, EventStore
from services.l01_data.log.head import LogHead, listen_for_appends
from services.l01_data.log.outbox import OutboxPublisher
from services.l01_data.log.retention import sweep_forever
from services.l01_data.log.server import SERVICE_NAME, EventStoreServicer
from services.l01_data.log.streams import StreamCatalog
from services.l01_data.snapshots import server as snapshots_server
from services.l01_data.snapshots.store import SnapshotStore
from services.l01_data.vectors import server as vectors_server
from services.l01_data.vectors.store import VectorStore

log = structlog.get_logger("l01")


async def watch_database(server: GrpcServer, store: EventStore) -> None:
    """Reports NOT_SERVING on grpc.health while PostgreSQL is unreachable."""
    serving = True
    while True:
        await asyncio.sleep(2)
        try:
            await asyncio.wait_for(store.head_position(), timeout=2)
            healthy = True
        except Exception:
            healthy = False
        if healthy != serving:
            serving = healthy
            log.warning("database.health_changed", serving=serving)
            await server.set_serving(serving)


async def main() -> None:
    settings = DataSettings()
    configure_logging("l01_data", settings.log_level, settings.log_format)
    await migrate(settings)
    pool = await create_pool(settings)
    head = LogHead()
    store = EventStore(pool, head)
    head.advance(await store.head_position())
    publisher = OutboxPublisher(
        settings.database_url, settings.redis_url, head, settings.redis_stream_maxlen
    )
    definition = ServiceDefinition(
        layer="l01_data",
        errors=errors.CATALOG,
        service_names=[
            SERVICE_NAME,
            snapshots_server.SERVICE_NAME,
            consumer_groups_server.SERVICE_NAME,
            documents_server.SERVICE_NAME,
            vectors_server.SERVICE_NAME,
        ],
        registrars=[
            lambda s: event_store_pb2_grpc.add_EventStoreServiceServicer_to_server(
                EventStoreServicer(store, head, StreamCatalog(pool, head)), s
            ),
            lambda s: snapshots_pb2_grpc.add_SnapshotServiceServicer_to_server(
                snapshots_server.SnapshotServicer(SnapshotStore(pool, head)), s
            ),
            lambda s: subscriptions_pb2_grpc.add_ConsumerGroupServiceServicer_to_server(
                consumer_groups_server.ConsumerGroupServicer(ConsumerGroups(pool, head, store)), s
            ),
            lambda s: documents_pb2_grpc.add_DocumentServiceServicer_to_server(
                documents_server.DocumentServicer(DocumentStore(pool, head)), s
            ),
            lambda s: vectors_pb2_grpc.add_VectorServiceServicer_to_server(
                vectors_server.VectorServicer(VectorStore(pool, head)), s
            ),
        ],
        authenticator=TokenAuthenticator(settings.api_key),
    )
    async with GrpcServer(definition, settings) as server:
        tasks = [
            asyncio.create_task(listen_for_appends(settings.database_url, NOTIFY_CHANNEL, head)),
            asyncio.create_task(publisher.run()),
            asyncio.create_task(watch_database(server, store)),
            asyncio.create_task(sweep_forever(pool, settings.retention_sweep_seconds)),
        ]
        try:
            await wait_for_termination()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    await store.close()
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
