"""Envoy's own replies as JSON with a gateway code (E9xxx), for REST clients.

REST clients read one error shape, the google.rpc.Status JSON the transcoder gives a layer's
errors. gRPC clients keep plain gRPC statuses: the JSON mappers only match requests that were
not gRPC on arrival (the transcoder rewrites a REST request's content-type but leaves
``x-envoy-original-path``). The first matching mapper wins, so each REST mapper comes before
the gRPC one of the same case (a transcoded REST request has a gRPC content-type too).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import NamedTuple

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.config.core.v3 import base_pb2, substitution_format_string_pb2
from envoy.config.route.v3 import route_components_pb2 as route_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as manager_pb2,
)
from envoy.type.matcher.v3 import metadata_pb2, string_pb2, value_pb2
from google.protobuf import json_format, struct_pb2, wrappers_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from services.l09_gateway import status_details
from services.l09_gateway.names import (
    JWT_AUTHN_FILTER,
    JWT_FAILURE_KEY,
    JWT_PAYLOAD_KEY,
    ORIGINAL_PATH_HEADER,
)
from services.l09_gateway.render.filters import MAX_REST_BODY
from services.l09_gateway.render.typed import packed, u32
from services.l09_gateway.status_details import DETAILS_HEADER, DOMAIN, details_value

_MIB = 1024 * 1024


class LocalReply(NamedTuple):
    status: HTTPStatus
    code: int  # the gRPC code in the body (google.rpc.Code)
    reason: str  # the E-code
    meaning: str
    # What the message says after the code (Envoy's command operators); the reply's own
    # body (a filter's or the transcoder's words) by default.
    says: str = "%LOCAL_REPLY_BODY%"

    def message(self, says: str | None = None) -> str:
        """Every message of the gateway starts with its code, as the layers' do."""
        return f"{self.reason}: {self.says if says is None else says}"


BAD_REQUEST = LocalReply(
    HTTPStatus.BAD_REQUEST,
    code_pb2.INVALID_ARGUMENT,
    "E9400",
    "a body the method's JSON mapping does not allow (the key named), an unknown query "
    "parameter, or malformed HTTP",
)
UNAUTHENTICATED = LocalReply(
    HTTPStatus.UNAUTHORIZED,
    code_pb2.UNAUTHENTICATED,
    status_details.UNAUTHENTICATED,
    "no credentials, or credentials that are malformed, expired or revoked",
)
FORBIDDEN = LocalReply(
    HTTPStatus.FORBIDDEN,
    code_pb2.PERMISSION_DENIED,
    status_details.PERMISSION_DENIED,
    "the principal's roles do not allow this RPC",
)
NOT_FOUND = LocalReply(
    HTTPStatus.NOT_FOUND,
    code_pb2.NOT_FOUND,
    "E9404",
    "no REST method or route for this path",
    # The transcoder's own words differ by case, and an unknown query parameter had none.
    "no route for %REQ(:METHOD)% %PATH(NQ)%",
)
METHOD_NOT_ALLOWED = LocalReply(
    HTTPStatus.METHOD_NOT_ALLOWED,
    code_pb2.UNIMPLEMENTED,
    "E9405",
    "the path takes other methods, listed in `allow`",
)
# Envoy's HTTP codec refuses larger request headers (all of them together) before any filter.
MAX_REQUEST_HEADERS_KIB = 60
HEADERS_TOO_LARGE = LocalReply(
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
    # The client's request is at fault, and sending it again will not help.
    code_pb2.INVALID_ARGUMENT,
    "E9431",
    f"the request headers are over {MAX_REQUEST_HEADERS_KIB} KiB",
    # The codec's own words are only the status's name.
    f"the request headers are over {MAX_REQUEST_HEADERS_KIB} KiB",
)
LOCAL_REPLIES: tuple[LocalReply, ...] = (
    BAD_REQUEST,
    UNAUTHENTICATED,
    FORBIDDEN,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    LocalReply(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        code_pb2.RESOURCE_EXHAUSTED,
        "E9413",
        f"the request body is over {MAX_REST_BODY // _MIB} MiB",
    ),
    HEADERS_TOO_LARGE,
    LocalReply(
        HTTPStatus.TOO_MANY_REQUESTS,
        code_pb2.RESOURCE_EXHAUSTED,
        status_details.RATE_LIMITED,
        "over the rate limit or quota; see retry-after",
    ),
    LocalReply(
        HTTPStatus.BAD_GATEWAY,
        code_pb2.UNAVAILABLE,
        "E9502",
        "the layer broke the protocol or reset the stream",
    ),
    LocalReply(
        HTTPStatus.SERVICE_UNAVAILABLE,
        code_pb2.UNAVAILABLE,
        "E9503",
        "the layer is unreachable, unhealthy or overloaded",
    ),
    LocalReply(
        HTTPStatus.GATEWAY_TIMEOUT,
        code_pb2.DEADLINE_EXCEEDED,
        "E9504",
        "the layer did not answer within the route timeout",
    ),
)
# Any other error status Envoy produced itself (the mapper matches every status from 400).
OTHER = LocalReply(
    HTTPStatus.BAD_REQUEST,
    code_pb2.INTERNAL,
    "E9500",
    "any other error status Envoy produced itself",
)

# Replies about a layer (unreachable, broken, too slow) name it in the message.
_ABOUT_A_LAYER = (
    HTTPStatus.BAD_GATEWAY,
    HTTPStatus.SERVICE_UNAVAILABLE,
    HTTPStatus.GATEWAY_TIMEOUT,
)
_LAYER_UNAVAILABLE = "layer %UPSTREAM_CLUSTER% unavailable: %LOCAL_REPLY_BODY%"

_EQ = accesslog_pb2.ComparisonFilter.EQ
_GE = accesslog_pb2.ComparisonFilter.GE
_GRPC_CONTENT_TYPE = "application/grpc"


def _header_filter(header: route_pb2.HeaderMatcher) -> accesslog_pb2.AccessLogFilter:
    return accesslog_pb2.AccessLogFilter(header_filter=accesslog_pb2.HeaderFilter(header=header))


def _grpc_content(invert: bool = False) -> route_pb2.HeaderMatcher:
    return route_pb2.HeaderMatcher(
        name="content-type",
        string_match=string_pb2.StringMatcher(prefix=_GRPC_CONTENT_TYPE),
        invert_match=invert,
        treat_missing_header_as_empty=invert,
    )


_REST_ONLY = accesslog_pb2.AccessLogFilter(
    or_filter=accesslog_pb2.OrFilter(
        filters=[
            _header_filter(_grpc_content(invert=True)),
            _header_filter(route_pb2.HeaderMatcher(name=ORIGINAL_PATH_HEADER, present_match=True)),
        ]
    )
)
_GRPC_ONLY = _header_filter(_grpc_content())


def _all_of(*filters: accesslog_pb2.AccessLogFilter) -> accesslog_pb2.AccessLogFilter:
    return accesslog_pb2.AccessLogFilter(and_filter=accesslog_pb2.AndFilter(filters=filters))


def _status_is(op: int, status: int, runtime_key: str) -> accesslog_pb2.AccessLogFilter:
    comparison = accesslog_pb2.ComparisonFilter(
        op=op, value=base_pb2.RuntimeUInt32(default_value=status, runtime_key=runtime_key)
    )
    return accesslog_pb2.AccessLogFilter(
        status_code_filter=accesslog_pb2.StatusCodeFilter(comparison=comparison)
    )


def _json_status(
    code: int, message: str, reason: str
) -> substitution_format_string_pb2.SubstitutionFormatString:
    """A google.rpc.Status with an ErrorInfo, as JSON, naming the layer the call was for
    (its cluster), e.g. the one that is down."""
    info = error_details_pb2.ErrorInfo(
        reason=reason, domain=DOMAIN, metadata={"layer": "%UPSTREAM_CLUSTER%"}
    )
    status = status_pb2.Status(code=code, message=message, details=[packed(info)])
    body = struct_pb2.Struct()
    body.update(json_format.MessageToDict(status))
    return substitution_format_string_pb2.SubstitutionFormatString(
        content_type="application/json",
        # A call no route took has no layer: leave the key out rather than send null.
        omit_empty_values=True,
        json_format=body,
    )


def _text(text: str) -> substitution_format_string_pb2.SubstitutionFormatString:
    return substitution_format_string_pb2.SubstitutionFormatString(
        text_format_source=base_pb2.DataSource(inline_string=text)
    )


def _mapper(op: int, reply: LocalReply, runtime_key: str) -> manager_pb2.ResponseMapper:
    message = reply.message(_LAYER_UNAVAILABLE if reply.status in _ABOUT_A_LAYER else None)
    return manager_pb2.ResponseMapper(
        filter=_all_of(_status_is(op, reply.status, runtime_key), _REST_ONLY),
        body_format_override=_json_status(reply.code, message, reply.reason),
    )


def _jwt_metadata(*path: str) -> accesslog_pb2.AccessLogFilter:
    """True when jwt_authn's metadata has a value at ``path`` (absent: false, not the
    filter's default of true)."""
    matcher = metadata_pb2.MetadataMatcher(
        filter=JWT_AUTHN_FILTER,
        path=[metadata_pb2.MetadataMatcher.PathSegment(key=key) for key in path],
        value=value_pb2.ValueMatcher(present_match=True),
    )
    return accesslog_pb2.AccessLogFilter(
        metadata_filter=accesslog_pb2.MetadataFilter(
            matcher=matcher, match_if_key_not_found=wrappers_pb2.BoolValue(value=False)
        )
    )


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


def _details(reply: LocalReply, message: str) -> list[base_pb2.HeaderValueOption]:
    value = details_value(reply.code, message, reply.reason)
    return [
        base_pb2.HeaderValueOption(
            header=base_pb2.HeaderValue(key=DETAILS_HEADER, value=value),
            append_action=base_pb2.HeaderValueOption.ADD_IF_ABSENT,
        )
    ]


def _native_auth_mappers() -> list[manager_pb2.ResponseMapper]:
    refused = _jwt_metadata(JWT_FAILURE_KEY, "code")
    denied = [
        _status_is(_EQ, FORBIDDEN.status, "l09.lr.rbac"),
        _jwt_metadata(JWT_PAYLOAD_KEY, "sub"),
    ]
    unauthorized = u32(UNAUTHENTICATED.status)
    return [
        manager_pb2.ResponseMapper(
            filter=_all_of(refused, _REST_ONLY),
            status_code=unauthorized,
            body_format_override=_json_status(
                UNAUTHENTICATED.code,
                UNAUTHENTICATED.message(_INVALID_JWT),
                UNAUTHENTICATED.reason,
            ),
        ),
        manager_pb2.ResponseMapper(
            filter=_all_of(refused, _GRPC_ONLY),
            status_code=unauthorized,
            body_format_override=_text(UNAUTHENTICATED.message(_INVALID_JWT)),
            headers_to_add=_details(UNAUTHENTICATED, "invalid JWT"),
        ),
        manager_pb2.ResponseMapper(
            filter=_all_of(*denied, _REST_ONLY),
            body_format_override=_json_status(
                FORBIDDEN.code, FORBIDDEN.message(_NOT_ALLOWED), FORBIDDEN.reason
            ),
        ),
        manager_pb2.ResponseMapper(
            filter=_all_of(*denied, _GRPC_ONLY),
            body_format_override=_text(FORBIDDEN.message(_NOT_ALLOWED)),
            headers_to_add=_details(FORBIDDEN, "the caller's roles do not allow this RPC"),
        ),
    ]


def _grpc_mapper(reply: LocalReply) -> manager_pb2.ResponseMapper:
    """For gRPC clients the message (grpc-message) names the layer too."""
    status = reply.status
    return manager_pb2.ResponseMapper(
        filter=_all_of(_status_is(_EQ, status, f"l09.lr.grpc.{status.value}"), _GRPC_ONLY),
        body_format_override=_text(reply.message(_LAYER_UNAVAILABLE)),
    )


def _bad_framing_mapper() -> manager_pb2.ResponseMapper:
    """Envoy's HTTP/1 codec answers a transfer coding it does not know with 501 (RFC 9112):
    the client's request is at fault, so it is a 400 E9400 that names the reason."""
    return manager_pb2.ResponseMapper(
        # Envoy's only own 501 (mappers see local replies only, not a layer's answers).
        filter=_status_is(_EQ, HTTPStatus.NOT_IMPLEMENTED, "l09.lr.framing"),
        status_code=u32(BAD_REQUEST.status),
        body_format_override=_json_status(
            BAD_REQUEST.code,
            BAD_REQUEST.message("malformed HTTP request: %RESPONSE_CODE_DETAILS%"),
            BAD_REQUEST.reason,
        ),
    )


def local_reply_config() -> manager_pb2.LocalReplyConfig:
    mappers = [_bad_framing_mapper(), *_native_auth_mappers()]
    mappers += [_mapper(_EQ, reply, f"l09.lr.{reply.status.value}") for reply in LOCAL_REPLIES]
    mappers += [_grpc_mapper(reply) for reply in LOCAL_REPLIES if reply.status in _ABOUT_A_LAYER]
    mappers.append(_mapper(_GE, OTHER, "l09.lr.any"))
    return manager_pb2.LocalReplyConfig(mappers=mappers)
