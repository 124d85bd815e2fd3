"""L14 through Envoy on a real mesh: shipped skills, versions, validation, search, skill sets,
loading plans and bad input."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from agentic.skills.v1 import skills_pb2 as pb
from agentic.skills.v1 import skills_pb2_grpc as pb_grpc
from tests.support import error_metadata, platform_code, register_python_tool, rest_reason, struct

pytestmark = [pytest.mark.integration, pytest.mark.l14]

HELD_OUT = [
    row
    for row in map(json.loads, Path("tests/data/skill_queries.jsonl").read_text().splitlines())
    if row["split"] == "heldout"
]


@pytest.fixture
def skills(gateway_channel: grpc.aio.Channel) -> pb_grpc.SkillServiceStub:
    return pb_grpc.SkillServiceStub(gateway_channel)


def new_skill(**changes: Any) -> pb.Skill:
    fields: dict[str, Any] = {
        "name": f"test_{uuid.uuid4().hex[:10]}",
        "version": "1.0.0",
        "category": "practice",
        "description": "Brews a pot of tea for the on-call engineer.",
        "instructions": "1. Boil water.\n2. Steep for four minutes.\n3. Serve.",
        "required_tools": ["shell"],
        "roles": ["debugger"],
        "parameters": struct({"type": "object", "properties": {"cups": {"type": "integer"}}}),
        "examples": [pb.SkillExample(input="tea for two", output="two cups")],
    }
    fields.update(changes)
    return pb.Skill(**fields)


async def _refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def test_skills_are_listed_by_category_a_page_at_a_time(rest: httpx.AsyncClient) -> None:
    seen: list[str] = []
    token = ""
    while True:
        params = {"page_size": 7, "status": "SKILL_STATUS_ACTIVE", "page_token": token}
        page = (await rest.get("/v1/skills", params=params)).json()
        seen += [s["name"] for s in page["skills"]]
        token = page.get("next_page_token", "")
        if not token:
            break
    assert len(seen) == len(set(seen)) >= 47 and {"docker", "python", "grpc"} <= set(seen)
    data = (await rest.get("/v1/skills", params={"category": "data", "page_size": 100})).json()
    assert data["skills"] and {s["category"] for s in data["skills"]} == {"data"}


async def test_a_skill_is_read_by_name_over_rest(rest: httpx.AsyncClient) -> None:
    docker = (await rest.get("/v1/skills/docker")).json()["skill"]
    assert docker["version"] and docker["instructions"] and docker["required_tools"]
    assert docker["parameters"]["type"] == "object"


async def test_search_over_rest_finds_skills_by_meaning(rest: httpx.AsyncClient) -> None:
    response = await rest.post(
        "/v1/skills:search", json={"query": "package the app into a container image", "limit": 5}
    )
    assert response.status_code == 200
    matches = response.json()["matches"]
    scores = [m["score"] for m in matches]
    assert len(matches) == 5 and scores == sorted(scores, reverse=True)
    assert matches[0]["name"] == "docker"


async def test_paraphrased_held_out_queries_find_their_skill(
    skills: pb_grpc.SkillServiceStub,
) -> None:
    """The weights never saw these; bench.roles reports the exact recall."""
    found = 0
    for row in HELD_OUT:
        reply = await skills.SearchSkills(pb.SearchSkillsRequest(query=row["query"], limit=3))
        found += row["skill"] in [m.name for m in reply.matches]
    assert found / len(HELD_OUT) >= 0.85


async def test_search_filters_by_category(skills: pb_grpc.SkillServiceStub) -> None:
    reply = await skills.SearchSkills(
        pb.SearchSkillsRequest(query="slow query on a big table", category="data", limit=10)
    )
    assert reply.matches and {m.category for m in reply.matches} == {"data"}


async def test_versions_are_added_kept_and_read(skills: pb_grpc.SkillServiceStub) -> None:
    first = (await skills.CreateSkill(pb.CreateSkillRequest(skill=new_skill()))).skill
    second = new_skill(name=first.name, version="1.1.0", description="Brews green tea.")
    await skills.UpdateSkill(pb.UpdateSkillRequest(skill=second, expected_version="1.0.0"))
    newest = (await skills.GetSkill(pb.GetSkillRequest(name=first.name))).skill
    assert newest.version == "1.1.0" and newest.description == "Brews green tea."
    old = (await skills.GetSkill(pb.GetSkillRequest(name=first.name, version="1.0.0"))).skill
    assert old.description == first.description
    versions = await skills.ListSkillVersions(pb.ListSkillVersionsRequest(name=first.name))
    assert [v.version for v in versions.versions] == ["1.1.0", "1.0.0"]
    stale = await _refused(
        skills.UpdateSkill(
            pb.UpdateSkillRequest(
                skill=new_skill(name=first.name, version="2.0.0"), expected_version="1.0.0"
            )
        )
    )
    assert stale.code() == grpc.StatusCode.ABORTED and platform_code(stale) == "E14004"
    lower = await _refused(
        skills.UpdateSkill(pb.UpdateSkillRequest(skill=new_skill(name=first.name, version="1.0.5")))
    )
    assert platform_code(lower) == "E14005" and error_metadata(lower)["field"] == "skill.version"


async def test_a_new_version_is_searched_by_its_new_meaning(
    skills: pb_grpc.SkillServiceStub,
) -> None:
    word = f"zorb{uuid.uuid4().hex[:6]}"
    skill = new_skill(name=f"test_{word}", category="observability")
    await skills.CreateSkill(pb.CreateSkillRequest(skill=skill))
    query = "measure the radiation of the reactor core with a geiger counter"
    request = pb.SearchSkillsRequest(query=query, category="observability", limit=20)
    before = [m.name for m in (await skills.SearchSkills(request)).matches]
    changed = new_skill(
        name=skill.name, version="2.0.0", category="observability",
        description="Measure the radiation of a reactor core with a geiger counter.",
        instructions="1. Switch on the geiger counter.\n2. Read the radiation level at the core.",
    )  # fmt: skip
    await skills.UpdateSkill(pb.UpdateSkillRequest(skill=changed))
    after = [m.name for m in (await skills.SearchSkills(request)).matches]
    assert after[0] == skill.name and before.index(skill.name) > 0


async def test_duplicates_and_unknown_skills_are_refused(skills: pb_grpc.SkillServiceStub) -> None:
    again = await _refused(
        skills.CreateSkill(pb.CreateSkillRequest(skill=new_skill(name="docker")))
    )
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS and platform_code(again) == "E14003"
    missing = await _refused(skills.GetSkill(pb.GetSkillRequest(name="alchemy")))
    assert missing.code() == grpc.StatusCode.NOT_FOUND and platform_code(missing) == "E14002"
    version = await _refused(skills.GetSkill(pb.GetSkillRequest(name="docker", version="9.9.9")))
    assert platform_code(version) == "E14002"


async def test_validation_lists_every_reason_tools_and_roles_included(
    skills: pb_grpc.SkillServiceStub,
) -> None:
    skill = new_skill(required_tools=["shell", "teleport"], roles=["debugger", "wizard"])
    reply = await skills.ValidateSkill(pb.ValidateSkillRequest(skill=skill))
    assert not reply.valid
    assert [(v.field, v.description) for v in reply.violations] == [
        ("required_tools[1]", "unknown tool 'teleport'")
    ]
    roles_only = new_skill(roles=["debugger", "wizard"])
    reply = await skills.ValidateSkill(pb.ValidateSkillRequest(skill=roles_only))
    assert [(v.field, v.description) for v in reply.violations] == [
        ("roles[1]", "no role 'wizard' in L13")
    ]
    good = await skills.ValidateSkill(pb.ValidateSkillRequest(skill=new_skill()))
    assert good.valid and not good.violations


async def test_a_tool_registered_in_l03_can_be_required_by_a_skill(
    skills: pb_grpc.SkillServiceStub, gateway_channel: grpc.aio.Channel
) -> None:
    tool = f"weather_{uuid.uuid4().hex[:8]}"
    skill = new_skill(required_tools=["shell", tool])
    before = await skills.ValidateSkill(pb.ValidateSkillRequest(skill=skill))
    assert [(v.field, v.description) for v in before.violations] == [
        ("required_tools[1]", f"unknown tool {tool!r}")
    ]
    await register_python_tool(gateway_channel, tool, "Today's weather for a city")
    after = await skills.ValidateSkill(pb.ValidateSkillRequest(skill=skill))
    assert after.valid and not after.violations
    created = await skills.CreateSkill(pb.CreateSkillRequest(skill=skill))
    assert list(created.skill.required_tools) == ["shell", tool]


async def test_an_invalid_skill_is_400_with_e14001_naming_every_field(
    rest: httpx.AsyncClient,
) -> None:
    response = await rest.post(
        "/v1/skills",
        json={"name": "Bad Name", "version": "one", "category": "cooking",
              "description": "d", "instructions": "i", "required_tools": ["teleport"]},
    )  # fmt: skip
    assert response.status_code == 400
    body = response.json()
    assert rest_reason(body) == "E14001"
    violations = next(d for d in body["details"] if d["@type"].endswith("BadRequest"))
    fields = [v["field"] for v in violations["field_violations"]]
    assert fields == ["name", "version", "category", "required_tools[0]"]


async def test_skill_sets_for_roles_and_agents(skills: pb_grpc.SkillServiceStub) -> None:
    agent = f"agent-{uuid.uuid4().hex[:8]}"
    given = await skills.AssignSkills(
        pb.AssignSkillsRequest(owner_kind="agents", owner_id=agent, skills=["docker", "git"])
    )
    assert given.skill_set.revision == 1
    read = await skills.GetSkillSet(pb.GetSkillSetRequest(owner_kind="agents", owner_id=agent))
    assert list(read.skill_set.skills) == ["docker", "git"]
    role = await skills.AssignSkills(
        pb.AssignSkillsRequest(owner_kind="roles", owner_id="devops-engineer", skills=["docker"])
    )
    assert list(role.skill_set.skills) == ["docker"]
    unknown_role = await _refused(
        skills.AssignSkills(
            pb.AssignSkillsRequest(owner_kind="roles", owner_id="astronaut", skills=["docker"])
        )
    )
    assert platform_code(unknown_role) == "E14001"
    unknown_skill = await _refused(
        skills.AssignSkills(
            pb.AssignSkillsRequest(owner_kind="agents", owner_id=agent, skills=["docker", "magic"])
        )
    )
    assert error_metadata(unknown_skill)["field"] == "skills[1]"
    none = await _refused(
        skills.GetSkillSet(pb.GetSkillSetRequest(owner_kind="agents", owner_id="x-none"))
    )
    assert none.code() == grpc.StatusCode.NOT_FOUND


async def test_a_loading_plan_respects_the_budget(skills: pb_grpc.SkillServiceStub) -> None:
    names = ["docker", "kubernetes", "terraform", "ci_cd", "git"]
    everything = await skills.PlanLoading(
        pb.PlanLoadingRequest(skills=names, token_budget=1_000_000)
    )
    assert [s.name for s in everything.load] == names and not everything.dropped
    cost = {s.name: s.tokens for s in everything.load}
    budget = cost["docker"] + cost["kubernetes"] + 1
    plan = await skills.PlanLoading(
        pb.PlanLoadingRequest(
            skills=names, token_budget=budget, task="write a dockerfile and deploy it to k8s"
        )
    )
    assert plan.total_tokens <= budget
    assert {s.name for s in plan.load} | {s.name for s in plan.dropped} == set(names)
    assert plan.load[0].name in ("docker", "kubernetes") and plan.dropped
    relevance = [s.relevance for s in plan.load]
    assert relevance == sorted(relevance, reverse=True)
    # A loaded skill comes with the text to give the agent; a dropped one without.
    docker = await skills.GetSkill(pb.GetSkillRequest(name="docker"))
    (text,) = [s.text for s in everything.load if s.name == "docker"]
    assert text.startswith("## Skill: docker (") and docker.skill.instructions.strip() in text
    assert all(s.text for s in plan.load) and not any(s.text for s in plan.dropped)


@pytest.mark.parametrize(
    ("request_", "code", "field"),
    [
        (pb.SearchSkillsRequest(query=""), "E14001", "query"),
        (pb.SearchSkillsRequest(query="x" * 1_000_000), "E14006", "query"),
        (pb.SearchSkillsRequest(query="docker", limit=500), "E14001", "limit"),
        (pb.SearchSkillsRequest(query="docker", status=42), "E14001", "status"),
    ],
)
async def test_bad_search_input_names_the_field(
    skills: pb_grpc.SkillServiceStub, request_: pb.SearchSkillsRequest, code: str, field: str
) -> None:
    error = await _refused(skills.SearchSkills(request_))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(error) == code and error_metadata(error)["field"] == field


async def test_bad_plans_are_refused(skills: pb_grpc.SkillServiceStub) -> None:
    empty = await _refused(skills.PlanLoading(pb.PlanLoadingRequest(token_budget=100)))
    assert error_metadata(empty)["field"] == "skills"
    zero = await _refused(skills.PlanLoading(pb.PlanLoadingRequest(skills=["git"])))
    assert error_metadata(zero)["field"] == "token_budget"
    twice = await _refused(
        skills.PlanLoading(pb.PlanLoadingRequest(skills=["git", "git"], token_budget=100))
    )
    assert error_metadata(twice)["field"] == "skills"
