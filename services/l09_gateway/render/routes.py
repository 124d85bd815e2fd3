"""Routes: the open HTTP paths, then one route per RPC, by its gRPC path.

REST requests reach these routes too: the transcoder rewrites a REST path to the gRPC path
of its method before routing. Rules per method:
- server streaming: no route or idle timeout (a subscription may stay open for days);
- otherwise the layer's timeout (500 ms default; longer for models, planning, tools, NL),
  unless METHOD_TIMEOUTS names the method: bulk writes and index builds take longer;
- retried (up to 2 more tries, on connect failure, reset or UNAVAILABLE) only when
  idempotent: a google.api.http GET, or a reading name (Get*, List*, Read*, Search*,
  Query*, BatchGet*, Check*, Describe*). Writes are never retried by the gateway.
"""

from __future__ import annotations

from typing import Any

from services.l09_gateway.descriptor import Method
from services.l09_gateway.names import HTTP_CLUSTER, NATIVE_AUTH_FILTERS, OPEN_PATHS
from services.l09_gateway.render.layers import layer_for

_DISABLED = {"@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "disabled": True}


def _disabled(*filters: str) -> dict[str, Any]:
    return {name: dict(_DISABLED) for name in filters}


# Native gRPC is not buffered (client streams must flow) and takes messages up to the
# layers' own 16 MiB limit.
_GRPC_ROUTE_FILTERS = _disabled("envoy.filters.http.buffer", "envoy.filters.http.body_size_limit")

# Methods whose work grows with the request (bulk writes) or the data (index builds).
METHOD_TIMEOUTS: dict[str, str] = {
    "/agentic.data.v1.EventStoreService/AppendEvents": "10s",
    "/agentic.data.v1.DocumentService/PutDocument": "10s",
    "/agentic.data.v1.SnapshotService/SaveSnapshot": "10s",
    "/agentic.data.v1.VectorService/CreateCollection": "30s",
    "/agentic.data.v1.VectorService/DeleteCollection": "30s",
    "/agentic.data.v1.VectorService/UpsertVectors": "30s",
    "/agentic.data.v1.VectorService/DeleteVectors": "30s",
    "/agentic.data.v1.VectorService/BuildIndex": "900s",
    # Secret changes are several L01 round trips each (read, write, shred, audit), and writers
    # of one secret take turns; deletion shreds every version, rotation re-wraps every data key.
    **{
        f"/agentic.secrets.v1.SecretService/{method}": "5s"
        for method in (
            "CreateSecret",
            "SetAccessPolicy",
            "AddSecretVersion",
            "DisableSecretVersion",
            "EnableSecretVersion",
            "DestroySecretVersion",
        )
    },
    "/agentic.secrets.v1.SecretService/DeleteSecret": "30s",
    "/agentic.secrets.v1.SecretService/RotateMasterKey": "300s",
    # Validating a large policy set against the schema.
    "/agentic.supervision.v1.PolicyService/DeployPolicies": "10s",
    "/agentic.supervision.v1.PolicyService/RollbackPolicies": "10s",
    "/agentic.supervision.v1.PolicyService/ValidatePolicies": "10s",
}

# Routes Envoy or the L09 process answer without credentials, limits or transcoding.
_OPEN_ROUTE_FILTERS = _disabled(
    *NATIVE_AUTH_FILTERS,
    "envoy.filters.http.ext_authz",
    "envoy.filters.http.ratelimit",
    "envoy.filters.http.grpc_json_transcoder",
)

RETRY_POLICY = {
    "retry_on": "connect-failure,reset,unavailable",
    "num_retries": 2,
    "per_try_timeout": "0.25s",
    "retry_back_off": {"base_interval": "0.025s", "max_interval": "0.25s"},
}


def preflight_route() -> dict[str, Any]:
    """CORS preflights (OPTIONS, any path): the CORS filter answers them from the virtual
    host's policy; without this route a REST path has none before it is transcoded."""
    return {
        "match": {
            "prefix": "/",
            "headers": [{"name": ":method", "string_match": {"exact": "OPTIONS"}}],
        },
        # A forwarding route, not a direct response: the CORS filter only acts on those.
        "route": {"cluster": HTTP_CLUSTER, "timeout": "5s"},
        "typed_per_filter_config": dict(_OPEN_ROUTE_FILTERS),
    }


def open_routes() -> list[dict[str, Any]]:
    """GET /health and /openapi.json: no credentials, no limits, not transcoded."""
    return [
        {
            "match": {
                "path": path,
                "headers": [{"name": ":method", "string_match": {"exact": "GET"}}],
            },
            "route": {"cluster": HTTP_CLUSTER, "timeout": "5s"},
            "typed_per_filter_config": dict(_OPEN_ROUTE_FILTERS),
        }
        for path in OPEN_PATHS
    ]


def method_route(method: Method) -> dict[str, Any]:
    layer = layer_for(method.package)
    route: dict[str, Any] = {"cluster": layer.name}
    if method.server_streaming or method.client_streaming:
        route.update(timeout="0s", idle_timeout="0s")
    else:
        timeout = METHOD_TIMEOUTS.get(method.path, layer.timeout)
        route["timeout"] = timeout
        if method.idempotent:
            retry = dict(RETRY_POLICY)
            if timeout != "0.5s":  # slow calls: each try may take the whole timeout
                retry["per_try_timeout"] = timeout
            route["retry_policy"] = retry
    return {
        "match": {"path": method.path},
        "route": route,
        "typed_per_filter_config": dict(_GRPC_ROUTE_FILTERS),
    }


def routes(methods: list[Method] | tuple[Method, ...]) -> list[dict[str, Any]]:
    return [preflight_route(), *open_routes()] + [method_route(method) for method in methods]
