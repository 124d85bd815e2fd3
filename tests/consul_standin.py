"""A stand-in for a Consul agent's HTTP API, for the registry's Consul path.

No Consul agent installs from the package registries this project can reach, and HashiCorp's
`@hashicorp/consul-api-double` (npm) only serves canned, generated GET responses for UI
development: it keeps no registrations, so it cannot answer what a registration changed.
This stand-in keeps them, and speaks the part of the agent API the registry uses, as Consul
documents it (https://developer.hashicorp.com/consul/api-docs/agent/service, .../health):

- ``PUT /v1/agent/service/register``: a service definition (keys matched without regard to
  case, as Consul's decoder does); ``Name`` required; ``Check``/``Checks`` with ``GRPC`` and
  ``Interval`` (a check without an interval is refused, as Consul refuses it);
- ``PUT /v1/agent/service/deregister/<id>``: 404 "Unknown service ID" for an unknown id;
- ``GET /v1/agent/services``: the registered services by id;
- ``GET /v1/health/service/<name>[?passing=1]``: nodes with their service and checks. Consul
  runs the checks on their interval; the stand-in runs each gRPC check (``grpc.health.v1``
  Check, the overall status when the target names no service) when asked, so the answer is
  what Consul would say right after a check ran.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

NODE = {"ID": "standin-node", "Node": "standin", "Address": "127.0.0.1", "Datacenter": "dc1"}


def _lower_keys(value: Any) -> Any:
    """Consul's JSON decoding ignores the case of field names; compare them in lower case."""
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def grpc_check_status(target: str) -> str:
    """Runs a gRPC health check as Consul does: ``host:port[/service]``."""
    address, _, service = target.partition("/")
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=2
            )
        except grpc.RpcError:
            return "critical"
    return "passing" if reply.status == health_pb2.HealthCheckResponse.SERVING else "critical"


@dataclass
class ConsulStandIn:
    """The agent's registrations; ``requests`` records every call (method, path, body)."""

    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, body: Any) -> tuple[int, str]:
        definition = _lower_keys(body)
        if not isinstance(definition, dict) or not definition.get("name"):
            return 400, "Missing service name"
        checks = definition.get("checks") or (
            [definition["check"]] if "check" in definition else []
        )
        for check in checks:
            if "grpc" in check and not check.get("interval"):
                return 400, "Interval must be > 0 for GRPC checks"
        service_id = definition.get("id") or definition["name"]
        with self.lock:
            self.services[service_id] = {**definition, "checks": checks}
        return 200, ""

    def deregister(self, service_id: str) -> tuple[int, str]:
        with self.lock:
            if self.services.pop(service_id, None) is None:
                return 404, f'Unknown service ID "{service_id}"'

        return 200, ""

    def agent_services(self) -> dict[str, Any]:
        with self.lock:
            return {sid: _service_json(sid, d) for sid, d in self.services.items()}

    def health(self, name: str, passing_only: bool) -> list[dict[str, Any]]:
        with self.lock:
            matching = [(sid, d) for sid, d in self.services.items() if d["name"] == name]
        entries = []
        for service_id, definition in matching:
            checks = [
                {
                    "CheckID": f"service:{service_id}",
                    "ServiceID": service_id,
                    "Type": "grpc",
                    "Status": grpc_check_status(check["grpc"]),
                }
                for check in definition["checks"]
                if "grpc" in check
            ]
            if passing_only and any(c["Status"] != "passing" for c in checks):
                continue
            entries.append(
                {"Node": NODE, "Service": _service_json(service_id, definition), "Checks": checks}
            )
        return entries


def _service_json(service_id: str, definition: dict[str, Any]) -> dict[str, Any]:
    return {
        "ID": service_id,
        "Service": definition["name"],
        "Address": definition.get("address", ""),
        "Port": definition.get("port", 0),
        "Tags": definition.get("tags", []),
        # Consul keeps Meta's keys as given (only field names are case-insensitive).
        "Meta": definition.get("meta", {}),
    }


def _handler(state: ConsulStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _reply(self, status: int, body: Any) -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Consul-Index", "1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                self._reply(400, "Request decode failed")
                return
            state.requests.append(("PUT", url.path, body))
            if url.path == "/v1/agent/service/register":
                status, text = state.register(body)
            elif url.path.startswith("/v1/agent/service/deregister/"):
                status, text = state.deregister(url.path.rsplit("/", 1)[1])
            else:
                status, text = 404, "not found"
            self._reply(status, text)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            state.requests.append(("GET", url.path, None))
            if url.path == "/v1/agent/services":
                self._reply(200, state.agent_services())
            elif url.path.startswith("/v1/health/service/"):
                passing = "passing" in parse_qs(url.query, keep_blank_values=True)
                self._reply(200, state.health(url.path.rsplit("/", 1)[1], passing))
            else:
                self._reply(404, "not found")

    return Handler


@contextmanager
def consul_standin() -> Iterator[tuple[str, ConsulStandIn]]:
    """Serves the stand-in on a free loopback port: yields (``host:port``, its state)."""
    state = ConsulStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
