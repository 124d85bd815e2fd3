"""Discovery on the session's real mesh: every launched layer registers in the home's local
registry (no Consul here) where the launcher started it, leaves it when stopped, and the
channel factory finds the layers through it: in a process given no targets, and in the
mesh's own layers, which the launcher gives ports to fall back on but no targets."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from agentic.tools.v1 import tools_pb2 as tools_pb
from agentic.tools.v1 import tools_pb2_grpc as tools_grpc
from services.kit import open_channel
from services.kit.layers import layer_by_key
from services.launcher import probes
from services.launcher.components import installed_layers, process_name
from services.launcher.discovery import registered_instances
from services.launcher.ports import free_port
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN, ROOT, agentic, platform_code, struct

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


def _environment_of(pid: int) -> dict[str, str]:
    """The environment a running process was started with."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode()
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def _resolve(environment: dict[str, str], layer: str) -> str:
    """``layer_target(layer)`` in a new process with ``environment``."""
    code = f"from services.kit import layer_target; print(layer_target({layer!r}))"
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _run_sensitive_tool(mesh: RunningMesh) -> str:
    """Runs ``echo`` as the sensitive ``shell`` tool through the gateway: "ran", or the
    platform code of the refusal (L08's ruling, or E3017 when L03 could not reach L08)."""

    async def execute() -> str:
        async with open_channel(mesh.gateway_target, token=DEV_TOKEN) as channel:
            request = tools_pb.ExecuteRequest(
                name="tools/shell",
                arguments=struct({"argv": ["echo", "moved"]}),
                workspace=f"ws-moved-{os.getpid()}",
            )
            try:
                await tools_grpc.ToolServiceStub(channel).Execute(request, timeout=30)
            except grpc.aio.AioRpcError as error:
                return platform_code(error)
            return "ran"

    return asyncio.run(execute())


def _once_l03_reaches_l08(mesh: RunningMesh) -> str:
    """``_run_sensitive_tool`` again until L03 reaches L08 (at most 30 s)."""
    deadline = time.monotonic() + 30
    answer = _run_sensitive_tool(mesh)
    while answer == "E3017" and time.monotonic() < deadline:
        time.sleep(0.5)
        answer = _run_sensitive_tool(mesh)
    return answer


def test_a_layer_that_moved_is_found_with_the_environment_the_launcher_gives(
    mesh: RunningMesh, tmp_path: Path
) -> None:
    pids = {s.name: s.pid for s in mesh.mesh.status()}
    # Exactly what a layer of the mesh was started with: ports, and no targets but Envoy's
    # (a target would win over the registry).
    roles_env = _environment_of(pids[layer_by_key("l13").name])
    targets = {k for k in roles_env if k.startswith("AGENTIC_L") and k.endswith("_TARGET")}
    assert targets == {"AGENTIC_L09_TARGET"}
    launched = f"127.0.0.1:{mesh.settings.layer_port(SUPERVISION)}"
    assert _resolve(roles_env, "l08") == launched

    # L08 started by hand on another port, as the launcher would start it.
    port = free_port()
    moved = f"127.0.0.1:{port}"
    supervision_env = {**_environment_of(pids[SUPERVISION.name]), "L08_PORT": str(port)}
    with (tmp_path / "l08.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", SUPERVISION.module],
            cwd=ROOT,
            env=supervision_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while probes.grpc_serving(port) is not None:
            assert process.poll() is None, (tmp_path / "l08.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the second L08 did not serve"
            time.sleep(0.2)
        # Both serve: the newest first, calls going round both.
        resolved = _resolve(roles_env, "l08")
        assert resolved == f"ipv4:{moved},{launched}"
        mesh.mesh.stop_component(SUPERVISION.name)
        try:
            # The launcher's instance gone: the layer is found where it moved, not at the port
            # the launcher gave it.
            assert _resolve(roles_env, "l08") == moved
            # And by a layer already running: L03's channel to L08, opened at its start, looks
            # L08 up again (every 5 s) and asks the moved one about a sensitive tool. E3017 is
            # L03's answer while L08 cannot be reached.
            assert _once_l03_reaches_l08(mesh) != "E3017"
        finally:
            mesh.mesh.start_component(SUPERVISION.name, 120)
    finally:
        process.terminate()
        process.wait(30)
    assert _resolve(roles_env, "l08") == launched
    # Back where the launcher started it, and found there by L03 again.
    assert _once_l03_reaches_l08(mesh) != "E3017"
