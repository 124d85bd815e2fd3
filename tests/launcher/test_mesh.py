"""The launcher against the session's real mesh, and the checks it makes before starting."""

import socket
from pathlib import Path

import pytest

from services.kit.layers import launched_layers
from services.launcher import LauncherSettings, Mesh, PortTaken
from services.launcher.components import process_name
from tests.conftest import RunningMesh

pytestmark = [pytest.mark.integration, pytest.mark.launcher]


def test_every_component_runs(mesh: RunningMesh) -> None:
    statuses = mesh.mesh.status()
    # Every process of every layer of the table the launcher starts, in order, between the
    # stores and the gateway.
    layers = [process_name(layer, n) for layer in launched_layers() for n in range(layer.processes)]
    assert [s.name for s in statuses] == [
        "postgres",
        "redis",
        "temporal",
        *layers,
        "l09_gateway",
        "envoy",
    ]
    assert all(s.running and s.pid for s in statuses), statuses


def test_up_again_leaves_running_components_alone(mesh: RunningMesh) -> None:
    before = {s.name: s.pid for s in mesh.mesh.status()}
    after = {s.name: s.pid for s in mesh.mesh.up(timeout=30)}
    assert after == before


def test_logs_are_files_in_the_home(mesh: RunningMesh) -> None:
    assert "ready to accept connections" in mesh.mesh.log_tail("postgres", 50)
    assert mesh.mesh.log_file("envoy").parent == mesh.settings.home / "logs"


def test_a_taken_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        settings = LauncherSettings.on_free_ports(tmp_path / "mesh", redis_port=taken)
        mesh = Mesh(settings, fsync=False)
        with pytest.raises(PortTaken, match=f"redis: port {taken}"):
            mesh.up(timeout=30)
    assert not mesh.is_running()
    assert mesh.down() is False
