"""``agentic secrets put|get|list`` against the mesh, through the gateway."""

from __future__ import annotations

import pytest

from tests.conftest import RunningMesh
from tests.l00.support import secret_name
from tests.support import agentic

pytestmark = [pytest.mark.integration, pytest.mark.l00]


async def test_put_get_and_list(mesh: RunningMesh) -> None:
    name = secret_name("cli")
    first = await agentic(
        mesh, "secrets", "put", name, "--layer", "l04_models", stdin="from-stdin\n"
    )
    assert first.returncode == 0, first.stderr
    assert "version 1" in first.stdout
    second = await agentic(mesh, "secrets", "put", name, "second-value")
    assert "version 2" in second.stdout, second.stderr

    latest = await agentic(mesh, "secrets", "get", name)
    assert latest.stdout.strip() == "second-value"
    first_value = await agentic(mesh, "secrets", "get", name, "--version", "1")
    assert first_value.stdout.strip() == "from-stdin"

    listed = await agentic(mesh, "secrets", "list")
    assert name in listed.stdout and "l04_models" in listed.stdout
    assert "second-value" not in listed.stdout


async def test_errors_print_the_code_and_exit_1(mesh: RunningMesh) -> None:
    missing = await agentic(mesh, "secrets", "get", secret_name("cli"), "--token", "agk_nope_nope")
    assert missing.returncode == 1
    assert "E9401" in missing.stderr
    bad = await agentic(mesh, "secrets", "get", "bad name")
    assert bad.returncode == 1 and "E0002" in bad.stderr


async def test_rotate_key_appends_a_key_and_rewraps(mesh: RunningMesh) -> None:
    keyring = mesh.settings.home / "secrets" / "master.keys"
    before = keyring.read_text().strip().splitlines()
    put = await agentic(mesh, "secrets", "put", secret_name("cli"), "before-rotation")
    assert put.returncode == 0, put.stderr
    rotated = await agentic(mesh, "secrets", "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    after = keyring.read_text().strip().splitlines()
    assert after[:-1] == before and len(after) == len(before) + 1
    new_id = after[-1].split(":")[0]
    assert f"current master key {new_id}" in rotated.stdout
