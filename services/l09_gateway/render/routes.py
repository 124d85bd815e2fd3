"""Routes: the open HTTP paths, the compatible APIs, then one route per RPC, by its gRPC path
(first its JSON-message twin for Connect's JSON codec), reflection, and last every other gRPC
call, answered as an unknown method.

REST requests reach these routes too: the transcoder rewrites a REST path to the gRPC path
of its method before routing. Rules per method:
- server streaming: no route or idle timeout (a subscription may stay open for days);
- otherwise the layer's timeout (the kit's default, 500 ms; longer for models, planning,
  tools, NL), unless METHOD_TIMEOUTS names the method: bulk writes and index builds take longer;
- retried (up to 2 more tries, on connect failure, reset or UNAVAILABLE) only when
  idempotent: a google.api.http GET, or a reading name (Get*, List*, Read*, Search*,
  Query*, BatchGet*, Check*, Describe*). Writes are never retried by the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from envoy.config.core.v3 import base_pb2
from envoy.config.route.v3 import route_components_pb2 as route_pb2
from envoy.type.matcher.v3 import regex_pb2, string_pb2
from google.protobuf import any_pb2

from services.kit.compat_paths import PREFIXES as COMPAT_PREFIXES
from services.l09_gateway.descriptor import Method
from services.l09_gateway.names import (
    AUTHZ_CLUSTER,
    BODY_SIZE_LIMIT_FILTER,
    BUFFER_FILTER,
    EXT_AUTHZ_FILTER,
    HTTP_CLUSTER,
    JWT_AUTHN_FILTER,
    NATIVE_AUTH_FILTERS,
    OPEN_PATHS,
    RATELIMIT_FILTER,
    RBAC_FILTER,
    TRANSCODER_FILTER,
    UNKNOWN_METHOD_PATH,
)
from services.l09_gateway.reflection import SERVICES as REFLECTION_SERVICES
from services.l09_gateway.render.layers import (
    DEFAULT_TIMEOUT,
    compat_upstream,
    http_upstreams,
    layer_for,
)
from services.l09_gateway.render.typed import packed, u32

# Replies of the L09 process's HTTP port (health, OpenAPI) and CORS preflights.
OPEN_ROUTE_TIMEOUT = timedelta(seconds=5)
# Streams: neither a route nor an idle timeout.
NO_TIMEOUT = timedelta(0)

# Methods whose work grows with the request (bulk writes) or the data (index builds).
_BULK = timedelta(seconds=10)
_COLLECTION = timedelta(seconds=30)
METHOD_TIMEOUTS: dict[str, timedelta] = {
    "/agentic.data.v1.EventStoreService/AppendEvents": _BULK,
    "/agentic.data.v1.EventStoreService/AppendEventsWithDocuments": _BULK,
    "/agentic.data.v1.DocumentService/PutDocument": _BULK,
    "/agentic.data.v1.SnapshotService/SaveSnapshot": _BULK,
    "/agentic.data.v1.VectorService/CreateCollection": _COLLECTION,
    "/agentic.data.v1.VectorService/DeleteCollection": _COLLECTION,
    "/agentic.data.v1.VectorService/UpsertVectors": _COLLECTION,
    "/agentic.data.v1.VectorService/DeleteVectors": _COLLECTION,
    "/agentic.data.v1.VectorService/BuildIndex": timedelta(seconds=900),
    # Secret changes are several L01 round trips each (read, write, shred, audit), and writers
    # of one secret take turns; deletion shreds every version, rotation re-wraps every data key.
    **{
        f"/agentic.secrets.v1.SecretService/{method}": timedelta(seconds=5)
        for method in (
            "CreateSecret",
            "SetAccessPolicy",
            "AddSecretVersion",
            "DisableSecretVersion",
            "EnableSecretVersion",
            "DestroySecretVersion",
        )
    },
    "/agentic.secrets.v1.SecretService/DeleteSecret": _COLLECTION,
    "/agentic.secrets.v1.SecretService/RotateMasterKey": timedelta(seconds=300),
    # Validating a large policy set against the schema.
    "/agentic.supervision.v1.PolicyService/DeployPolicies": _BULK,
    "/agentic.supervision.v1.PolicyService/RollbackPolicies": _BULK,
    "/agentic.supervision.v1.PolicyService/ValidatePolicies": _BULK,
}

RETRY_ON = "connect-failure,reset,unavailable"
RETRIES = 2
# A call with the default timeout: each try gets half of it, so that a retry fits in.
PER_TRY_TIMEOUT = DEFAULT_TIMEOUT / 2
_BACK_OFF = timedelta(seconds=0.025)
RETRY_BACK_OFF = route_pb2.RetryPolicy.RetryBackOff(
    base_interval=_BACK_OFF, max_interval=10 * _BACK_OFF
)


def _disabled(*filters: str) -> dict[str, any_pb2.Any]:
    return {name: packed(route_pb2.FilterConfig(disabled=True)) for name in filters}


# Native gRPC is not buffered (client streams must flow) and takes messages up to the
# layers' own limit (the kit's max_message_bytes).
_GRPC_ROUTE_FILTERS = _disabled(BUFFER_FILTER, BODY_SIZE_LIMIT_FILTER)

# Routes Envoy or the L09 process answer without credentials, limits or transcoding.
_OPEN_ROUTE_FILTERS = _disabled(
    *NATIVE_AUTH_FILTERS, EXT_AUTHZ_FILTER, RATELIMIT_FILTER, TRANSCODER_FILTER
)


def _method_is(verb: str) -> route_pb2.HeaderMatcher:
    return route_pb2.HeaderMatcher(
        name=":method", string_match=string_pb2.StringMatcher(exact=verb)
    )


def _open_route(match: route_pb2.RouteMatch) -> route_pb2.Route:
    return route_pb2.Route(
        match=match,
        route=route_pb2.RouteAction(cluster=HTTP_CLUSTER, timeout=OPEN_ROUTE_TIMEOUT),
        typed_per_filter_config=_OPEN_ROUTE_FILTERS,
    )


def preflight_route() -> route_pb2.Route:
    """CORS preflights (OPTIONS, any path): the CORS filter answers them from the virtual
    host's policy; without this route a REST path has none before it is transcoded. A
    forwarding route, not a direct response: the CORS filter only acts on those."""
    return _open_route(route_pb2.RouteMatch(prefix="/", headers=[_method_is("OPTIONS")]))


def open_routes() -> list[route_pb2.Route]:
    """GET /health and /openapi.json: no credentials, no limits, not transcoded."""
    return [
        _open_route(route_pb2.RouteMatch(path=path, headers=[_method_is("GET")]))
        for path in OPEN_PATHS
    ]


# The compatible APIs (served by L04's processes on its HTTP port): authenticated and limited
# as the L04 RPC each path maps to, by ext_authz, or without a hop to it by the identity
# filter for an API key ext_authz vouched for (and the dev tokens), then the rate limit
# filter. JWTs go to ext_authz: jwt_authn and RBAC match gRPC paths only. The timeout of
# L04's own unary route, streams included: they are one generation too.
COMPAT_TIMEOUT = layer_for("agentic.models.v1").timeout
_COMPAT_ROUTE_FILTERS = _disabled(JWT_AUTHN_FILTER, RBAC_FILTER, TRANSCODER_FILTER)


def compat_routes(cluster: str) -> list[route_pb2.Route]:
    """/openai/v1/* and /anthropic/v1/* to the HTTP port of ``cluster``, never retried."""
    return [
        route_pb2.Route(
            match=route_pb2.RouteMatch(prefix=prefix),
            route=route_pb2.RouteAction(cluster=cluster, timeout=COMPAT_TIMEOUT),
            typed_per_filter_config=_COMPAT_ROUTE_FILTERS,
        )
        for prefix in COMPAT_PREFIXES
    ]


# A layer's own HTTP path (L12's MCP endpoint): streamed both ways, not transcoded. The
# gateway does not admit the caller here: the layer calls the mesh with the credential the
# request carries, and every such call is admitted by the gateway as any other.
_LAYER_HTTP_ROUTE_FILTERS = _disabled(
    *NATIVE_AUTH_FILTERS,
    EXT_AUTHZ_FILTER,
    RATELIMIT_FILTER,
    TRANSCODER_FILTER,
    BUFFER_FILTER,
    BODY_SIZE_LIMIT_FILTER,
)
LAYER_HTTP_IDLE_TIMEOUT = timedelta(seconds=300)


def layer_http_route(path: str, cluster: str) -> route_pb2.Route:
    action = route_pb2.RouteAction(cluster=cluster, idle_timeout=LAYER_HTTP_IDLE_TIMEOUT)
    action.timeout.FromTimedelta(NO_TIMEOUT)
    return route_pb2.Route(
        match=route_pb2.RouteMatch(path_separated_prefix=path),
        route=action,
        typed_per_filter_config=_LAYER_HTTP_ROUTE_FILTERS,
    )


def reflection_routes() -> list[route_pb2.Route]:
    """Server reflection (v1 and v1alpha) to the L09 process, which serves it for the whole
    mesh: authenticated and limited like any call, a stream with no timeout."""
    found = []
    for service in REFLECTION_SERVICES:
        action = route_pb2.RouteAction(cluster=AUTHZ_CLUSTER)
        action.timeout.FromTimedelta(NO_TIMEOUT)
        action.idle_timeout.FromTimedelta(NO_TIMEOUT)
        found.append(
            route_pb2.Route(
                match=route_pb2.RouteMatch(prefix=f"/{service}/"),
                route=action,
                typed_per_filter_config=_GRPC_ROUTE_FILTERS,
            )
        )
    return found


_GRPC_CONTENT = route_pb2.HeaderMatcher(
    name="content-type", string_match=string_pb2.StringMatcher(prefix="application/grpc")
)


def unknown_method_route() -> route_pb2.Route:
    """Last: a gRPC call (gRPC-Web and Connect ones converted by then) no method route took
    goes to the L09 process, which answers UNIMPLEMENTED E9404 naming the method without
    reading the request. Not buffered, so an open client stream hears at once. (REST paths
    no method binds are refused by the transcoder first.)"""
    rewrite = regex_pb2.RegexMatchAndSubstitute(
        pattern=regex_pb2.RegexMatcher(regex=".*"), substitution=UNKNOWN_METHOD_PATH
    )
    return route_pb2.Route(
        match=route_pb2.RouteMatch(prefix="/", headers=[_GRPC_CONTENT]),
        route=route_pb2.RouteAction(
            cluster=AUTHZ_CLUSTER, timeout=OPEN_ROUTE_TIMEOUT, regex_rewrite=rewrite
        ),
        typed_per_filter_config=_GRPC_ROUTE_FILTERS,
    )


def retry_policy(timeout: timedelta) -> route_pb2.RetryPolicy:
    return route_pb2.RetryPolicy(
        retry_on=RETRY_ON,
        num_retries=u32(RETRIES),
        # Slow calls: each try may take the whole timeout.
        per_try_timeout=PER_TRY_TIMEOUT if timeout == DEFAULT_TIMEOUT else timeout,
        retry_back_off=RETRY_BACK_OFF,
    )


def method_route(method: Method) -> route_pb2.Route:
    layer = layer_for(method.package)
    action = route_pb2.RouteAction(cluster=layer.name)
    if method.server_streaming or method.client_streaming:
        action.timeout.FromTimedelta(NO_TIMEOUT)
        action.idle_timeout.FromTimedelta(NO_TIMEOUT)
    else:
        timeout = METHOD_TIMEOUTS.get(method.path, layer.timeout)
        action.timeout.FromTimedelta(timeout)
        if method.idempotent:
            action.retry_policy.CopyFrom(retry_policy(timeout))
    return route_pb2.Route(
        match=route_pb2.RouteMatch(path=method.path),
        route=action,
        typed_per_filter_config=_GRPC_ROUTE_FILTERS,
    )


# Connect's JSON codec, as Envoy's bridge names it on the gRPC side; the layers speak protobuf
# only, so these calls go to the L09 process's JSON codec (json_codec.py), which calls them.
GRPC_JSON = "application/grpc+json"
_JSON_REQUEST = route_pb2.HeaderMatcher(
    name="content-type", string_match=string_pb2.StringMatcher(prefix=GRPC_JSON)
)
# grpcio answers "application/grpc" whatever the codec: the bridge must hear JSON.
_JSON_ANSWER = base_pb2.HeaderValueOption(
    header=base_pb2.HeaderValue(key="content-type", value=GRPC_JSON),
    append_action=base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD,
)


def json_method_route(method: Method) -> route_pb2.Route:
    """A method's route for JSON messages: its own timeout and retries, to the codec."""
    route = method_route(method)
    route.match.headers.append(_JSON_REQUEST)
    route.route.cluster = AUTHZ_CLUSTER
    route.response_headers_to_add.append(_JSON_ANSWER)
    return route


def routes(methods: Sequence[Method]) -> list[route_pb2.Route]:
    packages = sorted({method.package for method in methods})
    layer_http = [layer_http_route(u.path, u.cluster) for u in http_upstreams(packages)]
    compat = compat_upstream(packages)
    return [
        preflight_route(),
        *open_routes(),
        *(compat_routes(compat.cluster) if compat else []),
        *layer_http,
        *(json_method_route(m) for m in methods),
        *(method_route(m) for m in methods),
        *reflection_routes(),
        unknown_method_route(),
    ]
