"""L13 and L14 figures, through Envoy, on a mesh of their own.

- Held-out accuracy (the halves marked ``heldout``; weights were chosen on the development
  rows by ``bench.role_weights`` / ``bench.skill_weights``), figures only: a held-out task
  whose miss was read would be a development one. ClassifyTask top-1 and top-3 on
  ``tests/data/role_tasks.jsonl``, its oversight flag's precision and recall there, and
  SearchSkills recall@1 and @3 on ``tests/data/skill_queries.jsonl``.
- Latency at 1 client through Envoy (gRPC): ClassifyTask and SearchSkills p50/p99, with the
  L04 ``Embed`` call each one makes, taken in turn with them, for comparison.

L04 limits each caller to 600 requests a minute by default and these figures make more:
the limit is lifted for this mesh (``L04_AGENT_REQUESTS_PER_MINUTE=0``).

``python -m bench.roles`` (``--latency``: the latency figures alone, leaving the held-out
halves unread).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc

from agentic.models.v1 import models_pb2 as model_pb
from agentic.models.v1 import models_pb2_grpc as model_grpc
from agentic.roles.v1 import roles_pb2 as roles_pb
from agentic.roles.v1 import roles_pb2_grpc as roles_grpc
from agentic.skills.v1 import skills_pb2 as skills_pb
from agentic.skills.v1 import skills_pb2_grpc as skills_grpc
from bench.blend import labelled
from bench.own_mesh import run_on_own_mesh
from bench.settle import settle_cpu
from bench.stats import Latency, measure_latency
from services.kit import open_channel
from services.launcher.config import LauncherSettings
from tests.support import DEV_TOKEN

TASKS = Path("tests/data/role_tasks.jsonl")
QUERIES = Path("tests/data/skill_queries.jsonl")
CALLS = 1000
TARGETS = {"top-1": 0.85, "top-3": 0.97, "recall@3": 0.90}
P99_TARGET_MS = 20.0


def _verdict(name: str, hits: int, count: int) -> str:
    met = "met" if hits / count >= TARGETS[name] else "MISSED"
    return f"{name} {hits / count:.2%} ({hits}/{count}; target {TARGETS[name]:.0%}: {met})"


async def role_accuracy(roles: roles_grpc.RoleServiceStub) -> None:
    rows = labelled(TASKS, "heldout")
    top1 = top3 = 0
    flagged = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for row in rows:
        reply = await roles.ClassifyTask(
            roles_pb.ClassifyTaskRequest(text=str(row["text"]), limit=3)
        )
        names = [m.name for m in reply.matches]
        top1 += names[0] == row["role"]
        top3 += row["role"] in names
        key = ("t" if reply.needs_oversight == row["needs_oversight"] else "f") + (
            "p" if reply.needs_oversight else "n"
        )
        flagged[key] += 1
    count = len(rows)
    print(f"\nClassifyTask on the held-out half ({count} tasks):")
    print(f"  {_verdict('top-1', top1, count)}, {_verdict('top-3', top3, count)}")
    precision = flagged["tp"] / max(flagged["tp"] + flagged["fp"], 1)
    recall = flagged["tp"] / max(flagged["tp"] + flagged["fn"], 1)
    correct = (flagged["tp"] + flagged["tn"]) / count
    print(
        f"  needs_oversight: accuracy {correct:.1%}, precision {precision:.1%},"
        f" recall {recall:.1%} ({flagged['tp'] + flagged['fn']} flagged in the labels)"
    )


async def skill_recall(skills: skills_grpc.SkillServiceStub) -> None:
    rows = labelled(QUERIES, "heldout")
    at1 = at3 = 0
    for row in rows:
        reply = await skills.SearchSkills(
            skills_pb.SearchSkillsRequest(query=str(row["query"]), limit=3)
        )
        names = [m.name for m in reply.matches]
        at1 += names[:1] == [row["skill"]]
        at3 += row["skill"] in names
    count = len(rows)
    print(f"\nSearchSkills on the held-out half ({count} queries):")
    print(f"  recall@1 {at1 / count:.1%}, {_verdict('recall@3', at3, count)}")


async def latencies(channel: grpc.aio.Channel) -> None:
    roles = roles_grpc.RoleServiceStub(channel)
    skills = skills_grpc.SkillServiceStub(channel)
    models = model_grpc.ModelServiceStub(channel)
    task = "the login page is slow and throws 500s sometimes"
    query = "containerize the api with a small image"
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "ClassifyTask": lambda: roles.ClassifyTask(roles_pb.ClassifyTaskRequest(text=task)),
        "SearchSkills": lambda: skills.SearchSkills(skills_pb.SearchSkillsRequest(query=query)),
        "Embed (one text)": lambda: models.Embed(model_pb.EmbedRequest(texts=[task])),
    }
    await settle_cpu()
    print(f"\nLatency through Envoy (gRPC), 1 client, {CALLS} calls each:")
    results: dict[str, Latency] = {}
    for name, call in calls.items():
        results[name] = await measure_latency(call, CALLS, warmup=100)
        print(f"  {name:18s} {results[name]}")
    for name in ("ClassifyTask", "SearchSkills"):
        p99 = results[name].p99_ms
        verdict = "met" if p99 <= P99_TARGET_MS else "MISSED"
        print(f"  {name}: p99 {p99:.2f} ms, target <= {P99_TARGET_MS:g} ms: {verdict}")


async def report(settings: LauncherSettings) -> None:
    async with open_channel(f"127.0.0.1:{settings.gateway_port}", token=DEV_TOKEN) as channel:
        await role_accuracy(roles_grpc.RoleServiceStub(channel))
        await skill_recall(skills_grpc.SkillServiceStub(channel))
        await latencies(channel)


async def latency_report(settings: LauncherSettings) -> None:
    async with open_channel(f"127.0.0.1:{settings.gateway_port}", token=DEV_TOKEN) as channel:
        await latencies(channel)


def main() -> int:
    os.environ["L04_AGENT_REQUESTS_PER_MINUTE"] = "0"  # the mesh's processes inherit it
    return run_on_own_mesh(latency_report if "--latency" in sys.argv[1:] else report)


if __name__ == "__main__":
    sys.exit(main())
