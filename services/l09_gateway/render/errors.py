"""Envoy's own replies as JSON with a gateway code (E9xxx), for REST clients.

REST clients read one error shape, the google.rpc.Status JSON the transcoder gives a layer's
errors. gRPC clients keep plain gRPC statuses: the mappers only match requests that were not
gRPC on arrival (the transcoder rewrites a REST request's content-type but leaves
``x-envoy-original-path``).
"""

from __future__ import annotations

from typing import Any

DOMAIN = "gateway.agentic"

# (HTTP status, gRPC code in the body, E-code, what it means)
LOCAL_REPLIES: tuple[tuple[int, int, str, str], ...] = (
    (400, 3, "E9400", "the body is not valid JSON for the method, or a field has the wrong type"),
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
            {"header_filter": {"header": {"name": "x-envoy-original-path", "present_match": True}}},
        ]
    }
}


def _mapper(op: str, status: int, runtime_key: str, grpc_code: int, reason: str) -> dict[str, Any]:
    message = "%LOCAL_REPLY_BODY%"
    if status in _ABOUT_A_LAYER:
        message = "layer %UPSTREAM_CLUSTER% unavailable: %LOCAL_REPLY_BODY%"
    return {
        "filter": {
            "and_filter": {
                "filters": [
                    {
                        "status_code_filter": {
                            "comparison": {
                                "op": op,
                                "value": {"default_value": status, "runtime_key": runtime_key},
                            }
                        }
                    },
                    _REST_ONLY,
                ]
            }
        },
        "body_format_override": {
            "content_type": "application/json",
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
        },
    }


# Replies about a layer (unreachable, broken, too slow) name it in the message.
_ABOUT_A_LAYER = (502, 503, 504)


def _grpc_mapper(status: int) -> dict[str, Any]:
    """For gRPC clients the message (grpc-message) names the layer too."""
    return {
        "filter": {
            "and_filter": {
                "filters": [
                    {
                        "status_code_filter": {
                            "comparison": {
                                "op": "EQ",
                                "value": {
                                    "default_value": status,
                                    "runtime_key": f"l09.lr.grpc.{status}",
                                },
                            }
                        }
                    },
                    {
                        "header_filter": {
                            "header": {
                                "name": "content-type",
                                "string_match": {"prefix": "application/grpc"},
                            }
                        }
                    },
                ]
            }
        },
        "body_format_override": {
            "text_format": "layer %UPSTREAM_CLUSTER% unavailable: %LOCAL_REPLY_BODY%"
        },
    }


def local_reply_config() -> dict[str, Any]:
    mappers = [
        _mapper("EQ", status, f"l09.lr.{status}", code, reason)
        for status, code, reason, _ in LOCAL_REPLIES
    ]
    mappers += [_grpc_mapper(status) for status in _ABOUT_A_LAYER]
    mappers.append(_mapper("GE", 400, "l09.lr.any", OTHER[0], OTHER[1]))
    return {"mappers": mappers}
