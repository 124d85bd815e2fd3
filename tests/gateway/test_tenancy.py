"""Two tenants through the gateway: L04's limits, budgets, usage and caches belong to the
caller's tenant (an API key's record, a JWT's tenant claim), never to a tenant or agent a
request body names. Every case runs once with API keys and once with JWTs, over gRPC; the
403 also over REST. The answers come from the local model (SmolLM2), for real."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
import redis.asyncio as redis

from agentic.models.v1 import models_pb2 as pb
from agentic.models.v1 import models_pb2_grpc
from services.kit import open_channel
from services.kit.auth import ApiKeyFile
from services.l04_models.limits import budget_key
from services.l04_models.tenancy import agent_owner
from tests.conftest import RunningMesh
from tests.support import envoy_stat, jwt_for, platform_code, rest_reason

pytestmark = [pytest.mark.integration, pytest.mark.l04, pytest.mark.l09]

LOCAL_MODEL = "local/smollm2-135m"
KINDS = ["api_key", "jwt"]


@dataclass(frozen=True)
class Tenant:
    """A tenant with two model users: one holding an API key, one a JWT."""

    id: str
    api_key: str
    jwt: str

    def credential(self, kind: str) -> str:
        return self.api_key if kind == "api_key" else self.jwt


@dataclass(frozen=True)
class Tenants:
    a: Tenant
    b: Tenant
    admin_tenant: str
    admin: dict[str, str]  # kind -> credential of an admin in a tenant of its own


async def _new_tenant(mesh: RunningMesh, name: str) -> Tenant:
    tenant = f"{name}-{uuid.uuid4().hex[:8]}"
    keys = ApiKeyFile(mesh.settings.gateway_keys_file)
    key, _ = keys.create(f"{name}-key-user", ("model_user",), "standard", tenant=tenant)
    await _accepted(mesh, key)
    return Tenant(tenant, key, jwt_for(f"{name}-jwt-user", ["model_user"], tenant=tenant))


async def _accepted(mesh: RunningMesh, credential: str) -> None:
    """Waits until the gateway has re-read the key file (within a second)."""
    async with httpx.AsyncClient(base_url=mesh.gateway_url, timeout=10) as client:
        for _ in range(50):
            response = await client.get("/v1/models", headers=_bearer(credential))
            if response.status_code == 200:
                return
            assert response.status_code == 401, response.text
            await asyncio.sleep(0.1)
    raise AssertionError("the key was never accepted")


@pytest.fixture
async def tenants(mesh: RunningMesh) -> Tenants:
    """Fresh tenants for each test: nothing cached, spent or counted yet."""
    a, b = await _new_tenant(mesh, "acme"), await _new_tenant(mesh, "globex")
    ops = f"ops-{uuid.uuid4().hex[:8]}"
    admin_key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(
        "ops-key-user", ("admin",), "standard", tenant=ops
    )
    await _accepted(mesh, admin_key)
    admin = {"api_key": admin_key, "jwt": jwt_for("ops-jwt-user", ["admin"], tenant=ops)}
    return Tenants(a, b, ops, admin)


def _bearer(credential: str) -> dict[str, str]:
    return {"authorization": f"Bearer {credential}"}


@pytest.fixture(scope="module")
async def models_as(
    mesh: RunningMesh,
) -> AsyncIterator[Callable[[str], models_pb2_grpc.ModelServiceStub]]:
    """ModelService stubs through the gateway, one channel per credential."""
    channels: dict[str, grpc.aio.Channel] = {}

    def stub(credential: str) -> models_pb2_grpc.ModelServiceStub:
        if credential not in channels:
            channels[credential] = open_channel(mesh.gateway_target, token=credential, timeout=120)
        return models_pb2_grpc.ModelServiceStub(channels[credential])

    yield stub
    for channel in channels.values():
        await channel.close()


@pytest.fixture(scope="module")
async def redis_bytes(mesh: RunningMesh) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(mesh.redis_url)
    yield client
    await client.aclose()


def _ask(text: str, *, cache: bool = False, **fields: Any) -> pb.GenerateRequest:
    return pb.GenerateRequest(
        messages=[pb.Message(role="user", content=text)],
        model=LOCAL_MODEL,
        max_tokens=4,
        cache=pb.CacheControl(bypass=not cache),
        **fields,
    )


async def _refused(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def _spent(client: redis.Redis, scope: str, owner: str) -> float:
    return float(await client.hget(budget_key(scope, owner), "spent_tokens") or 0)


async def _until_spent(client: redis.Redis, scope: str, owner: str, above: float) -> float:
    """Usage reaches Redis in the background (every 0.2 s)."""
    for _ in range(100):
        spent = await _spent(client, scope, owner)
        if spent > above:
            return spent
        await asyncio.sleep(0.05)
    raise AssertionError(f"{scope} {owner} never spent more than {above}")


async def _requests(stub: models_pb2_grpc.ModelServiceStub, **owner: str) -> int:
    return (await stub.GetUsage(pb.GetUsageRequest(**owner))).requests


async def _until_requests(stub: models_pb2_grpc.ModelServiceStub, count: int, **owner: str) -> None:
    for _ in range(100):
        if await _requests(stub, **owner) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"GetUsage({owner}) never reached {count} requests")


# -- spend ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_one_tenant_never_spends_anothers_budget(
    kind: str, tenants: Tenants, models_as, redis_bytes: redis.Redis
) -> None:
    a, b = tenants.a, tenants.b
    as_a, as_b = models_as(a.credential(kind)), models_as(b.credential(kind))
    agent = f"bot-{uuid.uuid4().hex[:6]}"  # the same agent id in both tenants
    a_before = await _spent(redis_bytes, "tenant", a.id)
    b_before = await _spent(redis_bytes, "tenant", b.id)
    await as_b.Generate(_ask("Hi", agent_id=agent))
    await _until_spent(redis_bytes, "tenant", b.id, b_before)
    assert await _spent(redis_bytes, "agent", agent_owner(b.id, agent)) > 0
    assert await _spent(redis_bytes, "tenant", a.id) == a_before, "B spent A's budget"
    assert await _spent(redis_bytes, "agent", agent_owner(a.id, agent)) == 0

    # A's agent has spent its budget: A's calls as that agent are refused, B's are not.
    await redis_bytes.hset(
        budget_key("agent", agent_owner(a.id, agent)),
        mapping={"limit_tokens": 5, "spent_tokens": 5},
    )
    error = await _refused(as_a.Generate(_ask("Hi", agent_id=agent)))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and platform_code(error) == "E4009"
    await as_b.Generate(_ask("Hi", agent_id=agent))


async def test_an_exhausted_tenant_is_refused_whichever_credential_of_it_calls(
    tenants: Tenants, models_as, redis_bytes: redis.Redis
) -> None:
    """The budget is the tenant's, whoever of it calls with whatever credential; the other
    tenant goes on."""
    a = tenants.a
    await redis_bytes.hset(
        budget_key("tenant", a.id), mapping={"limit_tokens": 1, "spent_tokens": 1}
    )
    for credential in (a.api_key, a.jwt):
        error = await _refused(models_as(credential).Generate(_ask("Hi")))
        assert platform_code(error) == "E4009" and a.id in (error.details() or "")
    await models_as(tenants.b.jwt).Generate(_ask("Hi"))


# -- usage ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_one_tenant_cannot_read_anothers_usage(
    kind: str, tenants: Tenants, models_as
) -> None:
    a, b = tenants.a, tenants.b
    as_a, as_b = models_as(a.credential(kind)), models_as(b.credential(kind))
    agent = f"reporter-{uuid.uuid4().hex[:6]}"
    await as_a.Generate(_ask("Hello", agent_id=agent))
    await _until_requests(as_a, 1, agent_id=agent)
    # B's agent of the same name has done nothing, whatever A's has.
    assert await _requests(as_b, agent_id=agent) == 0
    # B's own usage (no filter, or its own tenant named) never counts A's calls.
    b_usage = await as_b.GetUsage(pb.GetUsageRequest())
    assert b_usage == await as_b.GetUsage(pb.GetUsageRequest(tenant_id=b.id))
    a_usage = await as_a.GetUsage(pb.GetUsageRequest())
    assert a_usage.requests >= 1 and a_usage != b_usage
    error = await _refused(as_b.GetUsage(pb.GetUsageRequest(tenant_id=a.id)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and platform_code(error) == "E4013"
    error = await _refused(as_b.GetUsage(pb.GetUsageRequest(tenant_id=a.id, agent_id=agent)))
    assert platform_code(error) == "E4013"


# -- caches -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_one_tenant_is_never_served_anothers_cached_answer(
    kind: str, tenants: Tenants, models_as
) -> None:
    a, b = tenants.a, tenants.b
    as_a, as_b = models_as(a.credential(kind)), models_as(b.credential(kind))
    # A's other credential: the cache is the tenant's, not the principal's.
    also_a = models_as(a.credential(KINDS[1 - KINDS.index(kind)]))
    question = "What is the capital of France?"
    exact = f"Spell the word {uuid.uuid4().hex[:6]}."
    streamed = f"Repeat the code {uuid.uuid4().hex[:6]}."
    first = await as_a.Generate(_ask(question, cache=True))
    assert not first.cached
    for text in (exact, streamed):
        assert not (await as_a.Generate(_ask(text, cache=True))).cached

    # Semantic: B's paraphrase is not served A's answer; A's own paraphrase is.
    paraphrase = "Which city is the capital of France?"
    assert not (await as_b.Generate(_ask(paraphrase, cache=True))).cached
    hit = await as_a.Generate(_ask(paraphrase, cache=True))
    assert hit.cached and hit.content == first.content

    # Exact: B asking the very same text is answered afresh; naming A's tenant is refused.
    assert not (await as_b.Generate(_ask(exact, cache=True))).cached
    error = await _refused(as_b.Generate(_ask(exact, cache=True, tenant_id=a.id)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and platform_code(error) == "E4013"
    assert (await also_a.Generate(_ask(exact, cache=True))).cached

    # Streamed, the same: B's stream is generated, A's is replayed from the cache.
    finals = await _finals(as_b, _ask(streamed, cache=True))
    assert len(finals) == 1 and not finals[0].cached
    finals = await _finals(also_a, _ask(streamed, cache=True))
    assert len(finals) == 1 and finals[0].cached


async def _finals(
    stub: models_pb2_grpc.ModelServiceStub, request: pb.GenerateRequest
) -> list[pb.GenerateResponse]:
    stream = stub.StreamGenerate(pb.StreamGenerateRequest(request=request))
    return [message.final async for message in stream if message.HasField("final")]


# -- a tenant or agent named in the body ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_naming_another_tenant_is_403_e4013_on_every_rpc(
    kind: str, tenants: Tenants, models_as
) -> None:
    a, b = tenants.a, tenants.b
    as_b = models_as(b.credential(kind))
    calls = [
        as_b.Generate(_ask("Hi", tenant_id=a.id)),
        as_b.Embed(pb.EmbedRequest(texts=["hi"], tenant_id=a.id)),
        as_b.GetUsage(pb.GetUsageRequest(tenant_id=a.id)),
    ]
    for call in calls:
        error = await _refused(call)
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert platform_code(error) == "E4013"
        assert b.id in (error.details() or "") and a.id in (error.details() or "")
    stream = as_b.StreamGenerate(pb.StreamGenerateRequest(request=_ask("Hi", tenant_id=a.id)))
    error = await _refused(_drain(stream))
    assert platform_code(error) == "E4013" and "request.tenant_id" in (error.details() or "")
    # Its own tenant, named, is fine.
    await as_b.Embed(pb.EmbedRequest(texts=["hi"], tenant_id=b.id))


async def _drain(stream: AsyncIterator[Any]) -> None:
    async for _ in stream:
        pass


@pytest.mark.parametrize("kind", KINDS)
async def test_naming_another_tenant_over_rest_is_http_403(
    kind: str, tenants: Tenants, mesh: RunningMesh
) -> None:
    a, b = tenants.a, tenants.b
    headers = {**_bearer(b.credential(kind)), "x-agentic-tenant": a.id}  # forged: removed
    async with httpx.AsyncClient(base_url=mesh.gateway_url, headers=headers, timeout=60) as rest:
        responses = [
            await rest.post("/v1/models:embed", json={"texts": ["hi"], "tenant_id": a.id}),
            await rest.get("/v1/usage", params={"tenant_id": a.id}),
        ]
        for response in responses:
            assert response.status_code == 403, response.text
            assert rest_reason(response.json()) == "E4013"
        # The forged header changed nothing: B's own usage, not A's.
        own = await rest.get("/v1/usage")
        assert own.status_code == 200
        named = await rest.get("/v1/usage", params={"tenant_id": b.id})
        assert own.json() == named.json()


# -- admins -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_an_admin_acts_for_the_tenant_it_names(
    kind: str, tenants: Tenants, models_as, redis_bytes: redis.Redis
) -> None:
    a = tenants.a
    admin = models_as(tenants.admin[kind])
    agent = f"ops-bot-{uuid.uuid4().hex[:6]}"
    await admin.Generate(_ask("Hi", agent_id=agent, tenant_id=a.id))
    # The call is A's: A's agent is charged and A sees it in its usage; the admin's tenant not.
    await _until_spent(redis_bytes, "agent", agent_owner(a.id, agent), 0)
    await _until_requests(models_as(a.credential(kind)), 1, agent_id=agent)
    everyone = await admin.GetUsage(pb.GetUsageRequest())
    assert await _spent(redis_bytes, "agent", agent_owner(tenants.admin_tenant, agent)) == 0
    usage = await admin.GetUsage(pb.GetUsageRequest(tenant_id=a.id, agent_id=agent))
    assert usage.requests == 1
    # Its own tenant has done nothing; naming nobody, it reads the whole platform's usage.
    assert await _requests(admin, tenant_id=tenants.admin_tenant) == 0
    assert everyone.requests >= 1


# -- the paths that skip ext_authz --------------------------------------------------------------


async def test_calls_envoy_forwards_itself_carry_the_tenant_too(
    tenants: Tenants, models_as, mesh: RunningMesh
) -> None:
    """A JWT is forwarded by Envoy's identity filter and an API key, once allowed, on its
    voucher: neither asks ext_authz again, and both still bind the credential's tenant."""
    a, b = tenants.a, tenants.b
    admin_port = mesh.settings.envoy_admin_port
    for kind, most_hops in (("jwt", 0), ("api_key", 9)):
        stub = models_as(b.credential(kind))
        hops = await envoy_stat(admin_port, "http.gateway.ext_authz.ok")
        for _ in range(10):
            await stub.GetUsage(pb.GetUsageRequest(tenant_id=b.id))
            error = await _refused(stub.GetUsage(pb.GetUsageRequest(tenant_id=a.id)))
            assert platform_code(error) == "E4013", kind
        hops = await envoy_stat(admin_port, "http.gateway.ext_authz.ok") - hops
        assert hops <= most_hops, f"{kind}: {hops} calls went to ext_authz"


@pytest.mark.parametrize("tenant", [42, "a b", "", "x#y"])
async def test_a_jwt_whose_tenant_a_header_cannot_carry_is_401(
    tenant: object, mesh: RunningMesh
) -> None:
    """The identity filter leaves such a token to ext_authz, which refuses it."""
    token = jwt_for("odd-tenant-user", ["model_user"], tenant=tenant)
    async with httpx.AsyncClient(base_url=mesh.gateway_url, timeout=10) as rest:
        response = await rest.get("/v1/usage", headers=_bearer(token))
    assert response.status_code == 401, response.text
    assert rest_reason(response.json()) == "E9401"
    assert "tenant" in response.json()["message"]
