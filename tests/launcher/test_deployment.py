"""compose.yml, the Dockerfile and consul/: generated from the layer table, valid for the tools
that read them, and in step with what the launcher starts.

No Docker engine or Consul agent runs here, so compose.yml is checked against the Compose
Specification's JSON Schema (``tests/data/compose-spec.schema.json``, the schema the
`dclint` linter ships), Envoy's config with Envoy's own ``--mode validate``, and Consul's
service definitions against what a layer registers through the HTTP API.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from services.kit.consul_registry import registration_payload
from services.kit.registry import ServiceInstance
from services.launcher import deployment, envoy_config
from services.launcher.components import (
    ENVOY_TEMPLATE,
    PROJECT_ROOT,
    ComponentSet,
    installed_layers,
)
from services.launcher.config import LauncherSettings
from tests.support import envoy_validation

pytestmark = [pytest.mark.unit, pytest.mark.launcher]

SCHEMA = json.loads((PROJECT_ROOT / "tests" / "data" / "compose-spec.schema.json").read_text())
COMPOSE: dict[str, Any] = yaml.safe_load(deployment.COMPOSE_FILE.read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
# Besides the launcher's components: the Consul agent, and the service that builds the image.
COMPOSE_ONLY = {"consul", "agentic-image"}


def test_the_committed_files_are_what_the_renderer_writes() -> None:
    assert deployment.main(["--check"]) == 0


def test_compose_file_is_valid_by_the_compose_specification() -> None:
    jsonschema.Draft7Validator(SCHEMA).validate(COMPOSE)


def test_a_misspelt_compose_key_is_refused_by_the_schema() -> None:
    broken = json.loads(json.dumps(COMPOSE))
    broken["services"]["l01-data"]["healthchek"] = broken["services"]["l01-data"]["healthcheck"]
    with pytest.raises(jsonschema.ValidationError, match="healthchek"):
        jsonschema.Draft7Validator(SCHEMA).validate(broken)


def test_compose_runs_what_the_launcher_runs(tmp_path: Path) -> None:
    components = ComponentSet(LauncherSettings.on_free_ports(tmp_path)).components
    # The launcher's second process of a layer ("l04_models.1") is a replica of its service.
    launched = {deployment.host(c.name.split(".")[0]) for c in components}
    assert set(SERVICES) - COMPOSE_ONLY == launched


def test_a_layer_run_as_several_processes_is_one_service_with_as_many_replicas() -> None:
    for layer in installed_layers():
        replicas = SERVICES[deployment.host(layer.name)].get("deploy", {}).get("replicas", 1)
        assert replicas == layer.processes, layer.name


def test_every_long_running_service_has_a_health_check() -> None:
    for name, service in SERVICES.items():
        if name != "agentic-image":
            assert service["healthcheck"]["test"][0] == "CMD", name


def test_every_layer_starts_after_the_layers_its_code_calls() -> None:
    # L02, as its code: events, tools, models, its agents' role and skill texts.
    assert deployment.calls(installed_layers()[2]) == ["l01", "l03", "l04", "l13", "l14"]
    for layer in installed_layers():
        needs = set(SERVICES[deployment.host(layer.name)]["depends_on"])
        called = {deployment.host(other.name) for other in installed_layers()}
        called &= {
            deployment.host(o.name) for o in installed_layers() if o.key in deployment.calls(layer)
        }
        assert called <= needs, layer.name
        if layer.database:
            assert "postgres" in needs
        if layer.workflows:
            assert "temporal" in needs


def test_the_start_order_has_no_cycle_and_names_only_services_of_the_file() -> None:
    order: list[str] = []
    remaining = {n: set(s.get("depends_on", {})) for n, s in SERVICES.items()}
    while remaining:
        ready = sorted(n for n, deps in remaining.items() if deps <= set(order))
        assert ready, f"a cycle or an unknown service among {remaining}"
        order += ready
        for name in ready:
            del remaining[name]
    # Envoy waits for every layer and the L09 process: it routes to all of them.
    everything = {deployment.host(layer.name) for layer in installed_layers()}
    assert everything | {"l09-gateway", "consul"} <= set(SERVICES["envoy"]["depends_on"])


def test_layers_find_each_other_through_consul_not_fixed_targets() -> None:
    for layer in installed_layers():
        env = SERVICES[deployment.host(layer.name)]["environment"]
        assert env["CONSUL_HTTP_ADDR"] == "http://consul:8500"
        assert env["AGENTIC_ADVERTISE_HOST"] == deployment.host(layer.name)
        # Only the gateway (Envoy, which does not register) is given by address.
        targets = {k for k in env if k.startswith("AGENTIC_L") and k.endswith("_TARGET")}
        assert targets == {"AGENTIC_L09_TARGET"}, layer.name


def test_consul_definitions_match_what_each_layer_registers() -> None:
    for layer in installed_layers():
        path = deployment.CONSUL_DIR / "services" / f"{deployment.host(layer.name)}.json"
        definition = json.loads(path.read_text())["service"]
        # The layer in its container: bound to 0.0.0.0, advertised under its compose name.
        instance = ServiceInstance(layer.name, deployment.host(layer.name), layer.port)
        registered = registration_payload(instance)
        assert definition["id"] == registered["service_id"]
        assert definition["name"] == registered["name"]
        assert (definition["address"], definition["port"]) == (instance.host, layer.port)
        assert definition["check"]["grpc"] == registered["check"]["grpc"]


def test_envoy_config_for_consul_passes_envoys_own_validation(tmp_path: Path) -> None:
    committed = yaml.safe_load((deployment.CONSUL_DIR / "envoy.yaml").read_text())
    clusters = {c["name"]: c for c in committed["static_resources"]["clusters"]}
    l01 = clusters["l01_data"]
    assert l01["type"] == "STRICT_DNS"
    endpoint = l01["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert endpoint["address"]["socket_address"]["address"] == "l01-data.service.consul"
    resolver = l01["typed_dns_resolver_config"]["typed_config"]["resolvers"][0]
    assert resolver["socket_address"]["address"] == deployment.CONSUL_IP
    # The same rendering with this checkout's descriptor path, for Envoy to load here.
    local = tmp_path / "envoy.yaml"
    hosts = {name: (f"{name}.invalid", 8000) for name in clusters}
    local.write_text(
        envoy_config.render_dns(
            ENVOY_TEMPLATE,
            listen_host="0.0.0.0",
            cluster_hosts=hosts,
            dns_server=(deployment.CONSUL_IP, deployment.CONSUL_DNS_PORT),
            base_dir=PROJECT_ROOT,
        )
    )
    result = envoy_validation(local, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]


def test_dockerfile_is_multi_stage_and_copies_what_the_containers_run() -> None:
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    stages = [line.split()[-1] for line in text.splitlines() if line.startswith("FROM ")]
    assert stages == ["build", "runtime"]
    assert "COPY --from=build /opt/venv /opt/venv" in text
    for directory in ("gen", "services", "gateway", "consul"):
        assert f"COPY {directory} ./{directory}" in text
