"""Envoy's rate limit service (envoy.service.ratelimit.v3) over :class:`RateLimiter`.

Envoy sends one descriptor per call, ``tier``, ``principal`` and ``rpc``, read from the
headers the identity filter sets for JWTs Envoy verified. Over the limit Envoy answers 429
(gRPC RESOURCE_EXHAUSTED, E9001) with ``retry-after`` and the ``x-ratelimit-*`` headers
built from this answer. Callers ext_authz admits (API keys) are limited there, in the same
call: :func:`limit_headers` gives them the same headers.

A lease Redis grants goes back to Envoy in the answer's dynamic metadata: the identity filter
of the worker that asked spends it on the caller's next calls without asking again, and adds
the same headers itself (see limits.py for what leases guarantee). Before it runs out, one
call it paid for asks for the next (descriptor entry ``lease=renew``): that call is never
refused, and the answer carries whatever lease the bucket can give. Calls a worker sends
while it waits for a lease say ``lease=none``: they take their own token only, or calls
arriving together would each take a lease and empty the bucket.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.ratelimit.v3 import rls_pb2 as pb
from envoy.service.ratelimit.v3 import rls_pb2_grpc as pb_grpc
from google.protobuf import duration_pb2, struct_pb2
from google.rpc import code_pb2

from services.l09_gateway.limits import HANDED_LEASE_SECONDS, Decision, RateLimiter
from services.l09_gateway.names import (
    LEASE_DESCRIPTOR_KEY,
    LEASE_LIMIT_KEY,
    LEASE_MOST_KEY,
    LEASE_REMAINING_KEY,
    LEASE_TOKENS_KEY,
    LEASE_TTL_KEY,
    NO_LEASE,
    RENEWAL,
)
from services.l09_gateway.policy import Policy
from services.l09_gateway.status_details import DETAILS_HEADER, RATE_LIMITED, details_value

Response = pb.RateLimitResponse
Unit = Response.RateLimit.Unit
# Looked up once: every call builds an answer from them (enum attributes are slow to reach).
_OK, _OVER_LIMIT = Response.OK, Response.OVER_LIMIT
_SECOND, _DAY = Unit.SECOND, Unit.DAY
_NO_WAIT = duration_pb2.Duration()
_UNLIMITED = Response(overall_code=_OK)


@functools.lru_cache(maxsize=1024)
def _limit(requests_per_unit: int, unit: int) -> pb.RateLimitResponse.RateLimit:
    return Response.RateLimit(requests_per_unit=requests_per_unit, unit=unit)


def _status(decision: Decision) -> pb.RateLimitResponse.DescriptorStatus:
    tier = decision.tier
    if decision.quota_exceeded:
        limit = _limit(tier.daily, _DAY)
    else:
        limit = _limit(max(1, round(tier.rate)), _SECOND)
    wait = math.ceil(decision.retry_after)
    return Response.DescriptorStatus(
        code=_OK if decision.allowed else _OVER_LIMIT,
        current_limit=limit,
        limit_remaining=decision.remaining,
        duration_until_reset=duration_pb2.Duration(seconds=wait) if wait else _NO_WAIT,
    )


def limit_headers(decision: Decision) -> list[tuple[str, str]]:
    """The ``x-ratelimit-*`` headers Envoy's filter sends (draft 03) for this decision."""
    tier = decision.tier
    limit, window = (tier.daily, 86_400) if decision.quota_exceeded else (tier.rate, 1)
    shown = max(1, round(limit))
    return [
        ("x-ratelimit-limit", f"{shown}, {shown};w={window}"),
        ("x-ratelimit-remaining", str(decision.remaining)),
        ("x-ratelimit-reset", str(math.ceil(decision.retry_after))),
    ]


def _lease(decision: Decision) -> struct_pb2.Struct:
    lease = struct_pb2.Struct()
    lease.update(
        {
            LEASE_TOKENS_KEY: decision.lease,
            LEASE_TTL_KEY: HANDED_LEASE_SECONDS * 1000,
            LEASE_REMAINING_KEY: decision.remaining,
            LEASE_LIMIT_KEY: limit_headers(decision)[0][1],
            LEASE_MOST_KEY: decision.tier.most_calls_left,
        }
    )
    return lease


def response_for(decision: Decision) -> pb.RateLimitResponse:
    if decision.tier.unlimited:
        return _UNLIMITED
    if decision.allowed:
        response = Response(overall_code=_OK, statuses=[_status(decision)])
        if decision.lease:
            response.dynamic_metadata.CopyFrom(_lease(decision))
        return response
    response = Response(overall_code=_OVER_LIMIT, statuses=[_status(decision)])
    details = details_value(code_pb2.RESOURCE_EXHAUSTED, decision.message, RATE_LIMITED)
    response.response_headers_to_add.extend(
        [
            base_pb2.HeaderValue(key="retry-after", value=str(decision.wait_seconds)),
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
            return _UNLIMITED
        entries = {entry.key: entry.value for entry in request.descriptors[0].entries}
        tier = self._policy().tier(entries.get("tier"))
        principal, rpc = entries.get("principal", "anonymous"), entries.get("rpc", "")
        lease = entries.get(LEASE_DESCRIPTOR_KEY)
        if lease == RENEWAL:
            decision = await self._limiter.renew(tier, principal, rpc)
        else:
            decision = await self._limiter.check(
                tier, principal, rpc, hand_over=True, single=lease == NO_LEASE
            )
        return response_for(decision)
