"""One-shot readiness probes: each returns None when ready, else why not."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.launcher.ports import LOOPBACK

Probe = Callable[[], str | None]


def pg_isready(bin_dir: Path, port: int, user: str) -> str | None:
    result = subprocess.run(
        [
            str(bin_dir / "pg_isready"),
            "--quiet",
            f"--host={LOOPBACK}",
            f"--port={port}",
            f"--username={user}",
            "--dbname=postgres",
            "--timeout=1",
        ],
        check=False,
        capture_output=True,
    )
    return None if result.returncode == 0 else f"pg_isready exit code {result.returncode}"


def redis_ping(port: int) -> str | None:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError as error:
        return f"no connection ({error.strerror or error})"
    return None if reply.startswith(b"+PONG") else f"PING answered {reply!r}"


def grpc_serving(port: int, timeout: float = 0.5) -> str | None:
    with grpc.insecure_channel(f"{LOOPBACK}:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError as error:
            return f"grpc.health: {error.code().name}"  # type: ignore[attr-defined]
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return None if status == "SERVING" else f"grpc.health: {status}"


def http_status(url: str, expect: int | None = 200, timeout: float = 1.0) -> str | None:
    """None if ``url`` answers (with ``expect`` unless that is None)."""
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as error:
        return f"GET {url}: {type(error).__name__}"
    if expect is not None and response.status_code != expect:
        return f"GET {url}: {response.status_code} {response.text.strip()[:300]}"
    return None


def envoy_filters_configured(admin_port: int, filters: list[str]) -> str | None:
    """None once Envoy has loaded a configuration for each discovered (ECDS) filter: until
    then it answers with the filters' defaults (which, for the JWT filters, refuse JWTs)."""
    url = f"http://{LOOPBACK}:{admin_port}/stats"
    try:
        response = httpx.get(
            url, params={"filter": r"^extension_config_discovery\..*\.config_reload$"}, timeout=1.0
        )
    except httpx.HTTPError as error:
        return f"GET {url}: {type(error).__name__}"
    loaded = {}
    for line in response.text.splitlines():
        name, _, count = line.rpartition(": ")
        loaded[name] = int(count) if count.isdigit() else 0
    for name in filters:
        if loaded.get(f"extension_config_discovery.http_filter.{name}.config_reload", 0) < 1:
            return f"Envoy has no configuration for {name} yet (served by l09_gateway)"
    return None


def all_of(*probes: Probe) -> Probe:
    """Ready when every probe is, checked in order."""

    def probe() -> str | None:
        for check in probes:
            reason = check()
            if reason is not None:
                return reason
        return None

    return probe
