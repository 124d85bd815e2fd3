"""The kit's layer table is the one place that says which layers exist; what is derived from
it (launcher, gateway, channel targets, error catalogues, README) agrees with it."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from services.kit import layer_target
from services.kit.errors import ErrorCode
from services.kit.layers import LAYERS, launched_layers, layer_by_key, layer_for_package
from services.l09_gateway.descriptor import load as load_surface
from services.l09_gateway.render.layers import layer_for
from services.launcher.components import ComponentSet, installed_layers
from services.launcher.config import LauncherSettings

pytestmark = [pytest.mark.unit, pytest.mark.kit]

ROOT = Path(__file__).resolve().parents[2]


def test_every_layer_has_a_distinct_number_port_package_and_name() -> None:
    for attribute in ("number", "port", "package", "name"):
        values = [getattr(layer, attribute) for layer in LAYERS]
        assert len(set(values)) == len(values) == 15, attribute
    assert [layer.number for layer in LAYERS] == list(range(15))


def test_lookups_by_key_name_and_package() -> None:
    assert layer_by_key("l04").name == "l04_models"
    assert layer_by_key("L13_roles").package == "agentic.roles.v1"
    assert layer_for_package("agentic.data.v1").port == 8001
    with pytest.raises(KeyError, match=r"services/kit/layers\.py"):
        layer_for_package("agentic.nothing.v1")


def test_error_ranges_follow_the_layer_number() -> None:
    assert layer_by_key("l00").error_range == range(0, 1000)
    assert layer_by_key("l01").error_range == range(1000, 2000)
    assert layer_by_key("l14").error_range == range(14000, 15000)


def test_channel_targets_default_to_the_table_and_follow_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("AGENTIC_L13_TARGET", raising=False)
    assert layer_target("l13") == "127.0.0.1:8013"
    monkeypatch.setenv("AGENTIC_L13_TARGET", "10.0.0.5:9")
    assert layer_target("l13_roles") == "10.0.0.5:9"


def test_the_launcher_has_a_port_setting_for_every_launched_layer(monkeypatch) -> None:
    monkeypatch.setenv("AGENTIC_L04_PORT", "18004")
    settings = LauncherSettings()
    for layer in launched_layers():
        assert layer.port_setting in settings.ports()
    assert settings.layer_port("l04") == 18004
    assert {layer.name for layer in installed_layers()} <= {row.name for row in launched_layers()}


def test_the_gateway_routes_every_package_in_the_descriptor_by_the_table() -> None:
    surface = load_surface(ROOT / "gen" / "descriptor.binpb")
    for package in surface.packages:
        row = layer_for_package(package)
        upstream = layer_for(package)
        assert upstream.timeout.total_seconds() == row.timeout_seconds
        if row.number != 9:
            assert (upstream.name, upstream.ports) == (row.name, row.process_ports)


@pytest.mark.parametrize("layer", [row for row in LAYERS if row.launched], ids=lambda r: r.name)
def test_a_launched_layer_keeps_its_codes_and_domain_in_its_range(layer) -> None:
    errors = importlib.import_module(f"{layer.module}.errors")
    assert errors.CATALOG.layer is layer
    assert errors.DOMAIN == layer.domain
    codes = [v for v in vars(errors).values() if isinstance(v, ErrorCode)]
    assert len(codes) > 3
    for code in codes:
        assert code in errors.CATALOG.codes, code  # made by the catalog, so checked by it
        assert int(code.code[1:]) in layer.error_range, code


def _readme_layer_rows() -> dict[str, tuple[int, str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for match in re.finditer(r"^\| (L\d\d) ([^|]+?) \| (\d+) \| (.+?) \|$", section, re.M):
        rows[match[1]] = (int(match[3]), match[4])
    return rows


def test_the_readme_layer_table_matches_the_kit() -> None:
    rows = _readme_layer_rows()
    assert sorted(rows) == [f"L{layer.number:02d}" for layer in LAYERS]
    for layer in LAYERS:
        port, state = rows[f"L{layer.number:02d}"]
        assert port == layer.port
        if layer.launched or layer.number == 9:
            assert state.startswith("**working**"), layer.name
        else:
            assert state == "not started", layer.name


def test_a_layer_of_several_processes_has_a_port_and_a_component_for_each(
    tmp_path, monkeypatch
) -> None:
    l04 = layer_by_key("l04")
    assert l04.process_ports == (8004, 8204)
    monkeypatch.setenv("AGENTIC_L04_PROCESS1_PORT", "18204")
    settings = LauncherSettings(
        home=tmp_path, database_url="postgresql://db/x", redis_url="redis://r:1/0"
    )
    assert settings.layer_ports(l04) == (8004, 18204)
    mesh = ComponentSet(settings, layers=[l04])
    first, second = mesh.by_name("l04_models"), mesh.by_name("l04_models.1")
    assert (first.ports, second.ports) == ({"gRPC": 8004}, {"gRPC": 18204})
    assert second.program.environment["L04_PORT"] == "18204"
    # Every process is an endpoint of Envoy's cluster and of the layer's channel target,
    # and the gateway checks each one's health.
    assert mesh.envoy_cluster_ports()["l04_models"] == (8004, 18204)
    # Not as a target (which would win over the registry): as the ports the kit falls back on.
    environment = first.program.environment
    assert (environment["AGENTIC_L04_PORT"], environment["AGENTIC_L04_PROCESS1_PORT"]) == (
        "8004",
        "18204",
    )
    assert not {name for name in environment if name.startswith("AGENTIC_L04_TARGET")}
    for name, value in environment.items():
        if name.startswith("AGENTIC_L0") and name.endswith("PORT"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("AGENTIC_L04_TARGET", raising=False)
    monkeypatch.delenv("AGENTIC_HOME", raising=False)
    monkeypatch.delenv("CONSUL_HTTP_ADDR", raising=False)
    assert layer_target("l04") == "ipv4:127.0.0.1:8004,127.0.0.1:18204"
    layers = mesh.by_name("l09_gateway").program.environment["L09_LAYERS"]
    assert layers == "l04_models=127.0.0.1:8004,l04_models.1=127.0.0.1:18204"
