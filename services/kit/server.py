"""grpc.aio server bootstrap: interceptors, health, reflection, registration, graceful stop."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from threadpoolctl import threadpool_limits

from services.kit.auth import TokenAuthenticator
from services.kit.config import ServiceSettings
from services.kit.errors import ErrorCatalog
from services.kit.interceptors import BearerAuthInterceptor, CallContextInterceptor
from services.kit.registry import Registry, ServiceInstance, registry_from_env, this_process

log = structlog.get_logger("kit.server")

Registrar = Callable[[grpc.aio.Server], None]
ServingStatus = health_pb2.HealthCheckResponse.ServingStatus


@dataclass
class ServiceDefinition:
    """What a layer hands the kit: its servicers and error conventions."""

    layer: str  # e.g. "l01_data"
    errors: ErrorCatalog  # its ErrorInfo domain and the codes for internal and auth failures
    service_names: Sequence[str]  # fully qualified, for health and reflection
    registrars: Sequence[Registrar]
    authenticator: TokenAuthenticator | None = None
    extra_options: list[tuple[str, int]] = field(default_factory=list)


def limit_blas_threads() -> None:
    """One BLAS thread in a layer that has loaded numpy. A request's matrix products are small
    (a query against a few thousand vectors); split across two threads, the caller spins
    waiting for a worker that a busy machine has not scheduled yet. L13's product took up to
    3 ms of CPU at p99 instead of 0.1 ms, and ClassifyTask's p99 through Envoy fell from
    17-20 ms to 13-16 ms with one thread."""
    if "numpy" in sys.modules:
        threadpool_limits(limits=1, user_api="blas")


class GrpcServer:
    """An async gRPC server with the platform's interceptors, health and reflection.

    ``async with GrpcServer(defn, settings) as server:`` starts it (``server.port``
    holds the bound port), registers it in the registry (``registry_from_env`` unless one is
    given) and, on exit, deregisters it and stops it gracefully.
    """

    def __init__(
        self,
        definition: ServiceDefinition,
        settings: ServiceSettings,
        registry: Registry | None = None,
    ) -> None:
        self.definition = definition
        self.settings = settings
        self.registry = registry if registry is not None else registry_from_env()
        self.instance: ServiceInstance | None = None
        self.health = health.aio.HealthServicer()
        interceptors: list[grpc.aio.ServerInterceptor] = [
            CallContextInterceptor(
                definition.errors.domain,
                definition.errors.internal,
                definition.errors.invalid_argument,
            )
        ]
        if definition.authenticator is not None:
            interceptors.append(
                BearerAuthInterceptor(definition.authenticator, definition.errors.unauthenticated)
            )
        self._server = grpc.aio.server(
            interceptors=interceptors,
            options=[
                ("grpc.max_receive_message_length", settings.max_message_bytes),
                ("grpc.max_send_message_length", settings.max_message_bytes),
                ("grpc.so_reuseport", 0),
                *definition.extra_options,
            ],
        )
        self.port = 0

    async def __aenter__(self) -> GrpcServer:
        limit_blas_threads()
        for register in self.definition.registrars:
            register(self._server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        reflection.enable_server_reflection(
            [*self.definition.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME],
            self._server,
        )
        address = f"{self.settings.host}:{self.settings.port}"
        self.port = self._server.add_insecure_port(address)
        if self.port == 0:
            raise RuntimeError(f"cannot bind {address}")
        # NOT_SERVING (the health servicer starts as SERVING) until registered: whoever
        # waits for it to serve then finds it in the registry.
        await self.set_serving(False)
        await self._server.start()
        await self._register()
        await self.set_serving(True)
        log.info(
            "server.started",
            layer=self.definition.layer,
            address=f"{self.settings.host}:{self.port}",
        )
        return self

    async def _register(self) -> None:
        """Tells the registry where this layer serves. A registry that cannot be reached is
        logged, not fatal: callers given the address directly still reach the layer."""
        if self.registry is None:
            return
        instance = this_process(self.definition.layer, self.settings.host, self.port)
        try:
            await asyncio.to_thread(self.registry.register, instance)
        except Exception as error:
            log.warning("registry.register_failed", layer=instance.name, reason=str(error))
            return
        self.instance = instance
        log.info("registry.registered", layer=instance.name, address=instance.address)

    async def _deregister(self) -> None:
        if self.registry is None or self.instance is None:
            return
        try:
            await asyncio.to_thread(self.registry.deregister, self.instance)
        except Exception as error:
            log.warning("registry.deregister_failed", layer=self.instance.name, reason=str(error))
            return
        log.info("registry.deregistered", layer=self.instance.name)
        self.instance = None

    async def set_serving(self, serving: bool) -> None:
        """Report every service (and the server as a whole, "") as (not) serving."""
        status = ServingStatus.SERVING if serving else ServingStatus.NOT_SERVING
        for name in ("", *self.definition.service_names):
            await self.health.set(name, status)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Out of the registry first, so that no new caller is sent here while it drains.
        await self._deregister()
        await self.health.enter_graceful_shutdown()
        await self._server.stop(self.settings.grace_seconds)
        log.info("server.stopped", layer=self.definition.layer)


async def wait_for_termination() -> None:
    """Returns on SIGTERM or SIGINT, so ``async with`` blocks unwind cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("server.signal_received")


# Waits between attempts of serve_when_ready, the last one repeated.
READY_RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


async def serve_when_ready(
    server: GrpcServer,
    prepare: Callable[[], Awaitable[None]],
    retry_on: tuple[type[Exception], ...],
) -> None:
    """Reports NOT_SERVING until ``prepare`` succeeds, retrying it on ``retry_on`` errors:
    for a layer that needs others (started beside it) before it can answer."""
    await server.set_serving(False)
    attempt = 0
    while True:
        try:
            await prepare()
        except retry_on as error:
            delay = READY_RETRY_SECONDS[min(attempt, len(READY_RETRY_SECONDS) - 1)]
            log.info(
                "server.not_ready", layer=server.definition.layer, reason=str(error), retry_in=delay
            )
            attempt += 1
            await asyncio.sleep(delay)
            continue
        # What was loaded (an index, its models) lives as long as the process: keep it out of
        # the collector's full passes, which would otherwise stall a request now and then.
        gc.collect()
        gc.freeze()
        await server.set_serving(True)
        log.info("server.ready", layer=server.definition.layer)
        return
