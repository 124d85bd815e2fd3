"""JWTs verified by Envoy itself (jwt_authn, rbac, the identity filter), on a mesh whose L09
process has HS256, a JWKS file and a JWKS URL configured: no ext_authz hop for them, the
same answers as ext_authz gives."""

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from services.kit import open_channel
from services.kit.auth import ApiKeyFile
from services.l09_gateway.authz import VOUCH_SECONDS
from services.launcher.config import LauncherSettings
from services.launcher.mesh import Mesh
from tests.support import (
    envoy_stat,
    platform_code,
    refused_append_after_a_read,
    rest_reason,
    serve_json,
    stream_name,
)

pytestmark = [pytest.mark.integration, pytest.mark.l09]

SECRET = "native-jwt-test-secret-0123456789abcdef"
ISSUER, AUDIENCE = "https://login.native.test", "agentic-native"
POLICY = Path(__file__).resolve().parents[2] / "gateway" / "policy.yaml"
FILE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
URL_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
READ_ALL = "agentic.data.v1.EventStoreService/ReadAll"
# Leases of two tokens (a tenth of a second at 20/s), and a bucket a test can empty.
LEASED_TIER = """  leased:
    rate: 20
    burst: 40
    daily: 0
    when_store_down: allow
"""


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


def token(key: object = SECRET, algorithm: str = "HS256", kid: str | None = None, **claims):
    now = int(time.time())
    payload = {"sub": f"jwt-{uuid.uuid4().hex[:8]}", "roles": ["reader"], "iss": ISSUER}
    payload |= {"aud": AUDIENCE, "exp": now + 300, **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    headers = {"kid": kid} if kid else None
    return jwt.encode(payload, key, algorithm, headers=headers)  # type: ignore[arg-type]


class NativeMesh:
    def __init__(self, mesh: Mesh, policy_file: Path) -> None:
        self.mesh = mesh
        self.policy_file = policy_file

    @property
    def url(self) -> str:
        return self.mesh.gateway_url

    async def stat(self, name: str) -> int:
        return await envoy_stat(self.mesh.settings.envoy_admin_port, name)


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeMesh]:
    home = tmp_path_factory.mktemp("native-jwt-mesh")
    jwks_file = home / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [_jwk(FILE_KEY, "file-key")]}))
    policy_file = home / "policy.yaml"
    policy_file.write_text(POLICY.read_text().replace("tiers:\n", f"tiers:\n{LEASED_TIER}", 1))
    jwks_server = serve_json(json.dumps({"keys": [_jwk(URL_KEY, "url-key")]}).encode())
    mesh = Mesh(LauncherSettings.on_free_ports(home), fsync=False)
    # The components inherit the environment supervisord starts with.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("L09_JWT_HS256_SECRET", SECRET)
        patch.setenv("L09_JWT_ISSUER", ISSUER)
        patch.setenv("L09_JWT_AUDIENCE", AUDIENCE)
        patch.setenv("L09_JWKS_FILE", str(jwks_file))
        patch.setenv("L09_JWKS_URL", f"http://127.0.0.1:{jwks_server.server_port}/jwks.json")
        patch.setenv("L09_POLICY_FILE", str(policy_file))
        try:
            mesh.up(timeout=120)
        except BaseException:
            mesh.down()
            jwks_server.shutdown()
            raise
    yield NativeMesh(mesh, policy_file)
    mesh.down()
    jwks_server.shutdown()


@pytest.fixture
async def client(native: NativeMesh) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=native.url, timeout=10) as client:
        yield client


def bearer(value: str) -> dict[str, str]:
    return {"authorization": f"Bearer {value}"}


async def test_a_valid_jwt_is_served_without_the_ext_authz_hop(
    native: NativeMesh, client: httpx.AsyncClient
) -> None:
    skipped = await native.stat("http.gateway.ext_authz.disabled")
    checked = await native.stat("http.gateway.ext_authz.ok")
    response = await client.get("/v1/events", headers=bearer(token()))
    assert response.status_code == 200, response.text
    async with open_channel(native.mesh.gateway_target, token=token()) as channel:
        await event_store_pb2_grpc.EventStoreServiceStub(channel).ReadAll(pb.ReadAllRequest())
    assert await native.stat("http.gateway.ext_authz.disabled") == skipped + 2
    assert await native.stat("http.gateway.ext_authz.ok") == checked


async def test_the_principal_is_the_subject_even_when_the_client_forges_one(
    client: httpx.AsyncClient,
) -> None:
    jwt_token = token(sub="carol@example.com", roles=["writer"])
    forged = {
        **bearer(jwt_token),
        "x-agentic-principal": "mallory",
        "x-agentic-roles": "admin",
        "x-agentic-tier": "internal",
    }
    stream = stream_name()
    appended = await client.post(
        f"/v1/streams/{stream}:append",
        json={"events": [{"type": "a.b", "data": {}}]},
        headers=forged,
    )
    assert appended.status_code == 200, appended.text
    events = (await client.get(f"/v1/streams/{stream}/events", headers=forged)).json()["events"]
    assert events[0]["metadata"]["$principal"] == "carol@example.com"
    # The forged admin role does not let the writer delete the stream.
    deleted = await client.delete(f"/v1/streams/{stream}", headers=forged)
    assert deleted.status_code == 403
    assert rest_reason(deleted.json()) == "E9403"
    assert "carol@example.com" in deleted.json()["message"]


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"exp": int(time.time()) - 30}, "expired"),
        ({"nbf": int(time.time()) + 600}, "not yet valid"),
        ({"iss": "https://elsewhere.example.com"}, "issuer"),
        ({"aud": "another-api"}, "audience"),
    ],
    ids=["expired", "not-yet-valid", "wrong-issuer", "wrong-audience"],
)
async def test_bad_claims_are_401_with_the_gateway_code(
    native: NativeMesh, client: httpx.AsyncClient, claims: dict[str, object], why: str
) -> None:
    bad = token(**claims)
    response = await client.get("/v1/events", headers=bearer(bad))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert rest_reason(body) == "E9401" and body["code"] == 16
    assert why in body["message"].lower()
    async with open_channel(native.mesh.gateway_target, token=bad) as channel:
        stub = event_store_pb2_grpc.EventStoreServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ReadAll(pb.ReadAllRequest())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert platform_code(caught.value) == "E9401"


@pytest.mark.parametrize(
    "bad",
    [
        token(key="not-the-secret-0123456789abcdef0123"),
        token(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256", "file-key"),
    ],
    ids=["hs256", "rs256"],
)
async def test_a_bad_signature_is_401(
    native: NativeMesh, client: httpx.AsyncClient, bad: str
) -> None:
    before = await native.stat("http.gateway.jwt_authn.denied")
    response = await client.get("/v1/events", headers=bearer(bad))
    assert response.status_code == 401
    assert rest_reason(response.json()) == "E9401"
    assert await native.stat("http.gateway.jwt_authn.denied") == before + 1


@pytest.mark.parametrize(("key", "kid"), [(FILE_KEY, "file-key"), (URL_KEY, "url-key")])
async def test_rs256_keys_come_from_the_jwks_file_and_url(
    client: httpx.AsyncClient, key: rsa.RSAPrivateKey, kid: str
) -> None:
    response = await client.get("/v1/events", headers=bearer(token(key, "RS256", kid)))
    assert response.status_code == 200, response.text


async def test_a_role_may_call_one_rpc_but_not_another(native: NativeMesh) -> None:
    reader = token(sub="reading-bot", roles="reader")  # a space-separated string works too
    error = await refused_append_after_a_read(native.mesh.gateway_target, reader)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert platform_code(error) == "E9403"
    assert "reading-bot" in (error.details() or "")
    assert "AppendEvents" in (error.details() or "")


async def test_rate_limits_key_on_the_jwt_subject(
    native: NativeMesh, client: httpx.AsyncClient
) -> None:
    """The trial tier: burst 5, one token a second, per principal and RPC."""
    checks = await native.stat("cluster.l01_data.ratelimit.ok")
    subject = f"limited-{uuid.uuid4().hex[:8]}"
    first = bearer(token(sub=subject, tier="trial"))
    codes = [(await client.get("/v1/events", headers=first)).status_code for _ in range(5)]
    assert codes == [200] * 5
    refused = await client.get("/v1/events", headers=first)
    assert refused.status_code == 429
    assert rest_reason(refused.json()) == "E9001"
    assert refused.headers["retry-after"] == "1"
    # Another token of the same subject shares the bucket; another subject has its own.
    again = bearer(token(sub=subject, tier="trial", jti="another"))
    assert (await client.get("/v1/events", headers=again)).status_code == 429
    assert (await client.get("/v1/events", headers=bearer(token(tier="trial")))).status_code == 200
    assert await native.stat("cluster.l01_data.ratelimit.ok") >= checks + 6


async def test_envoy_spends_leases_without_asking_the_limit_service(
    native: NativeMesh, client: httpx.AsyncClient
) -> None:
    """The standard tier leases ten tokens at a time: Envoy asks the rate limit service about
    the first call of each lease and answers the others itself, with the same headers."""
    checks = await native.stat("cluster.l01_data.ratelimit.ok")
    caller = bearer(token(tier="standard"))
    remaining = []
    for _ in range(30):
        response = await client.get("/v1/events", headers=caller)
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == "100, 100;w=1"
        assert response.headers["x-ratelimit-reset"] == "0"
        remaining.append(int(response.headers["x-ratelimit-remaining"]))
    asked = await native.stat("cluster.l01_data.ratelimit.ok") - checks
    assert 3 <= asked < 30
    assert remaining[0] == 999  # 10 of 1,000 taken: 990 in the bucket, 9 leased
    assert all(count <= 1000 for count in remaining)  # never more than the bucket holds
    assert any(after == before - 1 for before, after in itertools.pairwise(remaining))


async def test_leases_keep_jwt_callers_within_their_limit(
    native: NativeMesh, client: httpx.AsyncClient
) -> None:
    """Leased tokens leave the Redis bucket when granted: however a caller's calls are
    answered, no more pass than the bucket gives (40, and 20 a second)."""
    caller = bearer(token(tier="leased"))
    started = time.monotonic()
    responses = [await client.get("/v1/events", headers=caller) for _ in range(100)]
    elapsed = time.monotonic() - started
    codes = [response.status_code for response in responses]
    assert set(codes) == {200, 429}
    assert 30 <= codes.count(200) <= 40 + 20 * elapsed + 2
    # The last refusal of the run itself: a call made afterwards may find a refilled token.
    refused = [response for response in responses if response.status_code == 429][-1]
    assert rest_reason(refused.json()) == "E9001"
    assert refused.headers["retry-after"] == "1"


async def test_policy_changes_reach_jwt_callers_within_a_second(
    native: NativeMesh, client: httpx.AsyncClient
) -> None:
    auditor = bearer(token(roles=["auditor"]))
    assert (await client.get("/v1/events", headers=auditor)).status_code == 403
    original = native.policy_file.read_text()
    native.policy_file.write_text(
        original.replace("roles:\n", f'roles:\n  auditor:\n    allow: ["{READ_ALL}"]\n', 1)
    )
    try:
        for _ in range(40):
            await asyncio.sleep(0.1)
            if (await client.get("/v1/events", headers=auditor)).status_code == 200:
                break
        else:
            raise AssertionError("the new role did not apply")
    finally:
        native.policy_file.write_text(original)


async def test_a_policy_edit_reaches_api_keys_envoy_vouches_for(
    native: NativeMesh, client: httpx.AsyncClient
) -> None:
    """A key called without pause keeps being vouched for; a policy that takes its role's
    RPC away still refuses it within a second and a quarter (the re-read, the last voucher)."""
    key, _ = ApiKeyFile(native.mesh.settings.gateway_keys_file).create(
        "vouched-auditor", ("auditor",), "standard"
    )
    original = native.policy_file.read_text()
    with_auditor = original.replace(
        "roles:\n", f'roles:\n  auditor:\n    allow: ["{READ_ALL}"]\n', 1
    )
    native.policy_file.write_text(with_auditor)
    try:
        for _ in range(60):
            if (await client.get("/v1/events", headers={"x-api-key": key})).status_code == 200:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the key was never allowed")
        vouched = await native.stat("http.gateway.ext_authz.ok")
        for _ in range(10):
            assert (await client.get("/v1/events", headers={"x-api-key": key})).status_code == 200
        assert await native.stat("http.gateway.ext_authz.ok") - vouched < 10
        native.policy_file.write_text(original)
        edited = time.monotonic()
        while (await client.get("/v1/events", headers={"x-api-key": key})).status_code == 200:
            assert time.monotonic() - edited < 1.25 + 0.5  # the promise, and slack for the calls
        refused = await client.get("/v1/events", headers={"x-api-key": key})
        assert refused.status_code == 403
        assert rest_reason(refused.json()) == "E9403"
    finally:
        native.policy_file.write_text(original)


async def test_api_keys_still_go_through_ext_authz(
    native: NativeMesh, client: httpx.AsyncClient
) -> None:
    key, _ = ApiKeyFile(native.mesh.settings.gateway_keys_file).create(
        "key-user", ("reader",), "standard"
    )
    checked = await native.stat("http.gateway.ext_authz.ok")
    for _ in range(40):  # the gateway re-reads the key file within a second
        if (await client.get("/v1/events", headers={"x-api-key": key})).status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert await native.stat("http.gateway.ext_authz.ok") > checked


async def test_jwt_callers_are_served_while_the_gateway_process_is_down(
    native: NativeMesh, client: httpx.AsyncClient
) -> None:
    """Envoy keeps the last configuration it got; only the limits fail open meanwhile (as for
    an unreachable limit service), while API keys, which need ext_authz, get 503 once the
    voucher of their last allowed call has run out."""
    key, _ = ApiKeyFile(native.mesh.settings.gateway_keys_file).create(
        "key-user-2", ("reader",), "standard"
    )
    for _ in range(40):
        if (await client.get("/v1/events", headers={"x-api-key": key})).status_code == 200:
            break
        await asyncio.sleep(0.05)
    await asyncio.to_thread(native.mesh.stop_component, "l09_gateway")
    try:
        served = await client.get("/v1/events", headers=bearer(token()))
        assert served.status_code == 200, served.text
        await asyncio.sleep(VOUCH_SECONDS)
        refused = await client.get("/v1/events", headers={"x-api-key": key})
        assert refused.status_code == 503
        assert rest_reason(refused.json()) == "E9503"
    finally:
        await asyncio.to_thread(native.mesh.start_component, "l09_gateway")
    skipped = await native.stat("http.gateway.ext_authz.disabled")
    assert (await client.get("/v1/events", headers=bearer(token()))).status_code == 200
    assert await native.stat("http.gateway.ext_authz.disabled") == skipped + 1
