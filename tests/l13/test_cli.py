"""``agentic roles classify`` and ``agentic skills search`` against the real mesh's gateway."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from services.launcher.cli import app
from tests.conftest import RunningMesh

pytestmark = [pytest.mark.integration, pytest.mark.l13, pytest.mark.l14, pytest.mark.launcher]


def _run(mesh: RunningMesh, *args: str, token: str | None = None) -> tuple[int, str]:
    env = {"AGENTIC_GATEWAY_PORT": str(mesh.settings.gateway_port)}
    if token is not None:
        env["AGENTIC_TOKEN"] = token
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_roles_classify_prints_the_roles_and_the_oversight_verdict(mesh: RunningMesh) -> None:
    code, output = _run(mesh, "roles", "classify", "rotate the database passwords in production")
    assert code == 0, output
    assert "security-analyst" in output or "devops-engineer" in output
    assert "needs oversight:" in output and "touches credentials or secrets" in output


def test_skills_search_prints_the_nearest_skills(mesh: RunningMesh) -> None:
    code, output = _run(mesh, "skills", "search", "write a Dockerfile for the api", "--limit", "3")
    assert code == 0, output
    assert "docker" in output


def test_a_refused_credential_is_an_error_not_a_table(mesh: RunningMesh) -> None:
    code, output = _run(mesh, "roles", "classify", "fix the bug", token="agk_nope_nope")
    assert code == 1 and "error 401" in output
