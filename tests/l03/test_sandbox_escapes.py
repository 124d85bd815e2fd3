"""Hostile code in python_exec: each snippet reports the limit that stopped it or fails to
escape, and the mesh answers afterwards. Through Envoy, as an agent's call would come."""

from __future__ import annotations

import pytest

from agentic.tools.v1 import tools_pb2_grpc
from tests.conftest import RunningMesh
from tests.l03.support import run_python

pytestmark = [pytest.mark.l03, pytest.mark.integration, pytest.mark.slow]

FORK_BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
MEMORY_HOG = "chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 1024 * 1024))"
# Eight processes of 100 MiB each: every one within its address space, the tree over 512 MiB.
MEMORY_HOG_TREE = """
import os, time
for _ in range(8):
    if os.fork() == 0:
        hog = b"x" * (100 * 2**20)
        time.sleep(8)
        os._exit(0)
time.sleep(9)
"""
HUNDRED_MB = "import sys\nfor _ in range(1600):\n    sys.stdout.write('x' * 65536)"
INFINITE_LOOP = "while True:\n    pass"


@pytest.mark.parametrize(
    ("code", "limit"),
    [
        (FORK_BOMB, "processes"),
        (MEMORY_HOG, "memory"),
        (MEMORY_HOG_TREE, "memory"),
        (HUNDRED_MB, "output"),
        (INFINITE_LOOP, "time"),
    ],
    ids=["fork-bomb", "memory-hog", "memory-hog-tree", "100MB-of-output", "infinite-loop"],
)
async def test_a_limit_stops_the_snippet_and_is_named(
    tools: tools_pb2_grpc.ToolServiceStub, code: str, limit: str
) -> None:
    result = await run_python(tools, code)
    assert result.limit == limit, (result.exit_code, result.stderr[-500:])
    assert result.exit_code != 0


async def test_output_is_cut_at_the_profile_limit(tools: tools_pb2_grpc.ToolServiceStub) -> None:
    result = await run_python(tools, HUNDRED_MB)
    assert result.limit == "output"
    assert 0 < len(result.stdout) <= 1024 * 1024


async def test_the_sandbox_sees_no_environment_or_secrets(
    tools: tools_pb2_grpc.ToolServiceStub,
) -> None:
    code = (
        "import os\n"
        "print(repr(open('/proc/1/environ').read()))\n"
        "print(sorted(os.environ))\n"
        "print(os.getuid())"
    )
    result = await run_python(tools, code)
    assert result.exit_code == 0, result.stderr
    environ, names, uid = result.stdout.splitlines()
    assert environ == "''"  # the namespace's init was started with an empty environment
    assert "AGENTIC_SERVICE_TOKEN" not in names and "REDIS_URL" not in names
    assert uid == "65534"


async def test_the_host_home_and_state_are_not_visible(
    tools: tools_pb2_grpc.ToolServiceStub, mesh: RunningMesh
) -> None:
    home = mesh.settings.home
    paths = [str(home), str(home / "service_token"), "/root", "/work", "/home", "/run", "/var"]
    code = f"import os\nprint([p for p in {paths!r} if os.path.exists(p)])\nprint(os.listdir('/'))"
    result = await run_python(tools, code)
    assert result.exit_code == 0, result.stderr
    visible, root = result.stdout.splitlines()
    assert visible == "[]"
    assert sorted(eval(root)) == [
        "bin",
        "dev",
        "etc",
        "lib",
        "lib64",
        "proc",
        "sbin",
        "tmp",
        "usr",
        "workspace",
    ]


@pytest.mark.parametrize("target", ["gateway", "postgres", "redis", "l01"])
async def test_loopback_services_are_unreachable(
    tools: tools_pb2_grpc.ToolServiceStub, mesh: RunningMesh, target: str
) -> None:
    port = {
        "gateway": mesh.settings.gateway_port,
        "postgres": mesh.settings.postgres_port,
        "redis": mesh.settings.redis_port,
        "l01": mesh.settings.layer_port("l01"),
    }[target]
    code = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
        "    print('connected')\n"
        "except OSError as e:\n"
        "    print('refused', e)\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 80), timeout=3)\n"
        "    print('connected')\n"
        "except OSError as e:\n"
        "    print('refused', e)\n"
    )
    result = await run_python(tools, code)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("refused") for line in lines), lines


@pytest.mark.parametrize("path", ["/etc/escaped", "/usr/escaped", "/escaped", "/proc/escaped"])
async def test_writing_outside_the_workspace_fails(
    tools: tools_pb2_grpc.ToolServiceStub, path: str
) -> None:
    result = await run_python(tools, f"open({path!r}, 'w').write('x')")
    assert result.exit_code == 1
    assert "Error" in result.stderr
    assert not __import__("os").path.exists(path)


async def test_the_host_stays_healthy_after_the_hostile_snippets(
    tools: tools_pb2_grpc.ToolServiceStub, rest
) -> None:
    for code in (FORK_BOMB, MEMORY_HOG):
        await run_python(tools, code)
    health = await rest.get("/health")
    assert health.status_code == 200
    assert health.json()["layers"]["l03_tools"]["status"] == "SERVING"
    result = await run_python(tools, "print(sum(range(10)))")
    assert (result.exit_code, result.stdout, result.limit) == (0, "45\n", "")
