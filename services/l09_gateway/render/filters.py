"""The listener's HTTP filter chain, in order.

Client-facing edges first (gRPC-Web, stripping identity headers a client might forge and
header names gRPC metadata cannot carry, the per-instance ceiling), then REST bodies
(buffer, size limit, transcoding), then CORS, who may call and how often (the global rate
limit), and routing. Auth and limits run after the transcoder because only then does a REST
call have a route: they see every call, REST or gRPC, as the gRPC path of its method.

Who may call: JWTs are verified in Envoy (jwt_authn, rbac, the identity filter; their
configuration comes from the L09 process over ECDS, see services/l09_gateway/native); every
other credential, and any call the identity filter did not vouch for, goes to ext_authz.
"""

from __future__ import annotations

from typing import Any

from services.l09_gateway.names import (
    AUTHZ_CLUSTER,
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
    RBAC_FILTER,
    RPC_HEADER,
)
from services.l09_gateway.native import identity, jwt_authn, rbac

MAX_REST_BODY = 8 * 1024 * 1024
MAX_BUFFERED_BODY = 16 * 1024 * 1024

# Per-instance ceiling: protects this Envoy and the layers behind it whatever the global
# limit service says (or when it cannot be reached).
LOCAL_CEILING = {"max_tokens": 20000, "tokens_per_fill": 10000, "fill_interval": "1s"}


def _typed(type_name: str, **config: Any) -> dict[str, Any]:
    return {"@type": f"type.googleapis.com/{type_name}", **config}


def _grpc_service(timeout: str) -> dict[str, Any]:
    return {"envoy_grpc": {"cluster_name": AUTHZ_CLUSTER}, "timeout": timeout}


def cors() -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.cors",
        "typed_config": _typed("envoy.extensions.filters.http.cors.v3.Cors"),
    }


def grpc_web() -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.grpc_web",
        "typed_config": _typed("envoy.extensions.filters.http.grpc_web.v3.GrpcWeb"),
    }


# HTTP allows header names gRPC metadata does not (e.g. "*", "'", "|"); a layer would fail
# the whole call (INTERNAL) on one of them. They can mean nothing to a layer: drop them. The
# names are lower case by now; pseudo-headers (":path") are kept.
NON_METADATA_HEADER = "[^:a-z0-9_.-].*|[^:].*[^a-z0-9_.-].*"


def clean_request_headers() -> dict[str, Any]:
    """Removes identity headers a client sent (only ext_authz and the identity filter may set
    them) and header names gRPC metadata cannot carry, in one native filter: a Lua script
    would run on every request."""
    mutations: list[dict[str, Any]] = [{"remove": name} for name in IDENTITY_HEADERS]
    mutations.append(
        {"remove_on_match": {"key_matcher": {"safe_regex": {"regex": NON_METADATA_HEADER}}}}
    )
    return {
        "name": "envoy.filters.http.header_mutation",
        "typed_config": _typed(
            "envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
            mutations={"request_mutations": mutations},
        ),
    }


def local_ceiling() -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.local_ratelimit",
        "typed_config": _typed(
            "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
            stat_prefix="local_ceiling",
            token_bucket=LOCAL_CEILING,
            filter_enabled={
                "runtime_key": "l09.local_ceiling.enabled",
                "default_value": {"numerator": 100, "denominator": "HUNDRED"},
            },
            filter_enforced={
                "runtime_key": "l09.local_ceiling.enforced",
                "default_value": {"numerator": 100, "denominator": "HUNDRED"},
            },
            rate_limited_as_resource_exhausted=True,
            response_headers_to_add=[
                {
                    "header": {"key": "retry-after", "value": "1"},
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                }
            ],
        ),
    }


def _discovered(name: str, default: dict[str, Any]) -> dict[str, Any]:
    """A filter whose configuration the L09 process serves (ECDS). Envoy waits for it at
    start (up to the fetch timeout, then uses ``default``) and keeps the last one it got
    while the process is away."""
    return {
        "name": name,
        "config_discovery": {
            "config_source": {
                "api_config_source": {
                    "api_type": "GRPC",
                    "transport_api_version": "V3",
                    "grpc_services": [{"envoy_grpc": {"cluster_name": AUTHZ_CLUSTER}}],
                    "set_node_on_first_message_only": True,
                },
                "resource_api_version": "V3",
                "initial_fetch_timeout": "10s",
            },
            "default_config": default,
            "type_urls": [default["@type"]],
        },
    }


def native_jwt() -> list[dict[str, Any]]:
    """Verify JWTs, apply the roles, forward the caller. The defaults verify nothing and
    forward nothing, so without the process's configuration every call goes to ext_authz
    (and the RBAC default refuses any JWT a stray jwt_authn configuration verified)."""
    return [
        _discovered(JWT_AUTHN_FILTER, jwt_authn.config(None)),
        _discovered(RBAC_FILTER, rbac.config(None)),
        _discovered(IDENTITY_FILTER, identity.config(None, None)),
    ]


def ext_authz() -> dict[str, Any]:
    """API keys, dev tokens, and JWTs the native filters did not vouch for, in the L09
    Python service. Only the credential headers are sent: the smaller the check request,
    the cheaper the hop."""
    return {
        "name": "envoy.filters.http.ext_authz",
        "typed_config": _typed(
            "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
            grpc_service=_grpc_service("1s"),
            transport_api_version="V3",
            # Skipped for calls the identity filter vouched for (a verified JWT).
            filter_enabled_metadata={
                "filter": NATIVE_AUTH_NAMESPACE,
                "path": [{"key": NATIVE_PRINCIPAL_KEY}],
                "value": {"present_match": True},
                "invert": True,
            },
            failure_mode_allow=False,
            # The auth service unreachable: 503 (E9503), never an open door.
            status_on_error={"code": "ServiceUnavailable"},
            allowed_headers={
                "patterns": [
                    {"exact": "authorization"},
                    {"exact": "x-api-key"},
                    {"exact": "content-type"},
                    # Set by the transcoder: the call came as REST (no gRPC status to name).
                    {"exact": ORIGINAL_PATH_HEADER},
                ]
            },
        ),
    }


def global_ratelimit() -> dict[str, Any]:
    """For JWT callers: keyed by the tier, principal and RPC the identity filter put in the
    request headers. Calls without the metered-tier header (unlimited tiers, calls paid from
    a lease the service granted, and callers ext_authz admitted, whose limits it applied
    itself) never reach the service."""

    def header(name: str, key: str) -> dict[str, Any]:
        # skip_if_absent left false: a call missing any of these headers (an unlimited tier)
        # produces no descriptor, so Envoy does not call the service at all. (True would send
        # a descriptor without the entry, which the service would meter on the default tier.)
        return {"request_headers": {"header_name": name, "descriptor_key": key}}

    return {
        "name": "envoy.filters.http.ratelimit",
        "typed_config": _typed(
            "envoy.extensions.filters.http.ratelimit.v3.RateLimit",
            domain=RATELIMIT_DOMAIN,
            timeout="0.25s",
            # The limit service unreachable: let calls through (the local ceiling still
            # holds). Redis down is decided per tier inside the service.
            failure_mode_deny=False,
            rate_limited_as_resource_exhausted=True,
            enable_x_ratelimit_headers="DRAFT_VERSION_03",
            rate_limit_service={
                "grpc_service": _grpc_service("0.25s"),
                "transport_api_version": "V3",
            },
            rate_limits=[
                {
                    "actions": [
                        header(METERED_TIER_HEADER, "tier"),
                        header(PRINCIPAL_HEADER, "principal"),
                        header(RPC_HEADER, "rpc"),
                        # Present only when the call asks for the next lease.
                        {
                            "request_headers": {
                                "header_name": LEASE_HEADER,
                                "descriptor_key": LEASE_DESCRIPTOR_KEY,
                                "skip_if_absent": True,
                            }
                        },
                    ]
                }
            ],
        ),
    }


def buffer() -> dict[str, Any]:
    """REST bodies are read whole before the 413: answering mid-upload makes Envoy close a
    connection the client is still writing to, and most clients then see a reset."""
    return {
        "name": "envoy.filters.http.buffer",
        "typed_config": _typed(
            "envoy.extensions.filters.http.buffer.v3.Buffer", max_request_bytes=MAX_BUFFERED_BODY
        ),
    }


def body_size_limit() -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.body_size_limit",
        "typed_config": _typed(
            "envoy.extensions.filters.http.body_size_limit.v3.BodySizeLimit",
            max_request_bytes=MAX_REST_BODY,
        ),
    }


def transcoder(services: list[str], descriptor: str) -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.grpc_json_transcoder",
        "typed_config": _typed(
            "envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
            proto_descriptor=descriptor,
            services=services,
            convert_grpc_status=True,
            auto_mapping=False,
            # Unknown REST paths get a 404 here (plain routes opt out of the transcoder).
            request_validation_options={"reject_unknown_method": True},
            max_request_body_size=MAX_REST_BODY,
            max_response_body_size=MAX_BUFFERED_BODY,
            print_options={
                "preserve_proto_field_names": True,
                "always_print_primitive_fields": True,
                "stream_newline_delimited": True,
            },
        ),
    }


def router() -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.router",
        "typed_config": _typed("envoy.extensions.filters.http.router.v3.Router"),
    }


def chain(services: list[str], descriptor: str) -> list[dict[str, Any]]:
    return [
        grpc_web(),
        clean_request_headers(),
        local_ceiling(),
        buffer(),
        body_size_limit(),
        transcoder(services, descriptor),
        # After the transcoder: a REST call has a route (and the virtual host's policy) only
        # once its path is rewritten. Preflights have their own route (see routes.py).
        cors(),
        *native_jwt(),
        ext_authz(),
        global_ratelimit(),
        router(),
    ]
