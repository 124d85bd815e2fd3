"""``python -m services.launcher.healthcheck grpc HOST:PORT | http URL``: exit 0 when the
server is ready, 1 with the reason otherwise (the containers' health checks)."""

from __future__ import annotations

import sys

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc


def grpc_serving(address: str, timeout: float = 2.0) -> str | None:
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError as error:
            return f"grpc.health: {error.code().name}"  # type: ignore[attr-defined]
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        return f"grpc.health: {health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}"
    return None


def http_ok(url: str, timeout: float = 2.0) -> str | None:
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as error:
        return f"{url}: {error}"
    return None if response.status_code == 200 else f"{url}: HTTP {response.status_code}"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("grpc", "http"):
        print("usage: healthcheck grpc HOST:PORT | http URL", file=sys.stderr)
        return 2
    kind, target = argv
    reason = grpc_serving(target) if kind == "grpc" else http_ok(target)
    if reason:
        print(reason, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
