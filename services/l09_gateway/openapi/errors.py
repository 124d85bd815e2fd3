"""The error answers of an operation: the ``google.rpc.Status`` JSON that the transcoder makes
of a layer's status and that Envoy's local replies copy, with the platform code (E-code) in a
``google.rpc.ErrorInfo`` and, for bad input, a ``google.rpc.BadRequest`` naming the fields."""

from __future__ import annotations

from typing import Any

from services.kit.layers import Layer

STATUS_COMPONENT = "google.rpc.Status"

_DETAIL: dict[str, Any] = {
    "type": "object",
    "description": "A google.protobuf.Any: google.rpc.ErrorInfo (reason = the E-code, domain = "
    "the layer, e.g. data.agentic, or gateway.agentic; metadata.field names a bad field) or "
    "google.rpc.BadRequest (field_violations).",
    "required": ["@type"],
    "properties": {
        "@type": {"type": "string"},
        "reason": {"type": "string", "pattern": "^E[0-9]{4,5}$"},
        "domain": {"type": "string"},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        "field_violations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "description": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "google.rpc.Status: the gRPC code, a message that starts with the E-code "
    "when a layer sent it, and details holding a google.rpc.ErrorInfo whose reason is the "
    "platform code (E0xxx ... E14xxx, E9xxx for the gateway).",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "integer", "minimum": 0, "maximum": 16},
        "message": {"type": "string"},
        "details": {"type": "array", "items": _DETAIL},
    },
}

# What each status means for any operation; "{layer}" is the layer's own codes, E9xxx are the
# gateway's.
_ALWAYS = {
    "400": "INVALID_ARGUMENT or FAILED_PRECONDITION: a field the layer refuses ({layer}; "
    "details name the field), or a body or query value that is not valid JSON for the method "
    "(E9400)",
    "401": "UNAUTHENTICATED: no credentials, or malformed, expired or revoked ones (E9401)",
    "403": "PERMISSION_DENIED: the principal's roles do not allow this RPC (E9403), or the "
    "layer refuses the caller ({layer})",
    "429": "RESOURCE_EXHAUSTED: over the rate limit or quota, see retry-after (E9001), or a "
    "limit or budget of the layer ({layer})",
    "500": "INTERNAL: the layer failed ({layer})",
    "503": "UNAVAILABLE: the layer is unreachable, unhealthy or overloaded (E9503)",
    "504": "DEADLINE_EXCEEDED: the layer did not answer within the route timeout (E9504)",
}
_NOT_FOUND = "NOT_FOUND: no such resource ({layer})"
_CONFLICT = (
    "ALREADY_EXISTS or ABORTED: the resource exists already, or an expected version or "
    "revision does not match ({layer})"
)
_TOO_LARGE = "RESOURCE_EXHAUSTED: the request body is over the gateway's limit (E9413)"


def error_responses(
    layer: Layer, *, has_body: bool, names_a_resource: bool, mutates: bool
) -> dict[str, Any]:
    """The error answers of one operation of ``layer``, each a Status with its meaning."""
    first, last = layer.error_range.start, layer.error_range.stop - 1
    codes = f"E{first:04d}-E{last:04d}, domain {layer.domain}"
    meanings = {status: text.format(layer=codes) for status, text in _ALWAYS.items()}
    if names_a_resource or mutates:
        meanings["404"] = _NOT_FOUND.format(layer=codes)
    if mutates:
        meanings["409"] = _CONFLICT.format(layer=codes)
    if has_body:
        meanings["413"] = _TOO_LARGE
    return {
        status: {
            "description": meaning,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{STATUS_COMPONENT}"}}
            },
        }
        for status, meaning in sorted(meanings.items())
    }
