"""Envoy's own refusals as Connect error JSON, for Connect clients.

A Connect call is plain HTTP when it arrives, so Envoy answers its refusals (401, 403, 429, 503,
...) as plain HTTP statuses: a Connect client would guess the code from the status and lose the
message and the E-code. A filter before the bridge marks Connect calls (filters.py: the bridge
removes their ``connect-protocol-version`` header), and these mappers, ahead of the others,
answer them as Connect's error JSON: the code's name, the reply's message, and the ErrorInfo.
"""

from __future__ import annotations

import base64

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.config.core.v3 import base_pb2, substitution_format_string_pb2
from envoy.config.route.v3 import route_components_pb2 as route_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as manager_pb2,
)
from google.protobuf import struct_pb2
from google.rpc import code_pb2, error_details_pb2

from services.l09_gateway.names import CONNECT_MARKER_HEADER
from services.l09_gateway.render.errors import LOCAL_REPLIES, LocalReply
from services.l09_gateway.status_details import DOMAIN

_ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"


def connect_code(code: int) -> str:
    """Connect's name of a gRPC code: ``permission_denied`` for PERMISSION_DENIED."""
    return code_pb2.Code.Name(code).lower()


def _error_json(reply: LocalReply) -> substitution_format_string_pb2.SubstitutionFormatString:
    info = error_details_pb2.ErrorInfo(reason=reply.reason, domain=DOMAIN).SerializeToString()
    body = struct_pb2.Struct()
    body.update(
        {
            "code": connect_code(reply.code),
            "message": "%LOCAL_REPLY_BODY%",
            "details": [
                {"type": _ERROR_INFO_TYPE, "value": base64.b64encode(info).decode().rstrip("=")}
            ],
        }
    )
    return substitution_format_string_pb2.SubstitutionFormatString(
        content_type="application/json", json_format=body
    )


_MARKED = accesslog_pb2.AccessLogFilter(
    header_filter=accesslog_pb2.HeaderFilter(
        header=route_pb2.HeaderMatcher(name=CONNECT_MARKER_HEADER, present_match=True)
    )
)


def _mapper(reply: LocalReply) -> manager_pb2.ResponseMapper:
    status = accesslog_pb2.AccessLogFilter(
        status_code_filter=accesslog_pb2.StatusCodeFilter(
            comparison=accesslog_pb2.ComparisonFilter(
                op=accesslog_pb2.ComparisonFilter.EQ,
                value=base_pb2.RuntimeUInt32(
                    default_value=reply.status.value,
                    runtime_key=f"l09.lr.connect.{reply.status.value}",
                ),
            )
        )
    )
    return manager_pb2.ResponseMapper(
        filter=accesslog_pb2.AccessLogFilter(
            and_filter=accesslog_pb2.AndFilter(filters=[_MARKED, status])
        ),
        body_format_override=_error_json(reply),
    )


def with_connect_errors(config: manager_pb2.LocalReplyConfig) -> manager_pb2.LocalReplyConfig:
    """``config`` with the Connect mappers first (the first matching mapper wins)."""
    return manager_pb2.LocalReplyConfig(
        mappers=[*(_mapper(reply) for reply in LOCAL_REPLIES), *config.mappers],
        body_format=config.body_format if config.HasField("body_format") else None,
    )
