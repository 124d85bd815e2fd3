"""The one way a process opens a channel to a layer and calls its stubs.

Targets come from ``AGENTIC_<LAYER>_TARGET`` (e.g. ``AGENTIC_L01_TARGET``), else from the
registry the layers register with (``services/kit/registry.py``: Consul or the launcher's
local registry), else the layer's default port on loopback (``services/kit/layers.py``).
A target is resolved when a channel is opened: a layer that moved is found by channels
opened afterwards. Every call gets a bearer
token and a default deadline; idempotent methods are retried by gRPC itself (service config).
A layer calling with the service token names itself (``principal``), or the server records
the call as the gateway's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

import grpc
import structlog

from services.kit.auth import PRINCIPAL_HEADER
from services.kit.config import MAX_MESSAGE_BYTES
from services.kit.layers import layer_by_key
from services.kit.registry import registry_from_env

DEFAULT_TIMEOUT_SECONDS = 5.0

log = structlog.get_logger("kit.clients")


def layer_target(layer: str) -> str:
    """``host:port`` of a layer, e.g. ``layer_target("l01")`` or ``layer_target("l01_data")``:
    its ``AGENTIC_<LAYER>_TARGET``, else its best instance in the registry (passing its health
    check, newest), else its default port on loopback."""
    row = layer_by_key(layer)
    override = os.environ.get(f"AGENTIC_{row.env_prefix}_TARGET")
    if override:
        return override
    return discovered_target(row.name) or f"127.0.0.1:{row.port}"


def discovered_target(name: str) -> str | None:
    """The best instance of a layer (``l01_data``) in this process's registry, or None when
    there is no registry, no instance, or the registry cannot be reached."""
    try:
        registry = registry_from_env()
        instances = registry.instances(name) if registry is not None else []
    except Exception as error:  # an unreachable registry must not stop a caller: fall back
        log.warning("registry.lookup_failed", layer=name, reason=str(error))
        return None
    return instances[0].address if instances else None


def loopback_target(ports: Sequence[int]) -> str:
    """The target of a layer's processes on this host: ``127.0.0.1:8001`` for one, and for
    several ``ipv4:127.0.0.1:8004,127.0.0.1:8204``, over which open_channel spreads calls."""
    addresses = ",".join(f"127.0.0.1:{port}" for port in ports)
    return addresses if len(ports) == 1 else f"ipv4:{addresses}"


def retry_service_config(service: str, idempotent_methods: Iterable[str]) -> str:
    """gRPC service config retrying UNAVAILABLE for the given idempotent methods."""
    return json.dumps(
        {
            "methodConfig": [
                {
                    "name": [{"service": service, "method": m} for m in idempotent_methods],
                    "retryPolicy": {
                        "maxAttempts": 4,
                        "initialBackoff": "0.05s",
                        "maxBackoff": "1s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ]
        }
    )


class _CallDefaults:
    """Adds the bearer token (and the calling principal), and a deadline to unary calls that
    set none."""

    def __init__(self, token: str | None, timeout: float | None, principal: str | None) -> None:
        metadata = [("authorization", f"Bearer {token}")] if token else []
        if principal:
            metadata.append((PRINCIPAL_HEADER, principal))
        self._metadata = tuple(metadata)
        self._timeout = timeout

    def _details(self, details: Any, unary: bool) -> Any:
        metadata = grpc.aio.Metadata(*(details.metadata or ()), *self._metadata)
        timeout = details.timeout
        if timeout is None and unary:
            timeout = self._timeout
        return details._replace(metadata=metadata, timeout=timeout)


# grpc.aio files each interceptor under one call kind only, so one class per kind.
class _UnaryUnaryDefaults(_CallDefaults, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return await continuation(self._details(details, unary=True), request)


class _UnaryStreamDefaults(_CallDefaults, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return await continuation(self._details(details, unary=False), request)


class _StreamUnaryDefaults(_CallDefaults, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation, details, request_iterator):  # type: ignore[no-untyped-def]
        return await continuation(self._details(details, unary=True), request_iterator)


class _StreamStreamDefaults(_CallDefaults, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation, details, request_iterator):  # type: ignore[no-untyped-def]
        return await continuation(self._details(details, unary=False), request_iterator)


def open_channel(
    target: str,
    *,
    token: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
    service_config: str | None = None,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    principal: str | None = None,
) -> grpc.aio.Channel:
    """An insecure grpc.aio channel with the platform's call defaults. ``principal``: who the
    calls are from, believed by the server only with the service token as ``token``. With no
    token, principal or timeout there are no defaults to add, and no interceptors: a caller
    that sets its own deadlines saves their cost on every call."""
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.enable_retries", 1),
    ]
    if service_config:
        options.append(("grpc.service_config", service_config))
    if "," in target:  # several processes of a layer (loopback_target): calls go round them
        options.append(("grpc.lb_policy_name", "round_robin"))
    if token is None and principal is None and timeout is None:
        return grpc.aio.insecure_channel(target, options=options)
    return grpc.aio.insecure_channel(
        target,
        options=options,
        interceptors=[
            kind(token, timeout, principal)
            for kind in (
                _UnaryUnaryDefaults,
                _UnaryStreamDefaults,
                _StreamUnaryDefaults,
                _StreamStreamDefaults,
            )
        ],
    )
