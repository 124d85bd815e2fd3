"""The identity filter's Lua (services/l09_gateway/native/identity.lua), call by call.

It runs in LuaJIT as in Envoy, with the constants identity.py injects, against a stub of
Envoy's handle (tests/gateway/lua/envoy_handle.lua): Envoy cannot be driven one call at a
time with a chosen clock, which the vouchers and leases need. The gateway's integration tests
run the same script inside the real Envoy.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from lupa import luajit21

from services.l09_gateway.names import (
    EXT_AUTHZ_FILTER,
    JWT_AUTHN_FILTER,
    JWT_PAYLOAD_KEY,
    LEASE_HEADER,
    LEASE_LIMIT_KEY,
    LEASE_MOST_KEY,
    LEASE_NAMESPACE,
    LEASE_REMAINING_KEY,
    LEASE_TOKENS_KEY,
    LEASE_TTL_KEY,
    METERED_TIER_HEADER,
    NATIVE_AUTH_NAMESPACE,
    NATIVE_PRINCIPAL_KEY,
    NO_LEASE,
    PRINCIPAL_HEADER,
    RATELIMIT_FILTER,
    RENEWAL,
    ROLES_HEADER,
    RPC_HEADER,
    TENANT_HEADER,
    TIER_HEADER,
    VOUCH_MS_KEY,
    VOUCH_NAMESPACE,
    VOUCH_PRINCIPAL_KEY,
    VOUCH_ROLES_KEY,
    VOUCH_TENANT_KEY,
    VOUCH_TIER_KEY,
)
from services.l09_gateway.native import identity
from services.l09_gateway.policy import load

pytestmark = [pytest.mark.unit, pytest.mark.l09]

POLICY = load(Path(__file__).resolve().parents[2] / "gateway" / "policy.yaml")
LUA_TESTS = Path(__file__).parent / "lua"
STUB = (LUA_TESTS / "envoy_handle.lua").read_text()
SCRIPT = resources.files(identity.__package__).joinpath("identity.lua").read_text()
SERVICE_TOKEN = "service-token"
RPC = "agentic.data.v1.EventStoreService/ReadAll"
OTHER_RPC = "agentic.data.v1.EventStoreService/ReadStream"
API_KEY = "agk_0123_secret-part"


def _python(value: Any) -> Any:
    if luajit21.lua_type(value) == "table":
        return {key: _python(item) for key, item in value.items()}
    return value


class Call:
    """One request through the filter, whose response can then come back."""

    def __init__(self, worker: Worker, handle: Any, metadata: Any) -> None:
        self._worker = worker
        self._handle = handle
        self._metadata = metadata

    @property
    def headers(self) -> dict[str, str]:
        return _python(self._handle.headers()["values"])

    @property
    def metadata(self) -> dict[str, dict[str, Any]]:
        return _python(self._metadata["namespaces"])

    def respond(self, answers: dict[str, dict[str, Any]] | None = None, now: int = 0) -> dict:
        """The response passes the filter, with ``answers`` (other filters' dynamic metadata,
        e.g. the rate limit service's) on the stream; returns the response headers."""
        for namespace, values in (answers or {}).items():
            self._metadata["namespaces"][namespace] = self._worker.lua_value(values)
        handle = self._worker.stub.handle(self._worker.lua_value({}), self._metadata, now)
        self._worker.filter.envoy_on_response(handle)
        return _python(handle.headers()["values"])


class Worker:
    """One Envoy worker's Lua state running the filter: vouchers and leases persist in it."""

    def __init__(self, development: bool = False) -> None:
        self._lua = luajit21.LuaRuntime(unpack_returned_tuples=True)
        self.stub = self._lua.execute(STUB)
        source = identity.source(SERVICE_TOKEN, POLICY, development)
        self.filter = self.stub.load(source, "=identity.lua")

    def lua_value(self, value: Any) -> Any:
        if isinstance(value, dict | list):
            return self._lua.table_from(value, recursive=True)
        return value

    def request(
        self, headers: dict[str, str], metadata: dict[str, Any] | None = None, now: int = 0
    ) -> Call:
        stream = self.stub.metadata(self.lua_value(metadata or {}))
        handle = self.stub.handle(self.lua_value(headers), stream, now)
        self.filter.envoy_on_request(handle)
        return Call(self, handle, stream)


def _jwt(claims: dict[str, Any]) -> dict[str, Any]:
    """jwt_authn's dynamic metadata for a token it verified."""
    return {JWT_AUTHN_FILTER: {JWT_PAYLOAD_KEY: claims}}


def _jwt_call(worker: Worker, claims: dict[str, Any], now: int = 0, rpc: str = RPC) -> Call:
    headers = {":path": f"/{rpc}", "authorization": "Bearer eyJh.eyJz.c2ln"}
    return worker.request(headers, _jwt(claims), now)


def _forwarded(call: Call) -> bool:
    return NATIVE_AUTH_NAMESPACE in call.metadata


def test_a_verified_jwt_caller_is_forwarded_with_the_service_token() -> None:
    headers = {
        ":path": f"/{RPC}?page_size=2",
        "authorization": "Bearer eyJh.eyJz.c2ln",
        "x-api-key": "agk_also_sent",
        "content-type": "application/grpc",
    }
    claims = {"sub": "alice@example.com", "roles": ["reader", "writer"], "tier": "internal"}
    call = Worker().request(headers, _jwt(claims))
    assert call.headers == {
        ":path": f"/{RPC}?page_size=2",
        "authorization": f"Bearer {SERVICE_TOKEN}",
        "content-type": "application/grpc",
        PRINCIPAL_HEADER: "alice@example.com",
        ROLES_HEADER: "reader,writer",
        TENANT_HEADER: "alice@example.com",  # no tenant claim: the subject's own
        TIER_HEADER: "internal",
        RPC_HEADER: RPC,
    }
    assert call.metadata[NATIVE_AUTH_NAMESPACE] == {NATIVE_PRINCIPAL_KEY: "alice@example.com"}
    # An unlimited tier is not metered: no lease, no call to the rate limit service.
    assert LEASE_NAMESPACE not in call.metadata


def test_roles_may_be_a_space_separated_claim() -> None:
    call = _jwt_call(Worker(), {"sub": "bob", "roles": "reader  writer", "tier": "internal"})
    assert call.headers[ROLES_HEADER] == "reader,writer"


def test_a_tier_the_policy_does_not_know_is_the_default_tier_and_metered() -> None:
    call = _jwt_call(Worker(), {"sub": "bob", "roles": ["reader"], "tier": "platinum"})
    default = POLICY.tier(None).name
    assert call.headers[TIER_HEADER] == call.headers[METERED_TIER_HEADER] == default
    assert call.metadata[LEASE_NAMESPACE] == {"key": f"{default}|bob|{RPC}", "wants": True}


@pytest.mark.parametrize(
    "claims",
    [
        {"roles": ["reader"]},
        {"sub": "", "roles": ["reader"]},
        {"sub": "two words", "roles": ["reader"]},
        {"sub": "x" * 257, "roles": ["reader"]},
        {"sub": 42, "roles": ["reader"]},
        {"sub": "bob"},
        {"sub": "bob", "roles": []},
        {"sub": "bob", "roles": ""},
        {"sub": "bob", "roles": ["reader", 7]},
        {"sub": "bob", "roles": 7},
    ],
    ids=repr,
)
def test_claims_it_cannot_vouch_for_leave_the_call_to_ext_authz(claims: dict[str, Any]) -> None:
    call = _jwt_call(Worker(), claims)
    assert call.headers == {":path": f"/{RPC}", "authorization": "Bearer eyJh.eyJz.c2ln"}
    assert call.metadata == _python_jwt(claims)


def _python_jwt(claims: dict[str, Any]) -> dict[str, Any]:
    """The stream's metadata as given: Lua arrays come back as tables keyed from 1."""

    def lua(value: Any) -> Any:
        if isinstance(value, list):
            return {index: lua(item) for index, item in enumerate(value, start=1)}
        return value

    return _jwt({key: lua(value) for key, value in claims.items()})


def test_a_call_without_credentials_is_left_alone() -> None:
    call = Worker(development=True).request({":path": f"/{RPC}"})
    assert call.headers == {":path": f"/{RPC}"} and call.metadata == {}
    assert call.respond() == {}


@pytest.mark.parametrize(
    "credential",
    [{"authorization": "Bearer dev_key_local_ONLY"}, {"x-api-key": "dev_key_local_ONLY"}],
)
def test_dev_tokens_are_forwarded_in_development_only(credential: dict[str, str]) -> None:
    call = Worker(development=True).request({":path": f"/{RPC}", **credential})
    assert call.headers[PRINCIPAL_HEADER] == "dev"
    assert call.headers[ROLES_HEADER] == ",".join(POLICY.development_roles)
    assert call.headers[TIER_HEADER] == POLICY.development_tier
    assert call.headers["authorization"] == f"Bearer {SERVICE_TOKEN}"
    assert "x-api-key" not in call.headers
    production = Worker(development=False).request({":path": f"/{RPC}", **credential})
    assert production.headers == {":path": f"/{RPC}", **credential}
    assert production.metadata == {}


def test_a_jwt_tenant_claim_is_forwarded_and_a_malformed_one_left_to_ext_authz() -> None:
    claims = {"sub": "bob", "roles": ["reader"], "tenant": "acme"}
    call = Worker().request({":path": f"/{RPC}", "authorization": "Bearer x"}, _jwt(claims))
    assert call.headers[TENANT_HEADER] == "acme"
    for bad in ("has space", "x" * 300, 7):
        odd = Worker().request(
            {":path": f"/{RPC}", "authorization": "Bearer x"}, _jwt({**claims, "tenant": bad})
        )
        assert not _forwarded(odd) and TENANT_HEADER not in odd.headers


def _voucher(principal: str = "svc-a", tier: str = "internal") -> dict[str, Any]:
    """ext_authz's answer for an API key it allowed (authz.py), as dynamic metadata."""
    return {
        EXT_AUTHZ_FILTER: {
            VOUCH_MS_KEY: 250,
            VOUCH_PRINCIPAL_KEY: principal,
            VOUCH_ROLES_KEY: "reader",
            VOUCH_TIER_KEY: tier,
            VOUCH_TENANT_KEY: "acme",
        }
    }


def test_an_api_key_ext_authz_allowed_is_forwarded_for_the_same_rpc_until_it_expires() -> None:
    worker = Worker()
    first = worker.request({":path": f"/{RPC}", "x-api-key": API_KEY}, now=1000)
    assert not _forwarded(first) and PRINCIPAL_HEADER not in first.headers
    assert first.metadata[VOUCH_NAMESPACE] == {"key": f"{API_KEY} {RPC}"}
    first.respond(_voucher(), now=1000)

    # The same key as a bearer credential is the same caller.
    again = worker.request({":path": f"/{RPC}", "authorization": f"Bearer {API_KEY}"}, now=1100)
    assert _forwarded(again)
    assert again.headers[PRINCIPAL_HEADER] == "svc-a"
    assert again.headers[ROLES_HEADER] == "reader"
    assert again.headers[TENANT_HEADER] == "acme"
    assert again.headers["authorization"] == f"Bearer {SERVICE_TOKEN}"
    assert VOUCH_NAMESPACE not in again.metadata

    other_rpc = worker.request({":path": f"/{OTHER_RPC}", "x-api-key": API_KEY}, now=1100)
    assert not _forwarded(other_rpc)
    other_key = worker.request({":path": f"/{RPC}", "x-api-key": "agk_other"}, now=1100)
    assert not _forwarded(other_key)
    expired = worker.request({":path": f"/{RPC}", "x-api-key": API_KEY}, now=1250)
    assert not _forwarded(expired) and VOUCH_NAMESPACE in expired.metadata


def test_a_compatible_path_is_vouched_for_and_metered_as_the_rpc_it_maps_to() -> None:
    generate = "agentic.models.v1.ModelService/Generate"
    worker = Worker()
    first = worker.request({":path": "/openai/v1/chat/completions", "x-api-key": API_KEY})
    assert not _forwarded(first)  # ext_authz decides the first call, as Generate
    assert first.metadata[VOUCH_NAMESPACE] == {"key": f"{API_KEY} {generate}"}
    first.respond(_voucher(tier="standard"), now=0)

    # The key's next calls, on either API's chat path or on Generate itself, skip ext_authz,
    # name the RPC the policy and the limits know, and are metered as it.
    for path in ("/openai/v1/chat/completions/", "/anthropic/v1/messages", f"/{generate}"):
        call = worker.request({":path": path, "authorization": f"Bearer {API_KEY}"}, now=10)
        assert _forwarded(call), path
        assert call.headers[RPC_HEADER] == generate
        assert call.headers["authorization"] == f"Bearer {SERVICE_TOKEN}"
        assert _metered(call)
    embeddings = worker.request({":path": "/openai/v1/embeddings", "x-api-key": API_KEY}, now=10)
    assert not _forwarded(embeddings)  # another RPC (Embed): ext_authz decides


def test_a_refused_api_key_and_odd_key_shapes_get_no_voucher() -> None:
    worker = Worker()
    refused = worker.request({":path": f"/{RPC}", "x-api-key": API_KEY}, now=0)
    refused.respond({}, now=0)  # ext_authz said no: its answer carries no voucher
    assert not _forwarded(worker.request({":path": f"/{RPC}", "x-api-key": API_KEY}, now=1))
    for headers in (
        {"authorization": f"Token {API_KEY}"},
        {"authorization": "Bearer not-a-key", "x-api-key": API_KEY},
        {"x-api-key": f"{API_KEY} extra"},
    ):
        call = worker.request({":path": f"/{RPC}", **headers}, now=2)
        assert call.metadata == {}, headers


def _lease(tokens: int, remaining: int) -> dict[str, Any]:
    """The rate limit service's answer granting a lease (ratelimit.py), as dynamic metadata."""
    return {
        RATELIMIT_FILTER: {
            LEASE_TOKENS_KEY: tokens,
            LEASE_TTL_KEY: 500,
            LEASE_REMAINING_KEY: remaining,
            LEASE_LIMIT_KEY: "100, 100;w=1",
            LEASE_MOST_KEY: 1000,
        }
    }


STANDARD = {"sub": "carol", "roles": ["reader"], "tier": "standard"}


def _metered(call: Call) -> bool:
    return METERED_TIER_HEADER in call.headers


def test_calls_are_paid_from_a_lease_and_one_asks_for_the_next_before_it_runs_out() -> None:
    worker = Worker()
    asking = _jwt_call(worker, STANDARD, now=0)
    assert _metered(asking) and LEASE_HEADER not in asking.headers
    assert asking.metadata[LEASE_NAMESPACE]["wants"] is True
    # While the lease is on its way, other calls take their own token only.
    waiting = _jwt_call(worker, STANDARD, now=10)
    assert _metered(waiting) and waiting.headers[LEASE_HEADER] == NO_LEASE
    assert asking.respond(_lease(tokens=4, remaining=900), now=20) == {}

    paid = _jwt_call(worker, STANDARD, now=30)
    assert not _metered(paid) and _forwarded(paid)
    # 896 were left besides the lease's 4, of which this call spent one.
    assert paid.metadata[LEASE_NAMESPACE] == {"limit": "100, 100;w=1", "remaining": 899}
    assert paid.respond(now=30) == {
        "x-ratelimit-limit": "100, 100;w=1",
        "x-ratelimit-remaining": "899",
        "x-ratelimit-reset": "0",
    }
    assert not _metered(_jwt_call(worker, STANDARD, now=31))  # 2 of 4 left: not yet half spent

    renewal = _jwt_call(worker, STANDARD, now=32)  # 1 of 4 left
    assert _metered(renewal) and renewal.headers[LEASE_HEADER] == RENEWAL
    assert renewal.metadata[LEASE_NAMESPACE]["renewal"] is True
    spent = _jwt_call(worker, STANDARD, now=33)  # the last token
    assert not _metered(spent)
    short = _jwt_call(worker, STANDARD, now=34)  # none left, the renewal still on its way
    assert _metered(short) and short.headers[LEASE_HEADER] == NO_LEASE

    shown = renewal.respond(_lease(tokens=4, remaining=800), now=40)
    assert shown["x-ratelimit-remaining"] == "800"
    assert not _metered(_jwt_call(worker, STANDARD, now=41))
    # Past its time a lease is gone: the next call asks the service again.
    late = _jwt_call(worker, STANDARD, now=40 + 500)
    assert _metered(late) and late.metadata[LEASE_NAMESPACE]["wants"] is True


def test_leases_are_per_caller_and_rpc() -> None:
    worker = Worker()
    _jwt_call(worker, STANDARD, now=0).respond(_lease(tokens=10, remaining=500), now=0)
    assert not _metered(_jwt_call(worker, STANDARD, now=1))
    assert _metered(_jwt_call(worker, STANDARD, now=1, rpc=OTHER_RPC))
    assert _metered(_jwt_call(worker, {**STANDARD, "sub": "dave"}, now=1))


def test_an_answer_without_a_lease_leaves_the_caller_metered() -> None:
    worker = Worker()
    _jwt_call(worker, STANDARD, now=0).respond({RATELIMIT_FILTER: {}}, now=0)
    call = _jwt_call(worker, STANDARD, now=1)
    assert _metered(call) and LEASE_HEADER not in call.headers  # asks again, not waiting


def test_the_pass_through_default_does_nothing() -> None:
    lua = luajit21.LuaRuntime(unpack_returned_tuples=True)
    stub = lua.execute(STUB)
    code = identity.config(None, None)["default_source_code"]["inline_string"]
    handle = stub.handle(lua.table_from({"x-api-key": API_KEY}), stub.metadata(lua.table()), 0)
    stub.load(code, "=pass").envoy_on_request(handle)
    assert _python(handle.headers()["values"]) == {"x-api-key": API_KEY}


def _globals(source: str) -> tuple[set[str], set[str]]:
    """The global names the code reads and writes (from its bytecode: every path)."""
    lua = luajit21.LuaRuntime(unpack_returned_tuples=True)
    reads, writes = lua.execute((LUA_TESTS / "globals.lua").read_text())(source, "=code")
    return set(reads.keys()), set(writes.keys())


def _standard_library() -> set[str]:
    """What a fresh LuaJIT state, such as Envoy's, has as globals."""
    return set(luajit21.LuaRuntime().globals().keys())


def test_identity_py_injects_exactly_the_names_the_script_leaves_undefined() -> None:
    source = identity.source(SERVICE_TOKEN, POLICY, development=True)
    assert source.endswith(SCRIPT)
    preamble = source.removesuffix(SCRIPT).splitlines()
    injected = [re.match(r"local ([A-Z_]+) = ", line) for line in preamble]
    assert all(injected), preamble
    reads, writes = _globals(SCRIPT)
    assert reads - _standard_library() == {match[1] for match in injected if match}
    # The entry points are the only globals it sets: a missing ``local`` would be shared
    # state nobody meant.
    assert writes == {"envoy_on_request", "envoy_on_response"}
    reads, writes = _globals(source)
    assert reads <= _standard_library()
