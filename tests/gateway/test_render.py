"""gateway/envoy.yaml is generated from the descriptor set: every package, service and method."""

import copy
import re
from typing import Any

import pytest
import yaml
from envoy.config.bootstrap.v3 import bootstrap_pb2
from google.protobuf import json_format

from services.kit.layers import launched_layers
from services.l09_gateway import descriptor
from services.l09_gateway.names import CONNECT_MARKER_HEADER, NATIVE_AUTH_FILTERS
from services.l09_gateway.render import build, render
from services.l09_gateway.render.__main__ import DEFAULT_OUTPUT
from services.l09_gateway.render.layers import UPSTREAMS
from services.l09_gateway.render.typed import as_data
from services.launcher.envoy_config import render as launcher_render
from tests.support import envoy_validation

pytestmark = [pytest.mark.unit, pytest.mark.l09]

SURFACE = descriptor.load()
CONFIG = as_data(build(SURFACE))  # as envoy.yaml holds it


def _manager(config: dict[str, Any]) -> dict[str, Any]:
    listener = config["static_resources"]["listeners"][0]
    return listener["filter_chains"][0]["filters"][0]["typed_config"]


MANAGER = _manager(CONFIG)
ROUTES = {
    route["match"]["path"]: route["route"]
    for route in MANAGER["route_config"]["virtual_hosts"][0]["routes"]
    if "path" in route["match"]
}


def _filter(name: str) -> dict[str, Any]:
    return next(f["typed_config"] for f in MANAGER["http_filters"] if f["name"] == name)


def test_the_committed_file_is_what_the_renderer_writes() -> None:
    assert DEFAULT_OUTPUT.read_text() == render(SURFACE)


def test_the_committed_file_round_trips_through_the_typed_bootstrap() -> None:
    """Every field of envoy.yaml, inside each typed_config (resolved by its @type) too, is
    one Envoy's Bootstrap message has: it parses and reads back as the same data."""
    data = yaml.safe_load(DEFAULT_OUTPUT.read_text())
    bootstrap = json_format.ParseDict(data, bootstrap_pb2.Bootstrap())
    assert as_data(bootstrap) == data == CONFIG
    assert bootstrap.static_resources.listeners[0].address.socket_address.port_value == 8009


@pytest.mark.parametrize(
    "misspell",
    [
        lambda config: config["static_resources"]["clusters"][0].update(conect_timeout="1s"),
        lambda config: _manager(config)["http_filters"][0]["typed_config"].update(x=1),
        lambda config: _manager(config).update(codec_type="AUTOMATIC"),
    ],
    ids=["cluster field", "field in a typed_config", "enum value"],
)
def test_a_config_with_a_misspelling_does_not_parse(misspell) -> None:
    config = copy.deepcopy(CONFIG)
    misspell(config)
    with pytest.raises(json_format.ParseError):
        json_format.ParseDict(config, bootstrap_pb2.Bootstrap())


def test_the_error_bodies_carry_the_grpc_code_as_an_integer() -> None:
    """Struct numbers are doubles; written as 16.0, Envoy would send the string "16.0"."""
    mappers = MANAGER["local_reply_config"]["mappers"]
    bodies = [m["body_format_override"].get("json_format") for m in mappers if not _connect(m)]
    codes = [body["code"] for body in bodies if body]
    assert codes and all(type(code) is int for code in codes)
    assert "code: 16\n" in DEFAULT_OUTPUT.read_text()


def _connect(mapper: dict[str, Any]) -> bool:
    return CONNECT_MARKER_HEADER in str(mapper["filter"])


def test_connect_calls_get_connect_error_bodies_first() -> None:
    """Connect names its codes ("unauthenticated"); its mappers must win over the others."""
    mappers = MANAGER["local_reply_config"]["mappers"]
    connect = [m for m in mappers if _connect(m)]
    assert mappers[: len(connect)] == connect
    codes = {m["body_format_override"]["json_format"]["code"] for m in connect}
    assert {"unauthenticated", "permission_denied", "resource_exhausted"} <= codes


def test_every_service_of_every_platform_package_is_transcoded() -> None:
    services = _filter("envoy.filters.http.grpc_json_transcoder")["services"]
    assert services == SURFACE.services
    assert "agentic.data.v1.EventStoreService" in services


def test_every_layer_package_gets_a_cluster_named_after_its_layer() -> None:
    clusters = {c["name"]: c for c in CONFIG["static_resources"]["clusters"]}
    for package in SURFACE.packages:
        layer = UPSTREAMS[package]
        endpoints = clusters[layer.name]["load_assignment"]["endpoints"][0]["lb_endpoints"]
        ports = tuple(e["endpoint"]["address"]["socket_address"]["port_value"] for e in endpoints)
        assert ports == layer.ports  # one endpoint per process of the layer
        assert clusters[layer.name]["health_checks"][0]["grpc_health_check"] == {}
        assert clusters[layer.name]["circuit_breakers"]["thresholds"]
        assert clusters[layer.name]["outlier_detection"]


def test_every_method_has_a_route_to_its_layer() -> None:
    for method in SURFACE.methods:
        assert ROUTES[method.path]["cluster"] == UPSTREAMS[method.package].name


def test_server_streams_have_no_timeout_and_no_retry() -> None:
    streams = [m for m in SURFACE.methods if m.server_streaming]
    assert streams
    for method in streams:
        route = ROUTES[method.path]
        assert route["timeout"] == "0s" and route["idle_timeout"] == "0s"
        assert "retry_policy" not in route


def test_unary_timeouts_are_500_ms_except_for_slow_layers() -> None:
    data = next(m for m in SURFACE.methods if m.rpc.endswith("EventStoreService/ReadAll"))
    assert ROUTES[data.path]["timeout"] == "0.500s"
    for method in SURFACE.methods:
        if method.package == "agentic.models.v1" and not method.server_streaming:
            assert ROUTES[method.path]["timeout"] == "120s"


def test_only_idempotent_methods_are_retried() -> None:
    read = next(m for m in SURFACE.methods if m.rpc.endswith("EventStoreService/ReadStream"))
    append = next(m for m in SURFACE.methods if m.rpc.endswith("EventStoreService/AppendEvents"))
    assert read.idempotent and "retry_policy" in ROUTES[read.path]
    assert not append.idempotent and "retry_policy" not in ROUTES[append.path]
    for method in SURFACE.methods:
        retried = "retry_policy" in ROUTES[method.path]
        assert retried == (method.idempotent and not method.server_streaming), method.rpc


def test_auth_and_limits_run_after_the_transcoder_so_they_see_rpc_paths() -> None:
    names = [f["name"] for f in MANAGER["http_filters"]]
    transcoder = names.index("envoy.filters.http.grpc_json_transcoder")
    assert transcoder < names.index("envoy.filters.http.ext_authz")
    assert names.index("envoy.filters.http.ext_authz") < names.index("envoy.filters.http.ratelimit")
    assert names[-1] == "envoy.filters.http.router"
    # Client-sent identity headers are removed before anything reads them.
    assert names.index("envoy.filters.http.header_mutation") < transcoder


def test_jwts_are_verified_natively_before_ext_authz_which_they_skip() -> None:
    names = [f["name"] for f in MANAGER["http_filters"]]
    native = [names.index(name) for name in NATIVE_AUTH_FILTERS]
    assert names.index("envoy.filters.http.grpc_json_transcoder") < native[0]
    assert native == sorted(native) and native[-1] < names.index("envoy.filters.http.ext_authz")
    for name in NATIVE_AUTH_FILTERS:
        discovery = next(f for f in MANAGER["http_filters"] if f["name"] == name)
        source = discovery["config_discovery"]["config_source"]["api_config_source"]
        assert source["grpc_services"][0]["envoy_grpc"]["cluster_name"] == "l09_gateway_grpc"
        assert discovery["config_discovery"]["default_config"]
    enabled = _filter("envoy.filters.http.ext_authz")["filter_enabled_metadata"]
    assert enabled["filter"] == "l09.native_auth" and enabled["invert"] is True


def test_header_names_grpc_metadata_cannot_carry_are_removed_but_pseudo_headers_kept() -> None:
    mutations = _filter("envoy.filters.http.header_mutation")["mutations"]["request_mutations"]
    regex = next(m for m in mutations if "remove_on_match" in m)["remove_on_match"]
    removed = re.compile(regex["key_matcher"]["safe_regex"]["regex"])
    for name in ("x*y", "*", "a|b", "it's", "x:y"):
        assert removed.fullmatch(name), name
    for name in (":path", ":authority", "content-type", "x-request-id", "grpc-timeout", "a.b_c"):
        assert not removed.fullmatch(name), name
    assert {m.get("remove") for m in mutations} >= {"x-agentic-principal", "x-agentic-roles"}


def test_health_and_openapi_are_open_routes() -> None:
    for path in ("/health", "/openapi.json"):
        disabled = next(
            r["typed_per_filter_config"]
            for r in MANAGER["route_config"]["virtual_hosts"][0]["routes"]
            if r["match"].get("path") == path
        )
        for name in ("envoy.filters.http.ext_authz", "envoy.filters.http.ratelimit"):
            assert disabled[name]["disabled"] is True
        for name in NATIVE_AUTH_FILTERS:
            assert disabled[name]["disabled"] is True


def test_the_yaml_has_no_anchors_and_round_trips() -> None:
    text = render(SURFACE)
    assert "&id" not in text and "*id" not in text
    assert yaml.safe_load(text) == CONFIG


# Every cluster of a launched layer: its gRPC port and, where it has one, its HTTP port.
IDLE = {layer.name for layer in launched_layers()} | {
    layer.http_cluster for layer in launched_layers() if layer.serves_http
}


def test_the_launcher_leaves_layers_it_does_not_run_without_endpoints(tmp_path) -> None:
    text = launcher_render(
        DEFAULT_OUTPUT,
        listener_port=18009,
        admin_port=18901,
        cluster_ports={
            "l01_data": (18001,),
            "l03_tools": (18003,),
            "l09_gateway_http": (18090,),
            "l09_gateway_grpc": (18091,),
        },
        base_dir=descriptor.PROJECT_ROOT,
        idle_clusters=IDLE - {"l01_data"},
    )
    clusters = {c["name"]: c for c in yaml.safe_load(text)["static_resources"]["clusters"]}
    assert clusters["l04_models"]["load_assignment"]["endpoints"] == []
    assert "health_checks" not in clusters["l04_models"]
    assert clusters["l01_data"]["health_checks"]
    path = tmp_path / "envoy.yaml"
    path.write_text(text)
    result = envoy_validation(path)
    assert result.returncode == 0, result.stdout + result.stderr
