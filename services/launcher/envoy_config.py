"""Renders the committed gateway/envoy.yaml with a mesh's ports and absolute paths, or, for a
containerised mesh, with every cluster resolved by name through a DNS server (Consul's)."""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from services.kit.cors import origin_matchers
from services.kit.yaml_text import plain_yaml
from services.launcher.errors import MeshError


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _set_port(section: dict[str, Any], port: int) -> None:
    section["address"]["socket_address"]["port_value"] = port


def render(
    template: Path,
    *,
    listener_port: int,
    admin_port: int,
    cluster_ports: Mapping[str, Sequence[int]],
    base_dir: Path,
    idle_clusters: Collection[str] = (),
    cors_origins: Collection[str] | None = None,
) -> str:
    """The config with the given ports (an endpoint per port of a cluster: a layer's
    processes); relative descriptor paths resolved against ``base_dir``. Every cluster must
    have a port: a forgotten one would point this mesh at another mesh's layer.
    ``idle_clusters`` (layers this mesh does not run) get no endpoint and no health check:
    calls to them fail fast with 503. ``cors_origins``, when given, replaces the origins the
    template's CORS policies allow."""
    config = yaml.safe_load(template.read_text())
    _set_port(config["admin"], admin_port)
    static = config["static_resources"]
    listeners = static["listeners"]
    if len(listeners) != 1:
        raise MeshError(f"{template}: expected one listener, found {len(listeners)}")
    _set_port(listeners[0], listener_port)
    for cluster in static["clusters"]:
        name = cluster["name"]
        if name in idle_clusters:
            cluster["load_assignment"]["endpoints"] = []
            cluster.pop("health_checks", None)
            continue
        if name not in cluster_ports:
            raise MeshError(f"{template}: no port configured for cluster {name!r}")
        for group in cluster["load_assignment"]["endpoints"]:
            # One endpoint per process, each like the template's first.
            template_endpoint = group["lb_endpoints"][0]
            group["lb_endpoints"] = []
            for port in cluster_ports[name]:
                endpoint = copy.deepcopy(template_endpoint)
                _set_port(endpoint["endpoint"], port)
                group["lb_endpoints"].append(endpoint)
    for node in _walk(config):
        if cors_origins is not None and "allow_origin_string_match" in node:
            node["allow_origin_string_match"] = origin_matchers(cors_origins)
        descriptor = node.get("proto_descriptor")
        if isinstance(descriptor, str) and not Path(descriptor).is_absolute():
            node["proto_descriptor"] = str(base_dir / descriptor)
    header = f"# Rendered from {template} by the agentic launcher; edit that file instead.\n"
    return header + plain_yaml(config)


# Envoy's c-ares resolver, asking only the given server: Consul answers its own names
# (``l01-data.service.consul``: passing instances only) and forwards the rest.
_CARES = "type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig"


def render_dns(
    template: Path,
    *,
    listen_host: str,
    cluster_hosts: Mapping[str, tuple[str, int]],
    dns_server: tuple[str, int],
    base_dir: Path,
) -> str:
    """The config for a mesh whose layers move: each cluster named in ``cluster_hosts``
    (cluster -> (host name, port)) becomes STRICT_DNS on that name, re-resolved through
    ``dns_server`` (an IP address and port: Envoy's resolver takes no name); the listener
    binds ``listen_host``; descriptor paths are resolved against ``base_dir``."""
    config = yaml.safe_load(template.read_text())
    static = config["static_resources"]
    static["listeners"][0]["address"]["socket_address"]["address"] = listen_host
    resolver = {
        "name": "envoy.network.dns_resolver.cares",
        "typed_config": {
            "@type": _CARES,
            "resolvers": [
                {
                    "socket_address": {
                        "address": dns_server[0],
                        "port_value": dns_server[1],
                        "protocol": "UDP",
                    }
                }
            ],
            "dns_resolver_options": {"no_default_search_domain": True},
        },
    }
    for cluster in static["clusters"]:
        name = cluster["name"]
        if name not in cluster_hosts:
            raise MeshError(f"{template}: no host configured for cluster {name!r}")
        host, port = cluster_hosts[name]
        cluster["type"] = "STRICT_DNS"
        cluster["dns_lookup_family"] = "V4_ONLY"
        cluster["dns_refresh_rate"] = "5s"
        cluster["typed_dns_resolver_config"] = resolver
        for group in cluster["load_assignment"]["endpoints"]:
            for endpoint in group["lb_endpoints"]:
                address = endpoint["endpoint"]["address"]["socket_address"]
                address["address"], address["port_value"] = host, port
    for node in _walk(config):
        descriptor = node.get("proto_descriptor")
        if isinstance(descriptor, str) and not Path(descriptor).is_absolute():
            node["proto_descriptor"] = str(base_dir / descriptor)
    return plain_yaml(config)


def cluster_names(template: Path) -> list[str]:
    """Names of the clusters the template defines."""
    config = yaml.safe_load(template.read_text())
    return [cluster["name"] for cluster in config["static_resources"]["clusters"]]


def discovered_filters(template: Path) -> list[str]:
    """Names of the HTTP filters whose configuration Envoy takes over discovery (ECDS)."""
    config = yaml.safe_load(template.read_text())
    return [
        node["name"]
        for node in _walk(config)
        if "config_discovery" in node and isinstance(node.get("name"), str)
    ]
