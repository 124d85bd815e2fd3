"""Envoy's rate limit service (envoy.service.ratelimit.v3) over :class:`RateLimiter`.

Envoy sends one descriptor per call, ``tier``, ``principal`` and ``rpc``, read from the
headers ext_authz set. Over the limit Envoy answers 429 (gRPC RESOURCE_EXHAUSTED, E9001) with
``retry-after`` and the ``x-ratelimit-*`` headers built from this answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.ratelimit.v3 import rls_pb2 as pb
from envoy.service.ratelimit.v3 import rls_pb2_grpc as pb_grpc
from google.protobuf import duration_pb2
from google.rpc import code_pb2

from services.l09_gateway.limits import Decision, RateLimiter
from services.l09_gateway.policy import Policy
from services.l09_gateway.status_details import DETAILS_HEADER, details_value

Response = pb.RateLimitResponse
Unit = Response.RateLimit.Unit


def _status(decision: Decision) -> pb.RateLimitResponse.DescriptorStatus:
    tier = decision.tier
    code = Response.OK if decision.allowed else Response.OVER_LIMIT
    if decision.quota_exceeded:
        limit = Response.RateLimit(requests_per_unit=tier.daily, unit=Unit.DAY)
    else:
        limit = Response.RateLimit(requests_per_unit=max(1, round(tier.rate)), unit=Unit.SECOND)
    wait = math.ceil(decision.retry_after)
    return Response.DescriptorStatus(
        code=code,
        current_limit=limit,
        limit_remaining=decision.remaining,
        duration_until_reset=duration_pb2.Duration(seconds=wait),
    )


def response_for(decision: Decision) -> pb.RateLimitResponse:
    if decision.tier.unlimited:
        return Response(overall_code=Response.OK)
    response = Response(
        overall_code=Response.OK if decision.allowed else Response.OVER_LIMIT,
        statuses=[_status(decision)],
    )
    if not decision.allowed:
        wait = max(1, math.ceil(decision.retry_after))
        details = details_value(code_pb2.RESOURCE_EXHAUSTED, decision.message, "E9001")
        response.response_headers_to_add.extend(
            [
                base_pb2.HeaderValue(key="retry-after", value=str(wait)),
                base_pb2.HeaderValue(key=DETAILS_HEADER, value=details),
            ]
        )
        response.raw_body = decision.message.encode()
    return response


class RateLimitServicer(pb_grpc.RateLimitServiceServicer):
    def __init__(self, limiter: RateLimiter, policy: Callable[[], Policy]) -> None:
        self._limiter = limiter
        self._policy = policy

    async def ShouldRateLimit(
        self, request: pb.RateLimitRequest, context: grpc.aio.ServicerContext
    ) -> pb.RateLimitResponse:
        if not request.descriptors:
            return Response(overall_code=Response.OK)
        entries = {entry.key: entry.value for entry in request.descriptors[0].entries}
        tier = self._policy().tier(entries.get("tier"))
        decision = await self._limiter.check(
            tier, entries.get("principal", "anonymous"), entries.get("rpc", "")
        )
        return response_for(decision)
