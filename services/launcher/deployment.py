"""The containerised mesh, derived from the same layer table as the launcher's.

``python -m services.launcher.deployment`` writes (``--check``: compares, for CI):

- ``compose.yml``: one image for every layer (the ``Dockerfile``), PostgreSQL with pgvector,
  Redis, Consul, Temporal (the image's dev server, as the launcher runs it), the L09 process
  and Envoy; each with a health check, started in dependency order, configured by
  environment;
- ``consul/services/*.json``: a definition per launched layer, with its gRPC health check;
  each layer registers itself under the same id when it starts, so the definition is what
  Consul knows (critical until the layer answers) before then;
- ``consul/envoy.yaml``: the gateway's config with every cluster resolved by name through
  Consul's DNS, which answers passing instances only.

Containers reach each other by their compose service names, the layers' DNS-safe names
(``l01-data``), which are also their Consul service names.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from services.kit.consul_registry import consul_service_name
from services.kit.layers import GATEWAY, Layer
from services.kit.registry import DEREGISTER_CRITICAL_AFTER, HEALTH_CHECK_INTERVAL
from services.kit.yaml_text import plain_yaml
from services.launcher import envoy_config
from services.launcher.components import (
    ENVOY_TEMPLATE,
    GATEWAY_GRPC_CLUSTER,
    GATEWAY_HTTP_CLUSTER,
    PROJECT_ROOT,
    installed_layers,
    temporal_tuning,
)

IMAGE = "${AGENTIC_IMAGE:-agentic-mesh:latest}"
APP_DIR = Path("/app")  # where the Dockerfile puts the project
STATE_DIR = "/var/lib/agentic"  # AGENTIC_HOME in the containers
# Consul gets a fixed address: Envoy's DNS resolver takes an IP, not a name.
SUBNET = "172.28.0.0/16"
CONSUL_IP = "172.28.0.2"
CONSUL_DNS_PORT = 8600
GATEWAY_HTTP_PORT = 8090
GATEWAY_GRPC_PORT = 8091
ENVOY_ADMIN_PORT = 8901
TEMPORAL_PORT = 7233

COMPOSE_FILE = PROJECT_ROOT / "compose.yml"
CONSUL_DIR = PROJECT_ROOT / "consul"
_HEADER = (
    "# GENERATED from services/kit/layers.py by `python -m services.launcher.deployment`:\n"
    "# do not edit; CI checks it is fresh.\n"
)
_CALL = re.compile(r"(?:layer_target|open_layer_channel)\(\"(l\d\d)")


def host(component: str) -> str:
    """A component's compose service and host name: ``l01_data`` -> ``l01-data``."""
    return consul_service_name(component)


def calls(layer: Layer) -> list[str]:
    """The layers this layer's code opens channels to (``open_layer_channel("l01")``), by
    key, except the gateway (Envoy): it needs them up first."""
    package = PROJECT_ROOT.joinpath(*layer.module.split("."))
    found = {m for path in package.rglob("*.py") for m in _CALL.findall(path.read_text())}
    return sorted(found - {layer.key, GATEWAY.key})


def consul_service(layer: Layer) -> dict[str, Any]:
    """Its Consul service definition, with the id it registers itself under
    (``<layer>-<host>-<port>``, as ``ServiceInstance.instance_id``)."""
    name = host(layer.name)
    return {
        "service": {
            "id": f"{layer.name}-{name}-{layer.port}",
            "name": name,
            "address": name,
            "port": layer.port,
            "tags": ["agentic", "grpc"],
            "meta": {"layer": layer.name},
            "check": {
                "grpc": f"{name}:{layer.port}",
                "interval": HEALTH_CHECK_INTERVAL,
                "timeout": "2s",
                "deregister_critical_service_after": DEREGISTER_CRITICAL_AFTER,
            },
        }
    }


def envoy_yaml(layers: list[Layer]) -> str:
    """The gateway's config for the compose mesh: layers by their Consul DNS names."""
    hosts: dict[str, tuple[str, int]] = {
        GATEWAY_HTTP_CLUSTER: (host("l09_gateway"), GATEWAY_HTTP_PORT),
        GATEWAY_GRPC_CLUSTER: (host("l09_gateway"), GATEWAY_GRPC_PORT),
    }
    for layer in layers:
        hosts[layer.name] = (f"{host(layer.name)}.service.consul", layer.port)
        if layer.serves_http:
            hosts[layer.http_cluster] = (f"{host(layer.name)}.service.consul", layer.http_port)
    header = (
        _HEADER + "# Envoy of compose.yml: gateway/envoy.yaml with its clusters resolved\n"
        "# through Consul's DNS (passing instances only).\n"
    )
    return header + envoy_config.render_dns(
        ENVOY_TEMPLATE,
        listen_host="0.0.0.0",
        cluster_hosts=hosts,
        dns_server=(CONSUL_IP, CONSUL_DNS_PORT),
        base_dir=APP_DIR,
    )


def _healthcheck(test: list[str], start_period: str = "30s") -> dict[str, Any]:
    return {
        "test": test,
        "interval": "10s",
        "timeout": "5s",
        "retries": 5,
        "start_period": start_period,
    }


def _grpc_check(port: int) -> dict[str, Any]:
    return _healthcheck(
        ["CMD", "python", "-m", "services.launcher.healthcheck", "grpc", f"127.0.0.1:{port}"],
        start_period="120s",  # L04 loads its local models on first start
    )


def _healthy(*names: str) -> dict[str, dict[str, str]]:
    return {name: {"condition": "service_healthy"} for name in names}


def _common_env() -> dict[str, str]:
    return {
        "AGENTIC_HOME": STATE_DIR,
        "AGENTIC_LOG_LEVEL": "${AGENTIC_LOG_LEVEL:-info}",
        "AGENTIC_SERVICE_TOKEN": "${AGENTIC_SERVICE_TOKEN:?set a long random service token}",
        "REDIS_URL": "redis://redis:6379/0",
        "CONSUL_HTTP_ADDR": "http://consul:8500",
        # Envoy is the gateway: layers acting for their callers go through it.
        f"AGENTIC_{GATEWAY.env_prefix}_TARGET": f"envoy:{GATEWAY.port}",
    }


def _layer_service(layer: Layer) -> dict[str, Any]:
    env = {
        **_common_env(),
        f"{layer.env_prefix}_HOST": "0.0.0.0",
        f"{layer.env_prefix}_PORT": str(layer.port),
        # Bound to every interface: registered under its compose name.
        "AGENTIC_ADVERTISE_HOST": host(layer.name),
    }
    needs = ["consul", "redis"]
    if layer.database:
        env["DATABASE_URL"] = "postgresql://agentic:${POSTGRES_PASSWORD:-agentic}@postgres/agentic"
        needs.append("postgres")
    if layer.workflows:
        env["TEMPORAL_ADDRESS"] = f"temporal:{TEMPORAL_PORT}"
        needs.append("temporal")
    if layer.serves_http:
        env[f"{layer.env_prefix}_HTTP_PORT"] = str(layer.http_port)
    if layer.name == "l00_secrets":
        env["L00_MASTER_KEY"] = "${L00_MASTER_KEY:?set a master key: <id>:<base64 of 32 bytes>}"
    service: dict[str, Any] = {
        "image": IMAGE,
        "command": ["python", "-m", layer.module],
        "environment": env,
        "depends_on": _healthy(*needs, *(_layer_host(key) for key in calls(layer))),
        "healthcheck": _grpc_check(layer.port),
        "networks": ["mesh"],
        "restart": "unless-stopped",
    }
    if layer.processes > 1:
        # The launcher's processes of one layer are one service's replicas here: each
        # registers itself, and Consul's DNS answers with every passing one.
        service["deploy"] = {"replicas": layer.processes}
    if layer.name == "l03_tools":
        # Its sandboxes are bubblewrap user namespaces, which the default seccomp and
        # AppArmor profiles of a container refuse.
        service["security_opt"] = ["seccomp=unconfined", "apparmor=unconfined"]
        service["volumes"] = [f"agentic-state:{STATE_DIR}"]
    return service


def _layer_host(key: str) -> str:
    for layer in installed_layers():
        if layer.key == key:
            return host(layer.name)
    raise KeyError(f"{key} is called but not launched")


def _gateway_service(layers: list[Layer]) -> dict[str, Any]:
    targets = ",".join(f"{layer.name}={host(layer.name)}:{layer.port}" for layer in layers)
    return {
        "image": IMAGE,
        "command": ["python", "-m", "services.l09_gateway"],
        "environment": {
            **_common_env(),
            "L09_HTTP_HOST": "0.0.0.0",
            "L09_HTTP_PORT": str(GATEWAY_HTTP_PORT),
            "L09_GRPC_HOST": "0.0.0.0",
            "L09_GRPC_PORT": str(GATEWAY_GRPC_PORT),
            "L09_LAYERS": targets,
            "L09_KEYS_FILE": f"{STATE_DIR}/gateway/api_keys.json",
            # Outside a laptop: the public dev tokens are refused.
            "L09_PRODUCTION": "${L09_PRODUCTION:-true}",
        },
        "depends_on": _healthy("consul", "redis"),
        "healthcheck": _grpc_check(GATEWAY_GRPC_PORT),
        "volumes": [f"agentic-state:{STATE_DIR}"],
        "networks": ["mesh"],
        "restart": "unless-stopped",
    }


def _envoy_service(layers: list[Layer]) -> dict[str, Any]:
    ready = f"http://127.0.0.1:{ENVOY_ADMIN_PORT}/ready"
    return {
        "image": IMAGE,
        "command": ["envoy", "-c", str(APP_DIR / "consul" / "envoy.yaml"), "--concurrency", "2"],
        "ports": [f"${{AGENTIC_GATEWAY_PORT:-{GATEWAY.port}}}:{GATEWAY.port}"],
        "depends_on": _healthy("consul", host("l09_gateway"), *(host(x.name) for x in layers)),
        "healthcheck": _healthcheck(
            ["CMD", "python", "-m", "services.launcher.healthcheck", "http", ready]
        ),
        "networks": ["mesh"],
        "restart": "unless-stopped",
    }


def _stores() -> dict[str, Any]:
    return {
        "consul": {
            "image": "hashicorp/consul:1.22",
            # The image's entrypoint adds -config-dir=/consul/config (agent.hcl).
            "command": ["agent", "-config-dir=/consul/services"],
            "volumes": [
                "./consul/agent.hcl:/consul/config/agent.hcl:ro",
                "./consul/services:/consul/services:ro",
                "consul-data:/consul/data",
            ],
            "ports": ["${CONSUL_UI_PORT:-8500}:8500"],
            "healthcheck": _healthcheck(["CMD", "consul", "members"], start_period="10s"),
            "networks": {"mesh": {"ipv4_address": CONSUL_IP}},
            "restart": "unless-stopped",
        },
        "postgres": {
            "image": "pgvector/pgvector:pg18",
            "environment": {
                "POSTGRES_USER": "agentic",
                "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:-agentic}",
                "POSTGRES_DB": "agentic",
            },
            "volumes": ["pgdata:/var/lib/postgresql"],
            "healthcheck": _healthcheck(
                ["CMD", "pg_isready", "-U", "agentic", "-d", "agentic"], "10s"
            ),
            "networks": ["mesh"],
            "restart": "unless-stopped",
        },
        "redis": {
            "image": "redis:7-alpine",
            "command": ["redis-server", "--save", "", "--appendonly", "no"],
            "healthcheck": _healthcheck(["CMD", "redis-cli", "ping"], "5s"),
            "networks": ["mesh"],
            "restart": "unless-stopped",
        },
        "temporal": {
            "image": IMAGE,
            "command": [
                "temporal",
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "0.0.0.0",
                "--port",
                str(TEMPORAL_PORT),
                "--db-filename",
                f"{STATE_DIR}/temporal/temporal.db",
                "--log-level",
                "warn",
                *temporal_tuning(),
            ],
            "volumes": [f"temporal-data:{STATE_DIR}/temporal"],
            "healthcheck": _healthcheck(
                [
                    "CMD",
                    "temporal",
                    "operator",
                    "cluster",
                    "health",
                    "--address",
                    f"127.0.0.1:{TEMPORAL_PORT}",
                ],
                "20s",
            ),
            "networks": ["mesh"],
            "restart": "unless-stopped",
        },
    }


def compose_document(layers: list[Layer]) -> dict[str, Any]:
    """compose.yml as data: the stores, then the layers, the L09 process and Envoy."""
    services: dict[str, Any] = {
        **_stores(),
        "agentic-image": {
            # Builds the one image every layer runs; it serves nothing itself.
            "image": IMAGE,
            "build": {"context": ".", "dockerfile": "Dockerfile"},
            "command": ["python", "-c", "pass"],
            "profiles": ["build"],
        },
    }
    for layer in layers:
        services[host(layer.name)] = _layer_service(layer)
    services[host("l09_gateway")] = _gateway_service(layers)
    services["envoy"] = _envoy_service(layers)
    return {
        "name": "agentic",
        "services": services,
        "networks": {"mesh": {"ipam": {"config": [{"subnet": SUBNET}]}}},
        "volumes": {"pgdata": {}, "consul-data": {}, "temporal-data": {}, "agentic-state": {}},
    }


def rendered_files(layers: list[Layer]) -> dict[Path, str]:
    """Every file this module writes, by path, with its content."""
    files = {
        COMPOSE_FILE: _HEADER + plain_yaml(compose_document(layers)),
        CONSUL_DIR / "envoy.yaml": envoy_yaml(layers),
    }
    for layer in layers:
        path = CONSUL_DIR / "services" / f"{host(layer.name)}.json"
        files[path] = json.dumps(consul_service(layer), indent=2) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    args = parser.parse_args(argv)
    files = rendered_files(installed_layers())
    services_dir = CONSUL_DIR / "services"
    extra = set(services_dir.glob("*.json")) - set(files) if services_dir.is_dir() else set()
    stale = sorted(
        str(p.relative_to(PROJECT_ROOT))
        for p, text in files.items()
        if not p.is_file() or p.read_text() != text
    ) + sorted(str(p.relative_to(PROJECT_ROOT)) for p in extra)
    if args.check:
        if stale:
            print("stale: " + ", ".join(stale), file=sys.stderr)
            print("run `python -m services.launcher.deployment` and commit", file=sys.stderr)
            return 1
        print("compose.yml and consul/ match services/kit/layers.py")
        return 0
    for path in extra:
        path.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(files)} files; removed {len(extra)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
