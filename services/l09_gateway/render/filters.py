"""The listener's HTTP filter chain, in order.

Client-facing edges first (Connect, gRPC-Web, stripping identity headers a client might forge and
header names gRPC metadata cannot carry, the per-instance ceiling), then REST bodies
(buffer, size limit, transcoding), then CORS, who may call and how often (the global rate
limit), and routing. Auth and limits run after the transcoder because only then does a REST
call have a route: they see every call, REST or gRPC, as the gRPC path of its method.

Who may call: JWTs are verified in Envoy (jwt_authn, rbac, the identity filter; their
configuration comes from the L09 process over ECDS, see services/l09_gateway/native); every
other credential, and any call the identity filter did not vouch for, goes to ext_authz.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from envoy.config.common.mutation_rules.v3 import mutation_rules_pb2
from envoy.config.core.v3 import base_pb2, config_source_pb2, grpc_service_pb2
from envoy.config.ratelimit.v3 import rls_pb2
from envoy.config.route.v3 import route_components_pb2 as route_pb2
from envoy.extensions.filters.http.buffer.v3 import buffer_pb2
from envoy.extensions.filters.http.connect_grpc_bridge.v3 import config_pb2 as connect_pb2
from envoy.extensions.filters.http.cors.v3 import cors_pb2
from envoy.extensions.filters.http.ext_authz.v3 import ext_authz_pb2
from envoy.extensions.filters.http.grpc_json_transcoder.v3 import transcoder_pb2
from envoy.extensions.filters.http.grpc_web.v3 import grpc_web_pb2
from envoy.extensions.filters.http.header_mutation.v3 import header_mutation_pb2
from envoy.extensions.filters.http.local_ratelimit.v3 import local_rate_limit_pb2
from envoy.extensions.filters.http.lua.v3 import lua_pb2
from envoy.extensions.filters.http.ratelimit.v3 import rate_limit_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as manager_pb2,
)
from envoy.type.matcher.v3 import metadata_pb2, regex_pb2, string_pb2, value_pb2
from envoy.type.v3 import http_status_pb2, percent_pb2, token_bucket_pb2
from google.protobuf.message import Message

from services.kit.config import MAX_MESSAGE_BYTES
from services.l09_gateway.names import (
    AUTHZ_CLUSTER,
    BODY_SIZE_LIMIT_FILTER,
    BUFFER_FILTER,
    CONNECT_FILTER,
    CONNECT_MARKER_FILTER,
    CONNECT_MARKER_HEADER,
    CORS_FILTER,
    EXT_AUTHZ_FILTER,
    IDENTITY_FILTER,
    IDENTITY_HEADERS,
    JWT_AUTHN_FILTER,
    LEASE_DESCRIPTOR_KEY,
    LEASE_HEADER,
    METERED_TIER_HEADER,
    NATIVE_AUTH_NAMESPACE,
    NATIVE_PRINCIPAL_KEY,
    ORIGINAL_PATH_HEADER,
    PRINCIPAL_HEADER,
    RATELIMIT_DOMAIN,
    RATELIMIT_FILTER,
    RBAC_FILTER,
    REST_GUARD_FILTER,
    RPC_HEADER,
    TRANSCODER_FILTER,
)
from services.l09_gateway.native import identity, jwt_authn, rbac
from services.l09_gateway.native.configs import packed as packed_native
from services.l09_gateway.render.body_size_limit import BodySizeLimit
from services.l09_gateway.render.typed import packed, u32

# A REST body is buffered whole (to be transcoded) up to this; native gRPC messages go up to
# the layers' own limit, which is also the largest JSON answer the transcoder buffers.
MAX_REST_BODY = 8 * 1024 * 1024
MAX_BUFFERED_BODY = MAX_MESSAGE_BYTES

# Per-instance ceiling: protects this Envoy and the layers behind it whatever the global
# limit service says (or when it cannot be reached).
LOCAL_CEILING = token_bucket_pb2.TokenBucket(
    max_tokens=20000, tokens_per_fill=u32(10000), fill_interval=timedelta(seconds=1)
)
# What a caller over the ceiling is told to wait.
CEILING_RETRY_AFTER_SECONDS = 1

# Hops to the L09 process: the credential check, and the rate limit service, which is on
# every metered call's path and fails open (see global_ratelimit).
AUTHZ_TIMEOUT = timedelta(seconds=1)
RATELIMIT_TIMEOUT = timedelta(seconds=0.25)

# The native filters wait this long for their configuration from the L09 process at start.
DISCOVERY_FETCH_TIMEOUT = timedelta(seconds=10)

_V3 = config_source_pb2.V3


def _filter(name: str, config: Message) -> manager_pb2.HttpFilter:
    return manager_pb2.HttpFilter(name=name, typed_config=packed(config))


def _to_authz(timeout: timedelta | None = None) -> grpc_service_pb2.GrpcService:
    """The L09 process's gRPC port (ext_authz, rate limits, discovery)."""
    service = grpc_service_pb2.GrpcService(
        envoy_grpc=grpc_service_pb2.GrpcService.EnvoyGrpc(cluster_name=AUTHZ_CLUSTER)
    )
    if timeout is not None:
        service.timeout.FromTimedelta(timeout)
    return service


def cors() -> manager_pb2.HttpFilter:
    return _filter(CORS_FILTER, cors_pb2.Cors())


def connect_marker() -> manager_pb2.HttpFilter:
    """Copies ``connect-protocol-version``, which the bridge removes from unary calls, into a
    header Envoy's own refusals are shaped by (render/connect_errors.py); nothing when it is
    absent (an empty value is not added)."""
    mark = base_pb2.HeaderValueOption(
        header=base_pb2.HeaderValue(
            key=CONNECT_MARKER_HEADER, value="%REQ(connect-protocol-version)%"
        ),
        append_action=base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD,
    )
    return _filter(
        CONNECT_MARKER_FILTER,
        header_mutation_pb2.HeaderMutation(
            mutations=header_mutation_pb2.Mutations(
                request_mutations=[mutation_rules_pb2.HeaderMutation(append=mark)]
            )
        ),
    )


def connect_bridge() -> manager_pb2.HttpFilter:
    """Connect clients (unary and streaming, JSON or binary) become gRPC calls here, and their
    answers Connect again on the way out: every filter after it sees a gRPC call."""
    return _filter(CONNECT_FILTER, connect_pb2.FilterConfig())


def grpc_web() -> manager_pb2.HttpFilter:
    return _filter("envoy.filters.http.grpc_web", grpc_web_pb2.GrpcWeb())


# HTTP allows header names gRPC metadata does not (e.g. "*", "'", "|"); a layer would fail
# the whole call (INTERNAL) on one of them. They can mean nothing to a layer: drop them. The
# names are lower case by now; pseudo-headers (":path") are kept.
NON_METADATA_HEADER = "[^:a-z0-9_.-].*|[^:].*[^a-z0-9_.-].*"


def clean_request_headers() -> manager_pb2.HttpFilter:
    """Removes identity headers a client sent (only ext_authz and the identity filter may set
    them) and header names gRPC metadata cannot carry, in one native filter: a Lua script
    would run on every request."""
    mutations = [mutation_rules_pb2.HeaderMutation(remove=name) for name in IDENTITY_HEADERS]
    odd_names = string_pb2.StringMatcher(
        safe_regex=regex_pb2.RegexMatcher(regex=NON_METADATA_HEADER)
    )
    mutations.append(
        mutation_rules_pb2.HeaderMutation(
            remove_on_match=mutation_rules_pb2.HeaderMutation.RemoveOnMatch(key_matcher=odd_names)
        )
    )
    return _filter(
        "envoy.filters.http.header_mutation",
        header_mutation_pb2.HeaderMutation(
            mutations=header_mutation_pb2.Mutations(request_mutations=mutations)
        ),
    )


def _always(runtime_key: str) -> base_pb2.RuntimeFractionalPercent:
    return base_pb2.RuntimeFractionalPercent(
        runtime_key=runtime_key,
        default_value=percent_pb2.FractionalPercent(
            numerator=100, denominator=percent_pb2.FractionalPercent.HUNDRED
        ),
    )


def local_ceiling() -> manager_pb2.HttpFilter:
    retry_after = base_pb2.HeaderValueOption(
        header=base_pb2.HeaderValue(key="retry-after", value=str(CEILING_RETRY_AFTER_SECONDS)),
        append_action=base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD,
    )
    return _filter(
        "envoy.filters.http.local_ratelimit",
        local_rate_limit_pb2.LocalRateLimit(
            stat_prefix="local_ceiling",
            token_bucket=LOCAL_CEILING,
            filter_enabled=_always("l09.local_ceiling.enabled"),
            filter_enforced=_always("l09.local_ceiling.enforced"),
            rate_limited_as_resource_exhausted=True,
            response_headers_to_add=[retry_after],
        ),
    )


def _discovered(name: str, default: dict[str, Any]) -> manager_pb2.HttpFilter:
    """A filter whose configuration the L09 process serves (ECDS). Envoy waits for it at
    start (up to the fetch timeout, then uses ``default``) and keeps the last one it got
    while the process is away."""
    default_config = packed_native(default)
    source = config_source_pb2.ConfigSource(
        api_config_source=config_source_pb2.ApiConfigSource(
            api_type=config_source_pb2.ApiConfigSource.GRPC,
            transport_api_version=_V3,
            grpc_services=[_to_authz()],
            set_node_on_first_message_only=True,
        ),
        resource_api_version=_V3,
        initial_fetch_timeout=DISCOVERY_FETCH_TIMEOUT,
    )
    return manager_pb2.HttpFilter(
        name=name,
        config_discovery=config_source_pb2.ExtensionConfigSource(
            config_source=source,
            default_config=default_config,
            type_urls=[default_config.type_url],
        ),
    )


def native_jwt() -> list[manager_pb2.HttpFilter]:
    """Verify JWTs, apply the roles, forward the caller. The defaults verify nothing and
    forward nothing, so without the process's configuration every call goes to ext_authz
    (and the RBAC default refuses any JWT a stray jwt_authn configuration verified)."""
    return [
        _discovered(JWT_AUTHN_FILTER, jwt_authn.config(None)),
        _discovered(RBAC_FILTER, rbac.config(None)),
        _discovered(IDENTITY_FILTER, identity.config(None, None)),
    ]


def _exactly(*names: str) -> list[string_pb2.StringMatcher]:
    return [string_pb2.StringMatcher(exact=name) for name in names]


def ext_authz() -> manager_pb2.HttpFilter:
    """API keys, dev tokens, and JWTs the native filters did not vouch for, in the L09
    Python service. Only the credential headers are sent: the smaller the check request,
    the cheaper the hop."""
    vouched = metadata_pb2.MetadataMatcher(
        filter=NATIVE_AUTH_NAMESPACE,
        path=[metadata_pb2.MetadataMatcher.PathSegment(key=NATIVE_PRINCIPAL_KEY)],
        value=value_pb2.ValueMatcher(present_match=True),
        invert=True,
    )
    return _filter(
        EXT_AUTHZ_FILTER,
        ext_authz_pb2.ExtAuthz(
            grpc_service=_to_authz(AUTHZ_TIMEOUT),
            transport_api_version=_V3,
            # Skipped for calls the identity filter vouched for (a verified JWT).
            filter_enabled_metadata=vouched,
            failure_mode_allow=False,
            # The auth service unreachable: 503 (E9503), never an open door.
            status_on_error=http_status_pb2.HttpStatus(
                code=http_status_pb2.StatusCode.ServiceUnavailable
            ),
            allowed_headers=string_pb2.ListStringMatcher(
                patterns=_exactly(
                    "authorization",
                    "x-api-key",
                    "content-type",
                    # Set by the transcoder: the call came as REST (no gRPC status to name).
                    ORIGINAL_PATH_HEADER,
                )
            ),
        ),
    )


def _request_header(
    name: str, key: str, skip_if_absent: bool = False
) -> route_pb2.RateLimit.Action:
    return route_pb2.RateLimit.Action(
        request_headers=route_pb2.RateLimit.Action.RequestHeaders(
            header_name=name, descriptor_key=key, skip_if_absent=skip_if_absent
        )
    )


def global_ratelimit() -> manager_pb2.HttpFilter:
    """For JWT callers: keyed by the tier, principal and RPC the identity filter put in the
    request headers. Calls without the metered-tier header (unlimited tiers, calls paid from
    a lease the service granted, and callers ext_authz admitted, whose limits it applied
    itself) never reach the service."""
    # skip_if_absent left false: a call missing any of the first three headers (an unlimited
    # tier) produces no descriptor, so Envoy does not call the service at all. (True would
    # send a descriptor without the entry, which the service would meter on the default tier.)
    actions = [
        _request_header(METERED_TIER_HEADER, "tier"),
        _request_header(PRINCIPAL_HEADER, "principal"),
        _request_header(RPC_HEADER, "rpc"),
        # Present only when the call asks for the next lease.
        _request_header(LEASE_HEADER, LEASE_DESCRIPTOR_KEY, skip_if_absent=True),
    ]
    return _filter(
        RATELIMIT_FILTER,
        rate_limit_pb2.RateLimit(
            domain=RATELIMIT_DOMAIN,
            timeout=RATELIMIT_TIMEOUT,
            # The limit service unreachable: let calls through (the local ceiling still
            # holds). Redis down is decided per tier inside the service.
            failure_mode_deny=False,
            rate_limited_as_resource_exhausted=True,
            enable_x_ratelimit_headers=rate_limit_pb2.RateLimit.DRAFT_VERSION_03,
            rate_limit_service=rls_pb2.RateLimitServiceConfig(
                grpc_service=_to_authz(RATELIMIT_TIMEOUT), transport_api_version=_V3
            ),
            rate_limits=[route_pb2.RateLimit(actions=actions)],
        ),
    )


def buffer() -> manager_pb2.HttpFilter:
    """REST bodies are read whole before the 413: answering mid-upload makes Envoy close a
    connection the client is still writing to, and most clients then see a reset."""
    return _filter(BUFFER_FILTER, buffer_pb2.Buffer(max_request_bytes=u32(MAX_BUFFERED_BODY)))


def body_size_limit() -> manager_pb2.HttpFilter:
    return _filter(BODY_SIZE_LIMIT_FILTER, BodySizeLimit(max_request_bytes=u32(MAX_REST_BODY)))


def transcoder(services: list[str], descriptor: str) -> manager_pb2.HttpFilter:
    return _filter(
        TRANSCODER_FILTER,
        transcoder_pb2.GrpcJsonTranscoder(
            proto_descriptor=descriptor,
            services=services,
            convert_grpc_status=True,
            auto_mapping=False,
            # Unknown REST paths get a 404 here (plain routes opt out of the transcoder).
            request_validation_options=transcoder_pb2.GrpcJsonTranscoder.RequestValidationOptions(
                reject_unknown_method=True,
                # 400 naming the parameter (otherwise no method matches: an empty 404).
                reject_unknown_query_parameters=True,
            ),
            max_request_body_size=u32(MAX_REST_BODY),
            max_response_body_size=u32(MAX_BUFFERED_BODY),
            print_options=transcoder_pb2.GrpcJsonTranscoder.PrintOptions(
                preserve_proto_field_names=True,
                always_print_primitive_fields=True,
                stream_newline_delimited=True,
            ),
        ),
    )


def rest_guard(config: lua_pb2.Lua) -> manager_pb2.HttpFilter:
    """405s and strict JSON bodies for REST calls (render/rest_guard.py says why in Lua)."""
    return _filter(REST_GUARD_FILTER, config)


def router() -> manager_pb2.HttpFilter:
    return _filter("envoy.filters.http.router", router_pb2.Router())


def chain(services: list[str], descriptor: str, guard: lua_pb2.Lua) -> list[manager_pb2.HttpFilter]:
    return [
        connect_marker(),
        connect_bridge(),
        grpc_web(),
        clean_request_headers(),
        local_ceiling(),
        buffer(),
        body_size_limit(),
        rest_guard(guard),
        transcoder(services, descriptor),
        # After the transcoder: a REST call has a route (and the virtual host's policy) only
        # once its path is rewritten. Preflights have their own route (see routes.py).
        cors(),
        *native_jwt(),
        ext_authz(),
        global_ratelimit(),
        router(),
    ]
