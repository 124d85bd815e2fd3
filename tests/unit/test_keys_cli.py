"""``agentic keys create --tenant``: the tenant is stored with the key, and must be a name a
header can carry."""

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from services.kit.auth import ApiKeyFile
from services.launcher.config import LauncherSettings
from services.launcher.keys import app

pytestmark = [pytest.mark.unit, pytest.mark.launcher]


def _create(home: Path, *options: str) -> Result:
    base = ["create", "--principal", "alice", "--role", "model_user", "--home", str(home)]
    return CliRunner().invoke(app, [*base, *options])


def test_a_key_acts_in_the_tenant_it_was_created_for(tmp_path: Path) -> None:
    assert _create(tmp_path, "--tenant", "acme").exit_code == 0
    assert _create(tmp_path).exit_code == 0
    records = ApiKeyFile(LauncherSettings(home=tmp_path).gateway_keys_file).load().values()
    assert sorted(r.caller_tenant for r in records) == ["acme", "alice"]


@pytest.mark.parametrize("tenant", ["a b", "x#y", ""])
def test_a_tenant_a_header_cannot_carry_is_refused(tmp_path: Path, tenant: str) -> None:
    result = _create(tmp_path, "--tenant", tenant)
    assert result.exit_code == 2
    assert not LauncherSettings(home=tmp_path).gateway_keys_file.exists()
