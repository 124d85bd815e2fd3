"""The registry in Consul, through its HTTP agent API (``py-consul``).

An instance registers with the local agent under its layer's DNS-safe name (``l01-data``:
Consul's DNS interface refuses underscores), with a gRPC health check the agent runs itself
(``grpc.health.v1``, overall status) and drops after a minute of failing. Lookups ask the
health endpoint and prefer passing instances.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import consul

from services.kit.registry import DEREGISTER_CRITICAL_AFTER, ServiceInstance

# A lookup or registration that takes longer than this fails: the caller falls back.
REQUEST_TIMEOUT_SECONDS = 2.0


def consul_service_name(layer_name: str) -> str:
    """``l01_data`` -> ``l01-data`` (also its DNS name: ``l01-data.service.consul``)."""
    return layer_name.replace("_", "-")


def registration_payload(instance: ServiceInstance) -> dict[str, Any]:
    """The keyword arguments of ``agent.service.register`` for an instance (also what the
    definitions in ``consul/services/`` hold, for the same layer and address)."""
    return {
        "name": consul_service_name(instance.name),
        "service_id": instance.instance_id,
        "address": instance.host,
        "port": instance.port,
        "tags": ["agentic", "grpc"],
        "meta": {
            "layer": instance.name,
            "pid": str(instance.pid),
            "registered_at": f"{instance.registered_at:.6f}",
        },
        "check": consul.Check.grpc(
            instance.address,
            instance.health_check["interval"],
            timeout="2s",
            deregister=DEREGISTER_CRITICAL_AFTER,
        ),
    }


class ConsulRegistry:
    """Registers with, and resolves through, one Consul agent."""

    def __init__(self, client: consul.Consul) -> None:
        self._client = client

    @classmethod
    def at(cls, http_addr: str) -> ConsulRegistry:
        """The agent at ``CONSUL_HTTP_ADDR``'s form: ``host:port`` or ``scheme://host:port``
        (its ACL token from ``CONSUL_HTTP_TOKEN``, as every Consul tool reads it)."""
        url = urlparse(http_addr if "//" in http_addr else f"//{http_addr}")
        client = consul.Consul(
            host=url.hostname or "127.0.0.1", port=url.port or 8500, scheme=url.scheme or "http"
        )
        client.http.connections_timeout = REQUEST_TIMEOUT_SECONDS
        return cls(client)

    def register(self, instance: ServiceInstance) -> None:
        self._client.agent.service.register(**registration_payload(instance))

    def deregister(self, instance: ServiceInstance) -> None:
        self._client.agent.service.deregister(instance.instance_id)

    def instances(self, name: str) -> list[ServiceInstance]:
        """Passing instances first, then those whose check fails or has not run yet (a
        layer that just started is critical until its next check; its address is still
        better than none), each newest first."""
        _, entries = self._client.health.service(consul_service_name(name))
        found = [
            _instance(
                name,
                entry["Service"],
                passing=all(check.get("Status") == "passing" for check in entry.get("Checks", [])),
            )
            for entry in entries
        ]
        return sorted(found, key=lambda i: (not i.passing, -i.registered_at))


def _instance(name: str, service: dict[str, Any], passing: bool) -> ServiceInstance:
    meta = service.get("Meta") or {}
    return ServiceInstance(
        name=name,
        host=service["Address"],
        port=int(service["Port"]),
        pid=int(meta.get("pid", 0)),
        registered_at=float(meta.get("registered_at", 0.0)),
        passing=passing,
    )
