"""ext_authz: who may call what, and how often, on the real gRPC service (Envoy's auth.v3
API), with its rate limits counted in the mesh's Redis."""

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from envoy.service.auth.v3 import external_auth_pb2 as pb
from envoy.service.auth.v3 import external_auth_pb2_grpc as pb_grpc
from google.protobuf.json_format import MessageToDict
from google.rpc import code_pb2, status_pb2

from services.kit import error_info
from services.kit.auth import ApiKeyFile, split_api_key
from services.l09_gateway.authz import AuthorizationServicer
from services.l09_gateway.credentials import ApiKeys, Authenticator
from services.l09_gateway.jwt_verify import JwtVerifier
from services.l09_gateway.limits import RateLimiter
from services.l09_gateway.policy import PolicySource
from tests.conftest import RunningMesh
from tests.support import serve_json

pytestmark = [pytest.mark.integration, pytest.mark.l09]

POLICY = Path(__file__).resolve().parents[2] / "gateway" / "policy.yaml"
SECRET = "hs256-test-secret-that-is-long-enough"
ISSUER, AUDIENCE = "https://issuer.test", "agentic"
SERVICE_TOKEN = "service-token-for-tests"
READ = "/agentic.data.v1.EventStoreService/ReadStream"
APPEND = "/agentic.data.v1.EventStoreService/AppendEvents"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks(path: Path) -> Path:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    path.write_text(json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    return path


def hs256(**overrides: object) -> str:
    now = int(time.time())
    claims = {"sub": "jwt-user", "roles": ["reader"], "iss": ISSUER, "aud": AUDIENCE}
    # Minted when the tests are collected: valid long enough for the session's mesh to start.
    claims |= {"iat": now, "exp": now + 900, **overrides}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, SECRET, "HS256")


class Gateway:
    def __init__(self, stub: pb_grpc.AuthorizationStub, keys: ApiKeyFile) -> None:
        self.stub = stub
        self.keys = keys

    async def check(self, path: str, **headers: str) -> pb.CheckResponse:
        request = pb.CheckRequest()
        http = request.attributes.request.http
        http.method, http.path = "POST", path
        http.headers.update({k.replace("_", "-"): v for k, v in headers.items()})
        return await self.stub.Check(request)


async def _serve(tmp_path: Path, development: bool, redis_url: str) -> AsyncIterator[Gateway]:
    keys_file = ApiKeyFile(tmp_path / "keys.json")
    policy = PolicySource(POLICY)
    authenticator = Authenticator(
        ApiKeys(keys_file.path, reload_seconds=0.000001),
        JwtVerifier(
            hs256_secret=SECRET,
            jwks_file=_jwks(tmp_path / "jwks.json"),
            issuer=ISSUER,
            audience=AUDIENCE,
        ),
        policy if development else None,
    )
    limiter = RateLimiter.from_url(redis_url)
    server = grpc.aio.server()
    pb_grpc.add_AuthorizationServicer_to_server(
        AuthorizationServicer(authenticator, policy, SERVICE_TOKEN, limiter), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield Gateway(pb_grpc.AuthorizationStub(channel), keys_file)
    await server.stop(None)
    await limiter.close()


@pytest.fixture
async def gateway(tmp_path: Path, mesh: RunningMesh) -> AsyncIterator[Gateway]:
    async for running in _serve(tmp_path, development=True, redis_url=mesh.redis_url):
        yield running


@pytest.fixture
async def production(tmp_path: Path, mesh: RunningMesh) -> AsyncIterator[Gateway]:
    async for running in _serve(tmp_path, development=False, redis_url=mesh.redis_url):
        yield running


def _headers(response: pb.CheckResponse) -> dict[str, str]:
    options = response.ok_response.headers or response.denied_response.headers
    return {option.header.key: option.header.value for option in options}


def assert_refused(response: pb.CheckResponse, http_status: int, reason: str) -> str:
    assert not response.HasField("ok_response")
    assert response.denied_response.status.code == http_status
    details = base64.b64decode(_headers(response)["grpc-status-details-bin"] + "==")
    info = error_info(status_pb2.Status.FromString(details))
    assert info is not None and info.reason == reason and info.domain == "gateway.agentic"
    return response.denied_response.body


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "missing credentials"),
        ({"authorization": "Basic dXNlcjpwYXNz"}, "malformed authorization"),
        ({"authorization": "Bearer not-a-known-token"}, "unknown credentials"),
        ({"authorization": "Bearer agk_nope"}, "malformed API key"),
        ({"authorization": "Bearer agk_0123_secret"}, "unknown API key"),
        ({"authorization": "Bearer a.b.c"}, "invalid JWT"),
    ],
)
async def test_missing_and_malformed_credentials_are_401(
    gateway: Gateway, headers: dict[str, str], why: str
) -> None:
    assert why in assert_refused(await gateway.check(READ, **headers), 401, "E9401")


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (hs256(exp=int(time.time()) - 10), "expired"),
        (hs256(nbf=int(time.time()) + 300), "not yet valid"),
        (
            jwt.encode(
                {"sub": "x", "exp": int(time.time()) + 900}, "another-secret-xxxxxxxxxxxxxxxxxx"
            ),
            "Signature",
        ),
        (hs256(aud="someone-else"), "audience"),
        (hs256(iss="https://evil.test"), "issuer"),
        (hs256(exp=None), "exp"),
        (jwt.encode({"sub": "x", "exp": int(time.time()) + 900}, None, "none"), "not accepted"),
    ],
)
async def test_bad_jwts_are_401(gateway: Gateway, token: str, why: str) -> None:
    body = assert_refused(await gateway.check(READ, authorization=f"Bearer {token}"), 401, "E9401")
    assert why.lower() in body.lower()


async def test_a_valid_hs256_jwt_names_its_subject_and_roles(gateway: Gateway) -> None:
    response = await gateway.check(READ, authorization=f"Bearer {hs256()}")
    headers = _headers(response)
    assert headers["x-agentic-principal"] == "jwt-user"
    assert headers["x-agentic-roles"] == "reader"
    assert headers["x-agentic-rpc"] == READ.lstrip("/")
    assert headers["authorization"] == f"Bearer {SERVICE_TOKEN}"


async def test_the_tenant_is_the_credentials_and_a_forged_one_is_overwritten(
    gateway: Gateway,
) -> None:
    """An API key's record, else its principal; a JWT's tenant claim, else its subject; a dev
    token's principal. The client's own x-agentic-tenant never gets through."""
    who = f"tenant-user-{uuid.uuid4().hex[:6]}"
    with_tenant, _ = gateway.keys.create(who, ("reader",), "standard", tenant="acme")
    without, _ = gateway.keys.create(f"{who}-2", ("reader",), "standard")
    forged = {"x_agentic_tenant": "mallory-inc"}
    cases = [
        (f"Bearer {with_tenant}", "acme"),
        (f"Bearer {without}", f"{who}-2"),
        (f"Bearer {hs256(tenant='globex')}", "globex"),
        (f"Bearer {hs256()}", "jwt-user"),
        ("Bearer dev_key_local_ONLY", "dev"),
    ]
    for authorization, tenant in cases:
        headers = _headers(await gateway.check(READ, authorization=authorization, **forged))
        assert headers["x-agentic-tenant"] == tenant, authorization
    allowed = await gateway.check(READ, authorization=f"Bearer {with_tenant}")
    assert MessageToDict(allowed.dynamic_metadata)["tenant"] == "acme"


@pytest.mark.parametrize(("tenant", "why"), [(42, "must be a string"), ("a b", "tenant name")])
async def test_a_jwt_tenant_a_header_cannot_carry_is_401(
    gateway: Gateway, tenant: object, why: str
) -> None:
    token = hs256(tenant=tenant)
    body = assert_refused(await gateway.check(READ, authorization=f"Bearer {token}"), 401, "E9401")
    assert why in body


async def test_rs256_jwts_are_checked_against_the_jwks(gateway: Gateway) -> None:
    claims = {"sub": "rsa-user", "roles": ["reader"], "iss": ISSUER, "aud": AUDIENCE}
    claims["exp"] = int(time.time()) + 60
    good = jwt.encode(claims, RSA_KEY, "RS256", headers={"kid": "k1"})
    assert (
        _headers(await gateway.check(READ, authorization=f"Bearer {good}"))["x-agentic-principal"]
        == "rsa-user"
    )
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, stranger, "RS256", headers={"kid": "k1"})
    assert_refused(await gateway.check(READ, authorization=f"Bearer {forged}"), 401, "E9401")


async def test_a_role_may_call_one_rpc_but_not_another(gateway: Gateway) -> None:
    token = f"Bearer {hs256(roles=['reader'])}"
    assert (await gateway.check(READ, authorization=token)).HasField("ok_response")
    body = assert_refused(await gateway.check(APPEND, authorization=token), 403, "E9403")
    assert "reader" in body and "AppendEvents" in body


def _shown(response: pb.CheckResponse) -> dict[str, str]:
    """The headers Envoy adds to the answer the caller gets."""
    options = response.ok_response.response_headers_to_add or response.denied_response.headers
    return {option.header.key: option.header.value for option in options}


async def test_api_keys_work_until_revoked(gateway: Gateway) -> None:
    alice = f"alice-{uuid.uuid4().hex[:6]}"
    key, record = gateway.keys.create(alice, ("writer",), "trial")
    response = await gateway.check(APPEND, x_api_key=key)
    headers = _headers(response)
    assert headers["x-agentic-principal"] == alice
    assert headers["x-agentic-tier"] == "trial"
    # Limited here: Envoy's rate limit filter is not asked again for this call.
    assert "x-agentic-metered-tier" not in headers
    assert list(response.ok_response.headers_to_remove) == ["x-api-key"]
    assert (await gateway.check(APPEND, authorization=f"Bearer {key}")).HasField("ok_response")
    gateway.keys.revoke(record.key_id)
    body = assert_refused(await gateway.check(APPEND, x_api_key=key), 401, "E9401")
    assert "revoked" in body


async def test_an_allowed_key_is_vouched_for_and_nothing_else_is(gateway: Gateway) -> None:
    """Envoy reuses an API key's allow for a quarter second (native/identity.py): the answer
    names the caller. A refusal, a JWT and a dev token carry no voucher."""
    who = f"vouched-{uuid.uuid4().hex[:6]}"
    key, _ = gateway.keys.create(who, ("reader", "writer"), "standard")
    allowed = await gateway.check(APPEND, x_api_key=key)
    assert MessageToDict(allowed.dynamic_metadata) == {
        "vouch_ms": 250,
        "principal": who,
        "roles": "reader,writer",
        "tier": "standard",
        "tenant": who,
    }
    refused = await gateway.check(APPEND, x_api_key=key + "x")
    assert not refused.HasField("dynamic_metadata")
    for credential in (hs256(roles=["writer"]), "dev_key_local_ONLY"):
        answer = await gateway.check(APPEND, authorization=f"Bearer {credential}")
        assert answer.HasField("ok_response") and not answer.HasField("dynamic_metadata")


async def test_a_key_over_its_rate_limit_is_429_in_the_same_call(gateway: Gateway) -> None:
    """The trial tier: burst 5, one token a second, per principal and RPC."""
    key, _ = gateway.keys.create(f"bursty-{uuid.uuid4().hex[:6]}", ("writer",), "trial")
    allowed = [await gateway.check(APPEND, x_api_key=key) for _ in range(5)]
    assert [_shown(r)["x-ratelimit-remaining"] for r in allowed] == ["4", "3", "2", "1", "0"]
    assert _shown(allowed[0])["x-ratelimit-limit"] == "1, 1;w=1"
    refused = await gateway.check(APPEND, x_api_key=key)
    body = assert_refused(refused, 429, "E9001")
    assert refused.status.code == code_pb2.RESOURCE_EXHAUSTED
    assert "over the rate limit of 1/s, burst 5 (tier trial)" in body
    assert _shown(refused)["retry-after"] == "1"
    assert _shown(refused)["grpc-status"] == "8"  # else Envoy would say UNAVAILABLE
    rest = await gateway.check(APPEND, x_api_key=key, x_envoy_original_path="/v1/x")
    assert "grpc-status" not in _shown(rest)
    assert _shown(refused)["x-ratelimit-remaining"] == "0"
    # Another RPC has a bucket of its own.
    assert (await gateway.check(READ, x_api_key=key)).HasField("ok_response")


async def test_a_key_with_a_wrong_secret_is_refused(gateway: Gateway) -> None:
    key, _ = gateway.keys.create("alice", ("writer",), "standard")
    assert_refused(await gateway.check(APPEND, x_api_key=key[:-2] + "xx"), 401, "E9401")


async def test_dev_tokens_are_admins_in_development(gateway: Gateway) -> None:
    for token, principal in (("dev_key_local_ONLY", "dev"), ("test_token_123", "test")):
        headers = _headers(await gateway.check(APPEND, authorization=f"Bearer {token}"))
        assert headers["x-agentic-principal"] == principal
        assert headers["x-agentic-roles"] == "admin"
        # Their tier is unlimited: Envoy skips the rate limit service for them.
        assert headers["x-agentic-tier"] == "internal"
        assert "x-agentic-metered-tier" not in headers


async def test_dev_tokens_get_the_development_roles_of_the_current_policy(
    tmp_path: Path,
) -> None:
    """As Envoy's native path does: an edit of `development.roles` applies without a restart."""
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY.read_text())
    authenticator = Authenticator(
        ApiKeys(tmp_path / "keys.json"), None, PolicySource(policy_file, reload_seconds=0)
    )
    headers = {"authorization": "Bearer dev_key_local_ONLY"}
    assert (await authenticator.identify(headers)).roles == ("admin",)
    policy_file.write_text(
        POLICY.read_text().replace("  roles: [admin]\n", "  roles: [reader]\n", 1)
    )
    assert (await authenticator.identify(headers)).roles == ("reader",)


async def test_production_refuses_dev_tokens(production: Gateway) -> None:
    response = await production.check(READ, authorization="Bearer dev_key_local_ONLY")
    assert_refused(response, 401, "E9401")
    assert (await production.check(READ, authorization=f"Bearer {hs256()}")).HasField("ok_response")


def test_keys_are_stored_hashed(tmp_path: Path) -> None:
    keys = ApiKeyFile(tmp_path / "keys.json")
    key, _ = keys.create("alice", ("reader",), "standard")
    stored = keys.path.read_text()
    # The secret may itself contain "_", so it is split the way the gateway splits it.
    parts = split_api_key(key)
    assert parts is not None
    key_id, secret = parts
    assert key_id in stored
    assert secret not in stored
    assert oct(keys.path.stat().st_mode & 0o777) == "0o600"


async def test_rs256_keys_can_come_from_a_jwks_url(tmp_path: Path) -> None:
    jwks = _jwks(tmp_path / "jwks.json").read_bytes()

    server = serve_json(jwks)
    try:
        verifier = JwtVerifier(jwks_url=f"http://127.0.0.1:{server.server_port}/jwks.json")
        claims = {"sub": "url-user", "roles": ["reader"], "exp": int(time.time()) + 60}
        token = jwt.encode(claims, RSA_KEY, "RS256", headers={"kid": "k1"})
        assert (await verifier.verify(token)).subject == "url-user"
    finally:
        server.shutdown()
