"""The one way a process opens a channel to a layer and calls its stubs.

Targets come from ``AGENTIC_<LAYER>_TARGET`` (e.g. ``AGENTIC_L01_TARGET``, an explicit
override), else from the registry the layers register with (``services/kit/registry.py``:
Consul or the launcher's local registry), else the layer's ports in this mesh on loopback
(``AGENTIC_L01_PORT``, as the launcher sets them, else the defaults of
``services/kit/layers.py``). A target is resolved when a channel is opened; a layer's
long-lived channels to the others look it up again (``services/kit/layer_channel.py``).
Every call gets a bearer token and a default deadline; idempotent methods are retried by
gRPC itself (service config). A layer calling with the service token names itself
(``principal``), or the server records the call as the gateway's.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

import grpc
import structlog

from services.kit.auth import PRINCIPAL_HEADER
from services.kit.config import MAX_MESSAGE_BYTES
from services.kit.layers import Layer, layer_by_key
from services.kit.registry import registry_from_env

DEFAULT_TIMEOUT_SECONDS = 5.0

log = structlog.get_logger("kit.clients")


def layer_target(layer: str) -> str:
    """The gRPC target of a layer, e.g. ``layer_target("l01")`` or ``layer_target("l01_data")``:
    its ``AGENTIC_<LAYER>_TARGET``, else its instances in the registry, else its ports in this
    mesh on loopback (``mesh_ports``)."""
    row = layer_by_key(layer)
    override = os.environ.get(f"AGENTIC_{row.env_prefix}_TARGET")
    if override:
        return override
    return discovered_target(row.name) or loopback_target(mesh_ports(row))


def layer_located(layer: str) -> bool:
    """Whether this process was told where a layer is: a target, a port in this mesh (the
    launcher gives every layer's) or an instance in the registry. A process told nothing
    runs without that layer rather than dial its default port."""
    row = layer_by_key(layer)
    for setting in (f"AGENTIC_{row.env_prefix}_TARGET", f"AGENTIC_{row.port_setting.upper()}"):
        if os.environ.get(setting):
            return True
    return discovered_target(row.name) is not None


def mesh_ports(row: Layer) -> tuple[int, ...]:
    """The ports of a layer's processes in this mesh: the launcher's settings as it hands
    them to the processes it starts (``AGENTIC_L04_PORT``, ``AGENTIC_L04_PROCESS1_PORT``),
    else the layer's defaults. They are where the launcher started it, so a process whose
    dependency has not registered yet still reaches it."""
    ports = []
    for index, default in enumerate(row.process_ports):
        setting = f"AGENTIC_{row.process_port_setting(index).upper()}"
        value = os.environ.get(setting, "")
        if not value:
            ports.append(default)
        elif value.isdigit() and 0 < int(value) < 65536:
            ports.append(int(value))
        else:
            raise ValueError(f"{setting}={value!r} is not a port (1-65535)")
    return tuple(ports)


def discovered_target(name: str) -> str | None:
    """The instances of a layer (``l01_data``) in this process's registry as one target, or
    None when there is no registry, no instance, or the registry cannot be reached. Those
    passing their health check, when any does; several on IPv4 addresses make an ``ipv4:``
    list that ``open_channel`` spreads calls over (L04's processes), else the newest serves.
    """
    try:
        registry = registry_from_env()
        instances = registry.instances(name) if registry is not None else []
    except Exception as error:  # an unreachable registry must not stop a caller: fall back
        log.warning("registry.lookup_failed", layer=name, reason=str(error))
        return None
    passing = [instance for instance in instances if instance.passing] or instances[:1]
    if len(passing) > 1 and all(_is_ipv4(instance.host) for instance in passing):
        return "ipv4:" + ",".join(instance.address for instance in passing)
    return passing[0].address if passing else None


def _is_ipv4(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host), ipaddress.IPv4Address)
    except ValueError:
        return False


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
