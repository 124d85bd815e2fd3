"""L13 through Envoy on a real mesh: the shipped roles, edits with revisions, classification,
assignment, context, and bad input."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from agentic.data.v1 import event_store_pb2 as es_pb
from agentic.data.v1 import event_store_pb2_grpc as es_grpc
from agentic.data.v1 import vectors_pb2 as vec_pb
from agentic.data.v1 import vectors_pb2_grpc as vec_grpc
from agentic.roles.v1 import roles_pb2 as pb
from agentic.roles.v1 import roles_pb2_grpc as pb_grpc
from services.kit import open_channel
from services.kit.auth import ApiKeyFile
from tests.conftest import RunningMesh
from tests.support import error_metadata, platform_code, register_python_tool, rest_reason

pytestmark = [pytest.mark.integration, pytest.mark.l13]

HELD_OUT = [
    row
    for row in map(json.loads, Path("tests/data/role_tasks.jsonl").read_text().splitlines())
    if row["split"] == "heldout"
]


@pytest.fixture
def roles(gateway_channel: grpc.aio.Channel) -> pb_grpc.RoleServiceStub:
    return pb_grpc.RoleServiceStub(gateway_channel)


def new_role(**changes: Any) -> pb.Role:
    fields: dict[str, Any] = {
        "name": f"test-{uuid.uuid4().hex[:10]}",
        "title": "Zookeeper",
        "description": "Looks after the zebras and quokkas of the test zoo.",
        "responsibilities": ["Feed the zebras", "Count the quokkas every morning"],
        "core_skills": ["python"],
        "preferred_tools": ["shell"],
        "keywords": ["zebra", "quokka", "zoo enclosure"],
        "layers": ["l01"],
        "prompt": "You are the zookeeper.",
    }
    fields.update(changes)
    return pb.Role(**fields)


async def _refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def test_the_shipped_roles_are_listed_and_readable_over_rest(rest: httpx.AsyncClient) -> None:
    listed = (await rest.get("/v1/roles", params={"page_size": 100})).json()
    names = {role["name"] for role in listed["roles"]}
    assert {"architect", "debugger", "test-engineer", "security-analyst"} <= names
    debugger = (await rest.get("/v1/roles/debugger")).json()["role"]
    assert debugger["token_budget"] == 4000 and debugger["state"] == "ROLE_STATE_ACTIVE"
    assert debugger["responsibilities"] and debugger["prompt"]


async def test_classify_over_rest_ranks_roles_best_first(rest: httpx.AsyncClient) -> None:
    response = await rest.post(
        "/v1/roles:classify", json={"text": "the login page is slow and throws 500s sometimes"}
    )
    assert response.status_code == 200
    body = response.json()
    scores = [match["score"] for match in body["matches"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert body["matches"][0]["name"] == "debugger"
    assert all(match["reasons"] for match in body["matches"])
    assert not body.get("needs_oversight", False)


async def test_destructive_work_is_flagged_for_oversight(roles: pb_grpc.RoleServiceStub) -> None:
    reply = await roles.ClassifyTask(
        pb.ClassifyTaskRequest(text="drop the customers table in prod, we have a backup")
    )
    assert reply.needs_oversight
    assert "deletes or overwrites stored data" in reply.oversight_reasons
    assert "changes production" in reply.oversight_reasons


async def test_held_out_tasks_are_classified(roles: pb_grpc.RoleServiceStub) -> None:
    """The weights never saw these; bench.roles reports the exact figures (92.6 % top-1 and
    98.7 % top-3 on the third half written on 2026-12-06, 138 and 147 of 149): these floors,
    four tasks under them, catch a regression."""
    top1 = top3 = 0
    for row in HELD_OUT:
        reply = await roles.ClassifyTask(pb.ClassifyTaskRequest(text=row["text"], limit=3))
        names = [m.name for m in reply.matches]
        top1 += names[0] == row["role"]
        top3 += row["role"] in names
    assert top1 >= 134, f"top-1 {top1} of {len(HELD_OUT)}"
    assert top3 >= 143, f"top-3 {top3} of {len(HELD_OUT)}"


async def test_a_role_is_created_updated_with_revisions_and_kept(
    roles: pb_grpc.RoleServiceStub,
) -> None:
    created = (await roles.CreateRole(pb.CreateRoleRequest(role=new_role()))).role
    assert created.revision == 1 and created.state == pb.ROLE_STATE_ACTIVE
    changed = pb.Role()
    changed.CopyFrom(created)
    changed.title = "Head Zookeeper"
    updated = (await roles.UpdateRole(pb.UpdateRoleRequest(role=changed, expected_revision=1))).role
    assert updated.revision == 2 and updated.title == "Head Zookeeper"
    stale = await _refused(
        roles.UpdateRole(pb.UpdateRoleRequest(role=changed, expected_revision=1))
    )
    assert stale.code() == grpc.StatusCode.ABORTED and platform_code(stale) == "E13004"
    assert error_metadata(stale)["actual_revision"] == "2"
    first = (await roles.GetRole(pb.GetRoleRequest(name=created.name, revision=1))).role
    assert first.title == "Zookeeper" and first.revision == 1
    history = await roles.ListRoleRevisions(pb.ListRoleRevisionsRequest(name=created.name))
    assert [r.revision for r in history.revisions] == [2, 1]


async def test_a_duplicate_name_is_refused(roles: pb_grpc.RoleServiceStub) -> None:
    role = new_role()
    await roles.CreateRole(pb.CreateRoleRequest(role=role))
    again = await _refused(roles.CreateRole(pb.CreateRoleRequest(role=role)))
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS and platform_code(again) == "E13005"
    shipped = await _refused(roles.CreateRole(pb.CreateRoleRequest(role=new_role(name="debugger"))))
    assert platform_code(shipped) == "E13005"


async def test_a_new_role_is_classified_and_a_deprecated_one_no_longer(
    roles: pb_grpc.RoleServiceStub,
) -> None:
    animal = f"okapi{uuid.uuid4().hex[:6]}"  # a keyword no other role has
    role = new_role(
        title="Lighthouse keeper",
        description="Keeps the lighthouse lamp burning and logs passing ships.",
        responsibilities=["Trim the lighthouse lamp wick", "Log every ship that passes"],
        keywords=[animal],
    )
    await roles.CreateRole(pb.CreateRoleRequest(role=role))
    task = f"trim the lighthouse lamp and log the {animal} ship that passed"
    found = await roles.ClassifyTask(pb.ClassifyTaskRequest(text=task, limit=5))
    assert found.matches[0].name == role.name
    await roles.DeprecateRole(pb.DeprecateRoleRequest(name=role.name, reason="zoo closed"))
    after = await roles.ClassifyTask(pb.ClassifyTaskRequest(text=task, limit=20))
    assert role.name not in [m.name for m in after.matches]
    read = (await roles.GetRole(pb.GetRoleRequest(name=role.name))).role
    assert read.state == pb.ROLE_STATE_DEPRECATED and read.deprecation_reason == "zoo closed"
    assigned = await _refused(roles.AssignRole(pb.AssignRoleRequest(name=role.name, agent_id="a1")))
    assert assigned.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert platform_code(assigned) == "E13006"


async def test_a_role_s_examples_are_kept_and_classify_tasks_like_them(
    roles: pb_grpc.RoleServiceStub,
) -> None:
    example = "the penguin pool filter keeps clogging with feathers"
    role = new_role(keywords=[], examples=[example, "count the penguins after feeding time"])
    await roles.CreateRole(pb.CreateRoleRequest(role=role))
    read = (await roles.GetRole(pb.GetRoleRequest(name=role.name))).role
    assert list(read.examples) == list(role.examples)
    task = "penguin pool filter clogged with feathers again"
    found = await roles.ClassifyTask(pb.ClassifyTaskRequest(text=task, limit=3))
    match = next(m for m in found.matches if m.name == role.name)
    assert any(reason.startswith(f"like the example {example!r}") for reason in match.reasons)


async def test_a_changed_role_is_embedded_again(
    roles: pb_grpc.RoleServiceStub, l01_channel: grpc.aio.Channel
) -> None:
    vectors = vec_grpc.VectorServiceStub(l01_channel)
    role = (await roles.CreateRole(pb.CreateRoleRequest(role=new_role()))).role

    async def summary() -> vec_pb.Vector:
        reply = await vectors.GetVector(
            vec_pb.GetVectorRequest(parent="vectorCollections/l13-roles", id=f"{role.name}.summary")
        )
        return reply.vector

    before = await summary()
    role.description = "Runs the aquarium: sharks, rays and the coral reef tank."
    await roles.UpdateRole(pb.UpdateRoleRequest(role=role))
    after = await summary()
    assert after.metadata["digest"] != before.metadata["digest"]
    assert list(after.values) != list(before.values)
    assert "aquarium" in after.metadata["text"]


async def test_an_assignment_is_an_event_in_the_log(
    roles: pb_grpc.RoleServiceStub, l01_channel: grpc.aio.Channel
) -> None:
    agent = f"agent-{uuid.uuid4().hex[:8]}"
    reply = await roles.AssignRole(pb.AssignRoleRequest(name="debugger", agent_id=agent))
    assert reply.role_revision >= 1 and reply.event_position > 0
    store = es_grpc.EventStoreServiceStub(l01_channel)
    events = (
        await store.ReadStream(es_pb.ReadStreamRequest(stream_id=f"agent-roles-{agent}"))
    ).events
    assert [e.type for e in events] == ["role.assigned"]
    assert (
        events[0].data["role"] == "debugger" and events[0].global_position == reply.event_position
    )


@pytest.mark.parametrize("budget", [0, 300, 150])
async def test_a_context_respects_the_budget(roles: pb_grpc.RoleServiceStub, budget: int) -> None:
    task = "the export button gives me a blank file since last week. " * 500
    reply = await roles.BuildContext(
        pb.BuildContextRequest(name="debugger", task=task, token_budget=budget)
    )
    assert reply.token_budget == (budget or 4000)
    assert 0 < reply.token_count <= reply.token_budget
    assert reply.truncated and "task" in reply.trimmed_sections


@pytest.mark.parametrize(
    ("request_", "code", "field"),
    [
        (pb.ClassifyTaskRequest(text=""), "E13002", "text"),
        (pb.ClassifyTaskRequest(text="   "), "E13002", "text"),
        (pb.ClassifyTaskRequest(text="x" * 1_000_000), "E13007", "text"),
        (pb.ClassifyTaskRequest(text="fix the bug", limit=-1), "E13002", "limit"),
    ],
)
async def test_bad_classify_input_names_the_field(
    roles: pb_grpc.RoleServiceStub, request_: pb.ClassifyTaskRequest, code: str, field: str
) -> None:
    error = await _refused(roles.ClassifyTask(request_))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(error) == code and error_metadata(error)["field"] == field


async def test_an_invalid_role_is_400_naming_every_bad_field(rest: httpx.AsyncClient) -> None:
    response = await rest.post(
        "/v1/roles",
        json={"name": "Not Valid", "title": "", "preferredTools": ["teleport"], "prompt": "hi",
              "description": "d", "responsibilities": ["r"], "tokenBudget": 3},
    )  # fmt: skip
    assert response.status_code == 400
    body = response.json()
    assert rest_reason(body) == "E13002"
    violations = next(d for d in body["details"] if d["@type"].endswith("BadRequest"))
    fields = [v["field"] for v in violations["field_violations"]]
    assert fields == ["name", "title", "preferred_tools[0]", "token_budget"]


async def test_a_role_may_prefer_a_tool_registered_in_l03(
    roles: pb_grpc.RoleServiceStub, gateway_channel: grpc.aio.Channel
) -> None:
    tool = f"pager_{uuid.uuid4().hex[:8]}"
    role = new_role(preferred_tools=["shell", tool])
    unknown = await _refused(roles.CreateRole(pb.CreateRoleRequest(role=role)))
    assert platform_code(unknown) == "E13002" and tool in (unknown.details() or "")
    await register_python_tool(gateway_channel, tool, "Pages the on-call engineer")
    created = (await roles.CreateRole(pb.CreateRoleRequest(role=role))).role
    assert list(created.preferred_tools) == ["shell", tool]


async def test_unknown_roles_and_budgets_beyond_the_role_are_refused(
    roles: pb_grpc.RoleServiceStub,
) -> None:
    missing = await _refused(roles.GetRole(pb.GetRoleRequest(name="astronaut")))
    assert missing.code() == grpc.StatusCode.NOT_FOUND and platform_code(missing) == "E13003"
    old = await _refused(roles.GetRole(pb.GetRoleRequest(name="debugger", revision=999)))
    assert platform_code(old) == "E13003"
    too_big = await _refused(
        roles.BuildContext(pb.BuildContextRequest(name="debugger", task="t", token_budget=10**6))
    )
    assert platform_code(too_big) == "E13002" and error_metadata(too_big)["field"] == "token_budget"
    agent = await _refused(roles.AssignRole(pb.AssignRoleRequest(name="debugger", agent_id="a b")))
    assert error_metadata(agent)["field"] == "agent_id"


async def test_concurrent_updates_of_one_revision_keep_one(roles: pb_grpc.RoleServiceStub) -> None:
    created = (await roles.CreateRole(pb.CreateRoleRequest(role=new_role()))).role

    async def rename(title: str) -> str:
        role = pb.Role()
        role.CopyFrom(created)
        role.title = title
        try:
            await roles.UpdateRole(pb.UpdateRoleRequest(role=role, expected_revision=1))
        except grpc.aio.AioRpcError as error:
            return platform_code(error)
        return "ok"

    outcomes = await asyncio.gather(*(rename(f"Keeper {i}") for i in range(5)))
    assert sorted(outcomes) == ["E13004"] * 4 + ["ok"]
    history = await roles.ListRoleRevisions(pb.ListRoleRevisionsRequest(name=created.name))
    assert [r.revision for r in history.revisions] == [2, 1]


async def test_callers_without_credentials_are_refused(mesh: RunningMesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.gateway_url, timeout=10) as client:
        response = await client.post("/v1/roles:classify", json={"text": "fix the bug"})
    assert response.status_code == 401


async def test_readers_classify_but_only_writers_edit(mesh: RunningMesh) -> None:
    keys = ApiKeyFile(mesh.settings.gateway_keys_file)
    reader, _ = keys.create(f"reader-{uuid.uuid4().hex[:6]}", ("reader",), "standard")
    writer, _ = keys.create(f"writer-{uuid.uuid4().hex[:6]}", ("writer",), "standard")
    async with (
        open_channel(mesh.gateway_target, token=reader) as reader_channel,
        open_channel(mesh.gateway_target, token=writer) as writer_channel,
    ):
        as_reader = pb_grpc.RoleServiceStub(reader_channel)
        for _ in range(30):  # the gateway re-reads the key file within a second
            try:
                await as_reader.ClassifyTask(pb.ClassifyTaskRequest(text="add dark mode"))
                break
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.UNAUTHENTICATED
                await asyncio.sleep(0.1)
        await as_reader.GetRole(pb.GetRoleRequest(name="architect"))
        denied = await _refused(as_reader.CreateRole(pb.CreateRoleRequest(role=new_role())))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        as_writer = pb_grpc.RoleServiceStub(writer_channel)
        created = (await as_writer.CreateRole(pb.CreateRoleRequest(role=new_role()))).role
        assert created.revision == 1


async def test_a_role_is_updated_over_rest_by_its_path(
    roles: pb_grpc.RoleServiceStub, rest: httpx.AsyncClient
) -> None:
    created = (await roles.CreateRole(pb.CreateRoleRequest(role=new_role()))).role
    body = {"title": "Night Keeper", "description": created.description, "prompt": "p",
            "responsibilities": ["Lock the gates"]}  # fmt: skip
    path = f"/v1/roles/{created.name}"
    updated = await rest.patch(path, params={"expected_revision": 1}, json=body)
    assert updated.status_code == 200, updated.text
    assert updated.json()["role"]["revision"] == "2"  # int64 travels as a JSON string
    stale = await rest.patch(path, params={"expected_revision": 1}, json=body)
    assert stale.status_code == 409 and rest_reason(stale.json()) == "E13004"
    other = await rest.patch(path, json={**body, "name": "debugger"})
    assert other.status_code == 400 and rest_reason(other.json()) == "E13002"
