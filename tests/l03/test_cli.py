"""``agentic tools list|run`` against the session mesh's gateway."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from services.launcher.cli import app
from tests.conftest import RunningMesh

pytestmark = [pytest.mark.l03, pytest.mark.integration]


def _invoke(mesh: RunningMesh, *args: str):  # type: ignore[no-untyped-def]
    env = {"AGENTIC_GATEWAY_PORT": str(mesh.settings.gateway_port)}
    return CliRunner().invoke(app, ["tools", *args], env=env)


def test_tools_run_prints_the_output_and_exits_with_its_code(mesh: RunningMesh) -> None:
    ran = _invoke(mesh, "run", "python_exec", "--code", "print(2+2)")
    assert (ran.exit_code, ran.stdout) == (0, "4\n")
    failed = _invoke(mesh, "run", "python_exec", "--code", "raise SystemExit(7)")
    assert failed.exit_code == 7


def test_tools_run_refuses_bad_arguments(mesh: RunningMesh) -> None:
    ran = _invoke(mesh, "run", "python_exec", "--json", '{"cod": 1}')
    assert ran.exit_code == 2
    assert "INVALID_ARGUMENT" in ran.stderr and "$.code" in ran.stderr
    ran = _invoke(mesh, "run", "python_exec", "--json", "[1]")
    assert ran.exit_code == 2


def test_tools_list_names_the_builtins(mesh: RunningMesh) -> None:
    listed = _invoke(mesh, "list")
    assert listed.exit_code == 0
    for name in ("python_exec", "shell", "read_file", "write_file", "list_files", "http_fetch"):
        assert name in listed.stdout
