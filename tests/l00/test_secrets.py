"""L00 through the gateway: versions, access policy, states, audit, bad input."""

from __future__ import annotations

import asyncio
import base64

import grpc
import httpx
import pytest

from agentic.secrets.v1 import secrets_pb2 as pb
from agentic.secrets.v1 import secrets_pb2_grpc as pb_grpc
from tests.conftest import RunningMesh
from tests.l00.support import accepted_key, audit_events, secret_name, secrets_as
from tests.support import platform_code, rest_reason

pytestmark = [pytest.mark.integration, pytest.mark.l00]


@pytest.fixture(scope="module")
async def keys(mesh: RunningMesh) -> dict[str, str]:
    """All three may call every secret RPC at the edge; each secret's own policy decides."""
    return {
        "alice": await accepted_key(mesh, "alice", "secrets_manager"),
        "bob": await accepted_key(mesh, "bob", "secrets_manager"),
        "mallory": await accepted_key(mesh, "mallory", "secrets_user"),
    }


async def test_versions_are_added_and_accessed_over_rest(rest: httpx.AsyncClient) -> None:
    name = secret_name()
    created = await rest.post("/v1/secrets", json={"name": name, "labels": {"team": "core"}})
    assert created.status_code == 200, created.text
    assert created.json()["secret"]["access_policy"]["managers"] == ["dev"]
    for value in ("first", "second"):
        added = await rest.post(f"/v1/secrets/{name}/versions", json={"value": value})
        assert added.status_code == 200, added.text
    binary = base64.b64encode(b"\x00\xffbytes").decode()
    added = await rest.post(f"/v1/secrets/{name}/versions", json={"binary_value": binary})
    assert added.json()["version"]["version"] == "3"

    latest = (await rest.get(f"/v1/secrets/{name}/versions/latest:access")).json()
    assert (latest["version"], latest["binary_value"]) == ("3", binary)
    first = (await rest.get(f"/v1/secrets/{name}/versions/1:access")).json()
    assert first["value"] == "first"

    listed = (await rest.get("/v1/secrets", params={"page_size": 1000})).json()
    mine = [s for s in listed["secrets"] if s["name"] == name]
    assert [v["version"] for v in mine[0]["versions"]] == ["1", "2", "3"]
    assert "first" not in str(listed) and "second" not in str(listed)
    got = (await rest.get(f"/v1/secrets/{name}")).json()
    assert got["secret"]["labels"] == {"team": "core"}
    assert "first" not in str(got)


async def test_only_the_policy_may_access_and_no_existence_leaks(
    mesh: RunningMesh, keys: dict[str, str], l01_channel: grpc.aio.Channel
) -> None:
    name = secret_name()
    async with secrets_as(mesh, keys["alice"]) as alice:
        await alice.CreateSecret(
            pb.CreateSecretRequest(name=name, access_policy=pb.AccessPolicy(principals=["bob"]))
        )
        await alice.AddSecretVersion(pb.AddSecretVersionRequest(name=name, value="for-bob"))
    async with secrets_as(mesh, keys["bob"]) as bob:
        reply = await bob.AccessSecretVersion(
            pb.AccessSecretVersionRequest(name=name, version="latest")
        )
        assert reply.value == "for-bob"
        with pytest.raises(grpc.aio.AioRpcError) as refused:  # bob reads, does not manage
            await bob.AddSecretVersion(pb.AddSecretVersionRequest(name=name, value="x"))
        assert platform_code(refused.value) == "E0004"

    answers = []
    async with secrets_as(mesh, keys["mallory"]) as mallory:
        for target in (name, secret_name("never-created")):
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await mallory.AccessSecretVersion(
                    pb.AccessSecretVersionRequest(name=target, version="latest")
                )
            error = denied.value
            answers.append(
                (error.code(), platform_code(error), error.details().replace(target, "NAME"))
            )
        listed = await mallory.ListSecrets(pb.ListSecretsRequest(page_size=1000))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (grpc.StatusCode.PERMISSION_DENIED, "E0004")
    assert name not in [s.name for s in listed.secrets]

    events = await audit_events(l01_channel, name)
    denials = [e for e in events if e.type == "secret.access_denied"]
    assert denials and denials[-1].data["principal"] == "mallory"
    accessed = [e for e in events if e.type == "secret.version_accessed"]
    assert [e.data["principal"] for e in accessed] == ["bob"]


async def test_the_rest_answer_is_403_with_the_code(
    mesh: RunningMesh, keys: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=mesh.gateway_url, timeout=10) as client:
        response = await client.get(
            f"/v1/secrets/{secret_name()}/versions/latest:access",
            headers={"authorization": f"Bearer {keys['mallory']}"},
        )
    assert response.status_code == 403
    assert rest_reason(response.json()) == "E0004"


async def test_disabled_and_destroyed_versions_cannot_be_read(
    gateway_channel: grpc.aio.Channel,
) -> None:
    stub = pb_grpc.SecretServiceStub(gateway_channel)
    name = secret_name()
    await stub.CreateSecret(pb.CreateSecretRequest(name=name))
    for value in ("v1", "v2"):
        await stub.AddSecretVersion(pb.AddSecretVersionRequest(name=name, value=value))

    await stub.DisableSecretVersion(pb.DisableSecretVersionRequest(name=name, version="2"))
    latest = await stub.AccessSecretVersion(
        pb.AccessSecretVersionRequest(name=name, version="latest")
    )
    assert (latest.version, latest.value) == (1, "v1")  # latest enabled
    with pytest.raises(grpc.aio.AioRpcError) as disabled:
        await stub.AccessSecretVersion(pb.AccessSecretVersionRequest(name=name, version="2"))
    assert platform_code(disabled.value) == "E0007"
    await stub.EnableSecretVersion(pb.EnableSecretVersionRequest(name=name, version="2"))
    again = await stub.AccessSecretVersion(pb.AccessSecretVersionRequest(name=name, version="2"))
    assert again.value == "v2"

    destroyed = await stub.DestroySecretVersion(
        pb.DestroySecretVersionRequest(name=name, version="2")
    )
    assert destroyed.version.state == pb.VERSION_STATE_DESTROYED
    assert destroyed.version.HasField("destroy_time")
    for call in (
        stub.AccessSecretVersion(pb.AccessSecretVersionRequest(name=name, version="2")),
        stub.EnableSecretVersion(pb.EnableSecretVersionRequest(name=name, version="2")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as gone:
            await call
        assert platform_code(gone.value) == "E0008"
    latest = await stub.AccessSecretVersion(
        pb.AccessSecretVersionRequest(name=name, version="latest")
    )
    assert latest.version == 1

    deleted = await stub.DeleteSecret(pb.DeleteSecretRequest(name=name))
    assert deleted.versions_deleted == 1
    with pytest.raises(grpc.aio.AioRpcError) as after:
        await stub.GetSecret(pb.GetSecretRequest(name=name))
    assert platform_code(after.value) == "E0004"


async def test_audit_events_name_the_principal_and_never_the_value(
    rest: httpx.AsyncClient, l01_channel: grpc.aio.Channel
) -> None:
    name = secret_name()
    value = "audit-canary-7f3a9c"
    await rest.post("/v1/secrets", json={"name": name})
    await rest.post(f"/v1/secrets/{name}/versions", json={"value": value})
    await rest.get(f"/v1/secrets/{name}/versions/1:access")
    await rest.post(f"/v1/secrets/{name}/versions/1:disable", json={})
    events = await audit_events(l01_channel, name)
    assert [e.type for e in events] == [
        "secret.created",
        "secret.version_added",
        "secret.version_accessed",
        "secret.version_disabled",
    ]
    assert all(e.data["principal"] == "dev" for e in events)
    assert value not in str(events)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/secrets", {"name": ""}, "name"),
        ("/v1/secrets", {"name": "has space"}, "name"),
        ("/v1/secrets", {"name": "x" * 129}, "name"),
        ("/v1/secrets", {"name": "--flag"}, "name"),
        ("/v1/secrets", {"name": "ok", "labels": {"Upper": "x"}}, "labels['Upper']"),
        (
            "/v1/secrets",
            {"name": "ok", "access_policy": {"principals": ["a b"]}},
            "access_policy.principals",
        ),
    ],
)
async def test_bad_input_names_the_field(
    rest: httpx.AsyncClient, path: str, body: dict[str, object], field: str
) -> None:
    response = await rest.post(path, json=body)
    assert response.status_code == 400, response.text
    assert rest_reason(response.json()) == "E0002"
    assert field in response.json()["message"]


async def test_bad_versions_and_values_are_refused(rest: httpx.AsyncClient) -> None:
    name = secret_name()
    await rest.post("/v1/secrets", json={"name": name})
    too_big = await rest.post(f"/v1/secrets/{name}/versions", json={"value": "x" * 70_000})
    assert (too_big.status_code, rest_reason(too_big.json())) == (400, "E0009")
    empty = await rest.post(f"/v1/secrets/{name}/versions", json={})
    assert (empty.status_code, rest_reason(empty.json())) == (400, "E0002")
    for version in ("0", "-1", "abc", "99999999999", "²"):
        response = await rest.get(f"/v1/secrets/{name}/versions/{version}:access")
        assert (response.status_code, rest_reason(response.json())) == (400, "E0002"), version
    missing = await rest.get(f"/v1/secrets/{name}/versions/7:access")
    assert (missing.status_code, rest_reason(missing.json())) == (404, "E0005")
    duplicate = await rest.post("/v1/secrets", json={"name": name})
    assert (duplicate.status_code, rest_reason(duplicate.json())) == (409, "E0006")
    no_manager = await rest.post(
        f"/v1/secrets/{name}:setAccessPolicy", json={"access_policy": {"principals": ["bob"]}}
    )
    assert (no_manager.status_code, rest_reason(no_manager.json())) == (400, "E0002")


async def test_concurrent_writers_get_distinct_versions(rest: httpx.AsyncClient) -> None:
    name = secret_name()
    await rest.post("/v1/secrets", json={"name": name})
    replies = await asyncio.gather(
        *(rest.post(f"/v1/secrets/{name}/versions", json={"value": f"v{i}"}) for i in range(8))
    )
    assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
    numbers = sorted(int(r.json()["version"]["version"]) for r in replies)
    assert numbers == list(range(1, 9))
    secret = (await rest.get(f"/v1/secrets/{name}")).json()["secret"]
    assert len(secret["versions"]) == 8


async def test_a_foreign_page_token_is_bad_input(rest: httpx.AsyncClient) -> None:
    response = await rest.get("/v1/secrets", params={"page_token": "not-a-token"})
    assert (response.status_code, rest_reason(response.json())) == (400, "E0002")
    assert "page_token" in response.json()["message"]
