"""Discovery on the session's real mesh: every launched layer registers in the home's local
registry (no Consul here) where the launcher started it, leaves it when stopped, and the
channel factory of a process given no targets finds the layers through it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from services.kit.layers import layer_by_key
from services.launcher.components import installed_layers, process_name
from services.launcher.discovery import registered_instances
from tests.conftest import RunningMesh
from tests.support import agentic

pytestmark = [pytest.mark.integration, pytest.mark.launcher]

SUPERVISION = layer_by_key("l08")


def _entries(mesh: RunningMesh, layer: str) -> list[dict[str, object]]:
    directory = mesh.settings.registry_dir / layer
    return [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]


def test_every_launched_layer_registered_where_it_serves(mesh: RunningMesh) -> None:
    pids = {s.name: s.pid for s in mesh.mesh.status()}
    for layer in installed_layers():
        # One entry per process of the layer (L04 runs several), each where it serves.
        by_port = {entry["port"]: entry for entry in _entries(mesh, layer.name)}
        ports = mesh.settings.layer_ports(layer)
        assert sorted(by_port) == sorted(ports), layer.name
        for n, port in enumerate(ports):
            entry = by_port[port]
            assert entry["host"] == "127.0.0.1"
            assert entry["pid"] == pids[process_name(layer, n)], layer.name
            assert entry["check"] == {"grpc": f"127.0.0.1:{port}", "interval": "10s"}


def test_agentic_services_reports_each_registered_layer_serving(mesh: RunningMesh) -> None:
    rows = registered_instances(mesh.settings)
    assert {row.layer for row in rows} == {layer.name for layer in installed_layers()}
    assert all(row.health == "SERVING" for row in rows), rows


async def test_the_agentic_services_command_prints_the_registry(mesh: RunningMesh) -> None:
    result = await agentic(mesh, "services")
    assert result.returncode == 0, result.stderr
    assert str(mesh.settings.registry_dir) in result.stdout
    for layer in installed_layers():
        port = mesh.settings.layer_port(layer)
        assert f"127.0.0.1:{port}" in result.stdout, layer.name
    assert "not registered" not in result.stdout


def test_a_process_without_targets_resolves_the_mesh_through_the_registry(
    mesh: RunningMesh,
) -> None:
    # Another process, as a tool started by hand would be: only AGENTIC_HOME, no
    # AGENTIC_LNN_TARGET. The test mesh's ports are not the defaults, so only the registry
    # can give them.
    env = {"AGENTIC_HOME": str(mesh.settings.home), "PATH": "/usr/bin:/bin"}
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    code = "from services.kit import layer_target; print(layer_target('l01'), layer_target('l13'))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [
        f"127.0.0.1:{mesh.settings.layer_port('l01')}",
        f"127.0.0.1:{mesh.settings.layer_port('l13')}",
    ]
    assert mesh.settings.layer_port("l01") != layer_by_key("l01").port


async def test_a_stopped_layer_deregisters_and_registers_again_when_started(
    mesh: RunningMesh,
) -> None:
    [before] = _entries(mesh, SUPERVISION.name)
    await asyncio.to_thread(mesh.mesh.stop_component, SUPERVISION.name)
    try:
        assert _entries(mesh, SUPERVISION.name) == []
    finally:
        await asyncio.to_thread(mesh.mesh.start_component, SUPERVISION.name, 120)
    [after] = _entries(mesh, SUPERVISION.name)
    assert after["port"] == before["port"]
    assert after["pid"] != before["pid"]
