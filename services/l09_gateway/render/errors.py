"""Envoy's own replies as JSON with a gateway code (E9xxx), for REST clients.

REST clients read one error shape, the google.rpc.Status JSON the transcoder gives a layer's
errors. gRPC clients keep plain gRPC statuses: the JSON mappers only match requests that were
not gRPC on arrival (the transcoder rewrites a REST request's content-type but leaves
``x-envoy-original-path``). The first matching mapper wins, so each REST mapper comes before
the gRPC one of the same case (a transcoded REST request has a gRPC content-type too).
"""

from __future__ import annotations

from typing import Any

from services.l09_gateway.names import (
    JWT_AUTHN_FILTER,
    JWT_FAILURE_KEY,
    JWT_PAYLOAD_KEY,
    ORIGINAL_PATH_HEADER,
)
from services.l09_gateway.status_details import DETAILS_HEADER, details_value

DOMAIN = "gateway.agentic"

# (HTTP status, gRPC code in the body, E-code, what it means)
LOCAL_REPLIES: tuple[tuple[int, int, str, str], ...] = (
    (400, 3, "E9400", "a body that is not valid JSON for the method, or malformed HTTP"),
    (401, 16, "E9401", "no credentials, or credentials that are malformed, expired or revoked"),
    (403, 7, "E9403", "the principal's roles do not allow this RPC"),
    (404, 5, "E9404", "no REST method or route for this path and verb"),
    (413, 8, "E9413", "the request body is over 8 MiB"),
    (429, 8, "E9001", "over the rate limit or quota; see retry-after"),
    (502, 14, "E9502", "the layer broke the protocol or reset the stream"),
    (503, 14, "E9503", "the layer is unreachable, unhealthy or overloaded"),
    (504, 4, "E9504", "the layer did not answer within the route timeout"),
)
OTHER = (13, "E9500", "any other error status Envoy produced itself")

_REST_ONLY: dict[str, Any] = {
    "or_filter": {
        "filters": [
            {
                "header_filter": {
                    "header": {
                        "name": "content-type",
                        "string_match": {"prefix": "application/grpc"},
                        "invert_match": True,
                        "treat_missing_header_as_empty": True,
                    }
                }
            },
            {"header_filter": {"header": {"name": ORIGINAL_PATH_HEADER, "present_match": True}}},
        ]
    }
}


_GRPC_ONLY: dict[str, Any] = {
    "header_filter": {
        "header": {"name": "content-type", "string_match": {"prefix": "application/grpc"}}
    }
}


def _status_is(op: str, status: int, runtime_key: str) -> dict[str, Any]:
    return {
        "status_code_filter": {
            "comparison": {"op": op, "value": {"default_value": status, "runtime_key": runtime_key}}
        }
    }


def _json_status(grpc_code: int, message: str, reason: str) -> dict[str, Any]:
    return {
        "content_type": "application/json",
        # A call no route took has no layer: leave the key out rather than send null.
        "omit_empty_values": True,
        "json_format": {
            "code": grpc_code,
            "message": message,
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": reason,
                    "domain": DOMAIN,
                    # The layer the call was for (its cluster), e.g. the one that is down.
                    "metadata": {"layer": "%UPSTREAM_CLUSTER%"},
                }
            ],
        },
    }


def _mapper(op: str, status: int, runtime_key: str, grpc_code: int, reason: str) -> dict[str, Any]:
    message = "%LOCAL_REPLY_BODY%"
    if status in _ABOUT_A_LAYER:
        message = "layer %UPSTREAM_CLUSTER% unavailable: %LOCAL_REPLY_BODY%"
    return {
        "filter": {"and_filter": {"filters": [_status_is(op, status, runtime_key), _REST_ONLY]}},
        "body_format_override": _json_status(grpc_code, message, reason),
    }


def _jwt_metadata(*path: str) -> dict[str, Any]:
    """True when jwt_authn's metadata has a value at ``path`` (absent: false, not the
    filter's default of true)."""
    return {
        "metadata_filter": {
            "matcher": {
                "filter": JWT_AUTHN_FILTER,
                "path": [{"key": key} for key in path],
                "value": {"present_match": True},
            },
            "match_if_key_not_found": False,
        }
    }


# jwt_authn's and rbac's own refusals, as ext_authz's would be: jwt_authn says 403 for a wrong
# audience and 401 otherwise, the gateway says 401 for any token it cannot accept; rbac's
# body names nothing, the gateway's names the caller and the RPC. gRPC clients also get the
# E-code in grpc-status-details-bin, as from ext_authz.
_INVALID_JWT = "invalid JWT: %LOCAL_REPLY_BODY%"
_NOT_ALLOWED = (
    f"%DYNAMIC_METADATA({JWT_AUTHN_FILTER}:{JWT_PAYLOAD_KEY}:sub)% "
    f"(roles: %DYNAMIC_METADATA({JWT_AUTHN_FILTER}:{JWT_PAYLOAD_KEY}:roles)%) "
    "may not call %REQ(:PATH)%"
)


def _details(grpc_code: int, message: str, reason: str) -> list[dict[str, Any]]:
    return [
        {
            "header": {"key": DETAILS_HEADER, "value": details_value(grpc_code, message, reason)},
            "append_action": "ADD_IF_ABSENT",
        }
    ]


def _native_auth_mappers() -> list[dict[str, Any]]:
    refused = _jwt_metadata(JWT_FAILURE_KEY, "code")
    denied = [_status_is("EQ", 403, "l09.lr.rbac"), _jwt_metadata(JWT_PAYLOAD_KEY, "sub")]
    return [
        {
            "filter": {"and_filter": {"filters": [refused, _REST_ONLY]}},
            "status_code": 401,
            "body_format_override": _json_status(16, _INVALID_JWT, "E9401"),
        },
        {
            "filter": {"and_filter": {"filters": [refused, _GRPC_ONLY]}},
            "status_code": 401,
            "body_format_override": {"text_format_source": {"inline_string": _INVALID_JWT}},
            "headers_to_add": _details(16, "invalid JWT", "E9401"),
        },
        {
            "filter": {"and_filter": {"filters": [*denied, _REST_ONLY]}},
            "body_format_override": _json_status(7, _NOT_ALLOWED, "E9403"),
        },
        {
            "filter": {"and_filter": {"filters": [*denied, _GRPC_ONLY]}},
            "body_format_override": {"text_format_source": {"inline_string": _NOT_ALLOWED}},
            "headers_to_add": _details(7, "the caller's roles do not allow this RPC", "E9403"),
        },
    ]


# Replies about a layer (unreachable, broken, too slow) name it in the message.
_ABOUT_A_LAYER = (502, 503, 504)


def _grpc_mapper(status: int) -> dict[str, Any]:
    """For gRPC clients the message (grpc-message) names the layer too."""
    return {
        "filter": {
            "and_filter": {
                "filters": [_status_is("EQ", status, f"l09.lr.grpc.{status}"), _GRPC_ONLY]
            }
        },
        "body_format_override": {
            "text_format_source": {
                "inline_string": "layer %UPSTREAM_CLUSTER% unavailable: %LOCAL_REPLY_BODY%"
            }
        },
    }


def _bad_framing_mapper() -> dict[str, Any]:
    """Envoy's HTTP/1 codec answers a transfer coding it does not know with 501 (RFC 9112):
    the client's request is at fault, so it is a 400 E9400 that names the reason."""
    return {
        # Envoy's only own 501 (mappers see local replies only, not a layer's answers).
        "filter": _status_is("EQ", 501, "l09.lr.framing"),
        "status_code": 400,
        "body_format_override": _json_status(
            3, "malformed HTTP request: %RESPONSE_CODE_DETAILS%", "E9400"
        ),
    }


def local_reply_config() -> dict[str, Any]:
    mappers = [_bad_framing_mapper(), *_native_auth_mappers()]
    mappers += [
        _mapper("EQ", status, f"l09.lr.{status}", code, reason)
        for status, code, reason, _ in LOCAL_REPLIES
    ]
    mappers += [_grpc_mapper(status) for status in _ABOUT_A_LAYER]
    mappers.append(_mapper("GE", 400, "l09.lr.any", OTHER[0], OTHER[1]))
    return {"mappers": mappers}
