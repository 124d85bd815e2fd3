"""Discovery: a layer registers when its server starts, deregisters when it stops, and the
channel factory resolves it through the registry (env overrides first).

The Consul path runs against ``tests/consul_standin.py``, a stand-in speaking Consul's HTTP
agent API (no Consul agent installs here; the module says why HashiCorp's API double does
not serve). The servers are real grpc.aio servers on loopback.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.kit import GrpcServer, ServiceDefinition, ServiceSettings, layer_target
from services.kit.consul_registry import ConsulRegistry, consul_service_name
from services.kit.errors import ErrorCatalog
from services.kit.layers import layer_by_key
from services.kit.registry import LocalRegistry, ServiceInstance, registry_from_env
from tests.consul_standin import consul_standin

pytestmark = [pytest.mark.unit, pytest.mark.kit]

ROLES = layer_by_key("l13")


def _definition() -> ServiceDefinition:
    return ServiceDefinition(
        layer=ROLES.name,
        errors=ErrorCatalog(ROLES),
        service_names=[],
        registrars=[],
    )


@pytest.fixture
def no_discovery_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CONSUL_HTTP_ADDR", "AGENTIC_HOME", "AGENTIC_ADVERTISE_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(f"AGENTIC_{ROLES.env_prefix}_TARGET", raising=False)
    monkeypatch.delenv(f"AGENTIC_{ROLES.port_setting.upper()}", raising=False)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_local_registry_keeps_live_instances_newest_first(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path)
    older = ServiceInstance(ROLES.name, "127.0.0.1", 9001, os.getpid(), registered_at=1.0)
    newer = ServiceInstance(ROLES.name, "127.0.0.1", 9002, os.getpid(), registered_at=2.0)
    registry.register(older)
    registry.register(newer)
    assert [i.port for i in registry.instances(ROLES.name)] == [9002, 9001]
    registry.deregister(newer)
    assert registry.instances(ROLES.name) == [older]
    assert registry.instances("l01_data") == []


def test_local_registry_skips_an_instance_whose_process_is_gone(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path)
    registry.register(ServiceInstance(ROLES.name, "127.0.0.1", 9003, _dead_pid(), 5.0))
    assert registry.instances(ROLES.name) == []


def test_local_registry_ignores_a_malformed_entry(tmp_path: Path) -> None:
    (tmp_path / ROLES.name).mkdir()
    (tmp_path / ROLES.name / "broken.json").write_text("{not json")
    (tmp_path / ROLES.name / "partial.json").write_text(json.dumps({"name": ROLES.name}))
    assert LocalRegistry(tmp_path).instances(ROLES.name) == []


async def test_server_registers_on_start_and_deregisters_on_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_discovery_env: None
) -> None:
    monkeypatch.setenv("AGENTIC_HOME", str(tmp_path))
    settings = ServiceSettings(host="127.0.0.1", port=0)
    async with GrpcServer(_definition(), settings) as server:
        entries = list((tmp_path / "registry" / ROLES.name).glob("*.json"))
        assert len(entries) == 1
        entry = json.loads(entries[0].read_text())
        assert (entry["host"], entry["port"], entry["pid"]) == (
            "127.0.0.1",
            server.port,
            os.getpid(),
        )
        assert entry["check"]["grpc"] == f"127.0.0.1:{server.port}"
        # No AGENTIC_L13_TARGET: the channel factory finds it where it registered.
        assert layer_target("l13") == f"127.0.0.1:{server.port}"
    assert list((tmp_path / "registry" / ROLES.name).glob("*.json")) == []
    assert layer_target("l13") == f"127.0.0.1:{ROLES.port}"


async def test_env_target_wins_over_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_discovery_env: None
) -> None:
    monkeypatch.setenv("AGENTIC_HOME", str(tmp_path))
    async with GrpcServer(_definition(), ServiceSettings(host="127.0.0.1", port=0)):
        monkeypatch.setenv("AGENTIC_L13_TARGET", "10.0.0.7:9999")
        assert layer_target("l13") == "10.0.0.7:9999"


def test_without_a_registry_the_default_port_is_used(no_discovery_env: None) -> None:
    assert registry_from_env() is None
    assert layer_target("l13_roles") == f"127.0.0.1:{ROLES.port}"


def test_unregistered_the_port_the_launcher_gives_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_discovery_env: None
) -> None:
    # As in a process the launcher starts: the mesh's ports, a registry nobody is in yet.
    monkeypatch.setenv("AGENTIC_HOME", str(tmp_path))
    monkeypatch.setenv("AGENTIC_L13_PORT", "18013")
    assert layer_target("l13") == "127.0.0.1:18013"
    monkeypatch.setenv("AGENTIC_L04_PORT", "18004")
    monkeypatch.setenv("AGENTIC_L04_PROCESS1_PORT", "18204")
    monkeypatch.delenv("AGENTIC_L04_TARGET", raising=False)
    assert layer_target("l04") == "ipv4:127.0.0.1:18004,127.0.0.1:18204"


@pytest.mark.parametrize("value", ["eighty", "0", "70000", "-1", "8013 "])
def test_a_port_setting_that_is_no_port_is_named(
    value: str, monkeypatch: pytest.MonkeyPatch, no_discovery_env: None
) -> None:
    monkeypatch.setenv("AGENTIC_L13_PORT", value)
    with pytest.raises(ValueError, match="AGENTIC_L13_PORT"):
        layer_target("l13")


async def test_the_registry_wins_over_the_ports_and_lists_every_live_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_discovery_env: None
) -> None:
    # A layer that moved: registered elsewhere than the port the launcher gave it.
    monkeypatch.setenv("AGENTIC_HOME", str(tmp_path))
    monkeypatch.setenv("AGENTIC_L13_PORT", "18013")
    first = GrpcServer(_definition(), ServiceSettings(host="127.0.0.1", port=0))
    async with first:
        assert layer_target("l13") == f"127.0.0.1:{first.port}"
        second = GrpcServer(_definition(), ServiceSettings(host="127.0.0.1", port=0))
        async with second:
            assert layer_target("l13") == f"ipv4:127.0.0.1:{second.port},127.0.0.1:{first.port}"
        assert layer_target("l13") == f"127.0.0.1:{first.port}"
    assert layer_target("l13") == "127.0.0.1:18013"


async def test_server_bound_to_every_interface_advertises_the_given_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_discovery_env: None
) -> None:
    monkeypatch.setenv("AGENTIC_HOME", str(tmp_path))
    monkeypatch.setenv("AGENTIC_ADVERTISE_HOST", "roles.internal")
    async with GrpcServer(_definition(), ServiceSettings(host="0.0.0.0", port=0)) as server:
        assert layer_target("l13") == f"roles.internal:{server.port}"


async def test_consul_registration_carries_a_grpc_check_and_is_removed_on_stop(
    monkeypatch: pytest.MonkeyPatch, no_discovery_env: None
) -> None:
    with consul_standin() as (address, consul):
        monkeypatch.setenv("CONSUL_HTTP_ADDR", f"http://{address}")
        assert isinstance(registry_from_env(), ConsulRegistry)
        async with GrpcServer(_definition(), ServiceSettings(host="127.0.0.1", port=0)) as server:
            [(service_id, definition)] = consul.services.items()
            assert definition["name"] == consul_service_name(ROLES.name) == "l13-roles"
            assert (definition["address"], definition["port"]) == ("127.0.0.1", server.port)
            [check] = definition["checks"]
            assert check["grpc"] == f"127.0.0.1:{server.port}"
            assert check["interval"] and check["deregistercriticalserviceafter"]
            # Consul answers it as passing (its gRPC check reaches the server's health). The
            # lookup blocks, and this loop serves the health check: so from a thread.
            target = await asyncio.to_thread(layer_target, "l13")
            assert target == f"127.0.0.1:{server.port}"
        assert consul.services == {}
        assert ("PUT", f"/v1/agent/service/deregister/{service_id}", None) in consul.requests
        assert layer_target("l13") == f"127.0.0.1:{ROLES.port}"


async def test_consul_lookup_prefers_an_instance_passing_its_grpc_check(
    monkeypatch: pytest.MonkeyPatch, no_discovery_env: None
) -> None:
    with consul_standin() as (address, _):
        monkeypatch.setenv("CONSUL_HTTP_ADDR", address)
        registry = registry_from_env()
        assert registry is not None
        first = GrpcServer(_definition(), ServiceSettings(host="127.0.0.1", port=0))
        second = GrpcServer(_definition(), ServiceSettings(host="127.0.0.1", port=0))
        async with first, second:
            found = await asyncio.to_thread(registry.instances, ROLES.name)
            assert [i.port for i in found] == [second.port, first.port]  # newest first
            # Both passing: one target over both, which open_channel goes round.
            target = await asyncio.to_thread(layer_target, "l13")
            assert target == f"ipv4:127.0.0.1:{second.port},127.0.0.1:{first.port}"
            await second.set_serving(False)
            found = await asyncio.to_thread(registry.instances, ROLES.name)
            assert [i.port for i in found] == [first.port, second.port]
            target = await asyncio.to_thread(layer_target, "l13")
            assert target == f"127.0.0.1:{first.port}"
            # None passing: the registered address still beats the default port.
            await first.set_serving(False)
            target = await asyncio.to_thread(layer_target, "l13")
            assert target == f"127.0.0.1:{second.port}"


async def test_an_unreachable_consul_neither_stops_a_layer_nor_a_caller(
    monkeypatch: pytest.MonkeyPatch, no_discovery_env: None
) -> None:
    with consul_standin() as (address, _):
        pass  # now closed: nothing listens there
    monkeypatch.setenv("CONSUL_HTTP_ADDR", address)
    async with GrpcServer(_definition(), ServiceSettings(host="127.0.0.1", port=0)) as server:
        assert server.instance is None  # not registered, but serving
        assert layer_target("l13") == f"127.0.0.1:{ROLES.port}"


async def test_a_started_server_runs_numpy_on_one_blas_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_discovery_env: None
) -> None:
    # Two threads spin on a busy machine for products of a few thousand vectors.
    import numpy  # noqa: F401  (a layer that scores loads it before it serves)
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(limits=2, user_api="blas")
    monkeypatch.setenv("AGENTIC_HOME", str(tmp_path))
    async with GrpcServer(_definition(), ServiceSettings(host="127.0.0.1", port=0)):
        blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert blas and all(pool["num_threads"] == 1 for pool in blas)
