"""Real layer processes, started by the launcher with ``CONSUL_HTTP_ADDR``, register with
Consul's agent API, pass the gRPC health check the agent runs, and deregister when stopped.

The agent is ``tests/consul_standin.py``, a stand-in speaking Consul's HTTP API: no Consul
agent installs from the registries this project can reach (the module says why HashiCorp's
own API double does not serve). A mesh of its own, with two layers, on free ports.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.kit.consul_registry import ConsulRegistry
from services.kit.layers import layer_by_key
from services.launcher.config import LauncherSettings
from services.launcher.discovery import registered_instances
from services.launcher.mesh import Mesh
from tests.consul_standin import ConsulStandIn, consul_standin

pytestmark = [pytest.mark.integration, pytest.mark.launcher, pytest.mark.slow]

LAYERS = [layer_by_key("l01"), layer_by_key("l08")]


@pytest.fixture(scope="module")
def consul_mesh(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Mesh, LauncherSettings, ConsulStandIn]]:
    with consul_standin() as (address, consul):
        settings = LauncherSettings.on_free_ports(
            tmp_path_factory.mktemp("consul-mesh"), consul_http_addr=f"http://{address}"
        )
        mesh = Mesh(settings, fsync=False, layers=LAYERS)
        try:
            mesh.up(timeout=180)
            yield mesh, settings, consul
        finally:
            mesh.down()


def test_each_layer_registers_with_consul_with_a_grpc_check(
    consul_mesh: tuple[Mesh, LauncherSettings, ConsulStandIn],
) -> None:
    _, settings, consul = consul_mesh
    by_name = {d["name"]: d for d in consul.services.values()}
    assert set(by_name) == {"l01-data", "l08-supervision"}
    for layer in LAYERS:
        definition = by_name[layer.name.replace("_", "-")]
        port = settings.layer_port(layer)
        assert (definition["address"], definition["port"]) == ("127.0.0.1", port)
        assert definition["checks"][0]["grpc"] == f"127.0.0.1:{port}"
    # Nothing in the home's local registry: Consul replaced it.
    assert not any(settings.registry_dir.rglob("*.json"))


def test_consul_answers_the_layers_as_passing(
    consul_mesh: tuple[Mesh, LauncherSettings, ConsulStandIn],
) -> None:
    _, settings, _ = consul_mesh
    assert settings.consul_http_addr is not None
    registry = ConsulRegistry.at(settings.consul_http_addr)
    [l01] = registry.instances("l01_data")
    assert l01.address == f"127.0.0.1:{settings.layer_port('l01')}"
    rows = {row.layer: row for row in registered_instances(settings)}
    assert rows["l08_supervision"].health == "SERVING"


def test_a_stopped_layer_leaves_consul_and_comes_back(
    consul_mesh: tuple[Mesh, LauncherSettings, ConsulStandIn],
) -> None:
    mesh, _, consul = consul_mesh
    mesh.stop_component("l08_supervision")
    try:
        names = {d["name"] for d in consul.services.values()}
        assert names == {"l01-data"}
        assert any(
            method == "PUT" and path.startswith("/v1/agent/service/deregister/l08_supervision-")
            for method, path, _ in consul.requests
        )
    finally:
        mesh.start_component("l08_supervision", timeout=120)
    assert {d["name"] for d in consul.services.values()} == {"l01-data", "l08-supervision"}


def test_the_settings_take_consul_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSUL_HTTP_ADDR", "http://consul.internal:8500")
    assert LauncherSettings(home=tmp_path).consul_http_addr == "http://consul.internal:8500"
