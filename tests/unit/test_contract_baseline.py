"""`scripts/breaking.sh` holds proto/ to the released contracts (contracts/released.binpb), so
a break fails however many commits it is spread over, and additions pass.

Each test runs the real script and buf on a copy of the workspace with one edit."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.unit]

ROOT = Path(__file__).resolve().parents[2]
EVENT_STORE = Path("proto/agentic/data/v1/event_store.proto")


def _workspace(tmp_path: Path) -> Path:
    copy = tmp_path / "workspace"
    copy.mkdir()
    for name in ("proto", "third_party"):
        shutil.copytree(ROOT / name, copy / name)
    shutil.copy(ROOT / "buf.yaml", copy / "buf.yaml")
    return copy


def _breaking(workspace: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "breaking.sh"), str(workspace)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _edit(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text()
    edited, count = re.subn(pattern, replacement, text, count=1, flags=re.M)
    assert count == 1, f"{pattern!r} not in {path}"
    path.write_text(edited)


def test_the_contracts_as_committed_keep_the_released_ones(tmp_path: Path) -> None:
    result = _breaking(_workspace(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_removing_a_released_field_fails(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    # NewEvent.metadata, with its comment.
    _edit(
        workspace / EVENT_STORE,
        r"^  // Optional metadata, a JSON object\.\n  google\.protobuf\.Struct metadata = 4;\n",
        "",
    )
    result = _breaking(workspace)
    assert result.returncode != 0
    assert 'field "4" with name "metadata" on message "NewEvent" was deleted' in result.stdout


def test_a_break_spread_over_two_commits_fails(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    git = ["git", "-C", str(workspace), "-c", "user.name=t", "-c", "user.email=t@t"]

    def commit(message: str) -> None:
        subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
        subprocess.run([*git, "commit", "-qm", message], check=True, capture_output=True)

    subprocess.run([*git, "init", "-q"], check=True, capture_output=True)
    commit("as released")
    _edit(workspace / EVENT_STORE, r"google\.protobuf\.Struct metadata = 4;", "reserved 4;")
    commit("drop NewEvent.metadata")
    _edit(workspace / EVENT_STORE, r"^  string id = 1;", "  string id = 1; // Retry key.")
    commit("a harmless edit on top")

    against_previous = subprocess.run(
        [str(ROOT / "node_modules/.bin/buf"), "breaking", "--against", ".git#ref=HEAD~1"],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=False,
    )
    assert against_previous.returncode == 0, "the previous commit alone lets the break through"
    result = _breaking(workspace)
    assert result.returncode != 0
    assert 'with name "metadata" on message "NewEvent" was deleted' in result.stdout


def test_new_fields_files_and_packages_are_not_breaking(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    _edit(
        workspace / EVENT_STORE,
        r"google\.protobuf\.Struct metadata = 4;",
        "google.protobuf.Struct metadata = 4;\n  // New in this change.\n  string note = 99;",
    )
    package = workspace / "proto" / "agentic" / "unreleased" / "v1"  # a package never released
    package.mkdir(parents=True)
    (package / "things.proto").write_text(
        'syntax = "proto3";\n\npackage agentic.unreleased.v1;\n\n'
        "// A thing.\nmessage Thing {\n  // Its name.\n  string name = 1;\n}\n"
    )
    result = _breaking(workspace)
    assert result.returncode == 0, result.stdout + result.stderr
