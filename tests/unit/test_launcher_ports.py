"""The ports a mesh of its own is given."""

from __future__ import annotations

import socket
from pathlib import Path

from services.launcher.config import LauncherSettings
from services.launcher.ports import LOOPBACK, free_ports, port_is_free


def test_free_ports_are_all_different_and_bindable() -> None:
    ports = free_ports(40)
    assert len(set(ports)) == 40
    assert all(port_is_free(port) for port in ports)


def test_a_mesh_on_free_ports_never_gives_two_components_one_port(tmp_path: Path) -> None:
    # Each pick closed its socket before the next once, and the OS handed a port out twice.
    for _ in range(20):
        settings = LauncherSettings.on_free_ports(tmp_path)
        ports = [
            getattr(settings, name)
            for name in type(settings).model_fields
            if name.endswith("_port")
        ]
        assert len(set(ports)) == len(ports)


def test_a_port_in_use_is_not_free() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen()
        assert not port_is_free(sock.getsockname()[1])
