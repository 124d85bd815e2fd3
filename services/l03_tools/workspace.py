"""Workspaces: one directory per caller and workspace id, mounted at /workspace in the
sandbox, and the file tools that read and write inside one without leaving it."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from services.kit import PlatformError
from services.l03_tools import errors

WORKSPACE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
MAX_LISTED = 1000


class ToolFailure(Exception):
    """The tool ran and failed (exit code 1, the message on stderr)."""


class Workspaces:
    """``root/<hash of the caller>/<workspace id>``: a caller never reaches another's."""

    def __init__(self, root: Path, prepare: Callable[[Path], None]) -> None:
        self.root = root
        self._prepare = prepare  # creates a directory the sandbox's user may write

    @contextlib.contextmanager
    def open(self, principal: str, workspace: str) -> Iterator[Path]:
        """The caller's workspace; with no id, a fresh directory removed afterwards."""
        if workspace:
            if not WORKSPACE_ID.match(workspace):
                raise PlatformError(
                    errors.INVALID_ARGUMENT,
                    "workspace must be 1-64 letters, digits, '_', '-' or '.', not starting "
                    "with '.' or '-'",
                    field="workspace",
                )
            owner = hashlib.sha256(principal.encode()).hexdigest()[:32]
            path = self.root / owner / workspace
            self._prepare(self.root)
            self._prepare(path.parent)
            self._prepare(path)
            yield path
            return
        path = self.root / "scratch" / uuid.uuid4().hex
        self._prepare(self.root)
        self._prepare(path.parent)
        self._prepare(path)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


def resolve_inside(workspace: Path, relative: str) -> Path:
    """``relative`` inside ``workspace``, symlinks resolved; refused if it leads outside."""
    if "\x00" in relative or relative.startswith("/"):
        raise _outside(relative)
    base = workspace.resolve()
    target = (base / relative).resolve()
    if target != base and not target.is_relative_to(base):
        raise _outside(relative)
    return target


def _outside(relative: str) -> PlatformError:
    return PlatformError(
        errors.OUTSIDE_WORKSPACE,
        f"path {relative!r} leads outside the workspace: give a path relative to it",
        field="arguments.path",
    )


def read_file(workspace: Path, relative: str, max_bytes: int) -> dict[str, Any]:
    path = resolve_inside(workspace, relative)
    try:
        with open(path, "rb") as file:
            data = file.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise ToolFailure(f"no such file: {relative}") from exc
    except IsADirectoryError as exc:
        raise ToolFailure(f"{relative} is a directory") from exc
    truncated = len(data) > max_bytes
    data = data[:max_bytes]
    return {
        "path": relative,
        "content": data.decode("utf-8", errors="replace"),
        "size": path.stat().st_size,
        "truncated": truncated,
    }


def write_file(
    workspace: Path, relative: str, content: str, append: bool, owner: tuple[int, int] | None
) -> dict[str, Any]:
    path = resolve_inside(workspace, relative)
    if path == workspace.resolve():
        raise ToolFailure("path names the workspace itself, not a file")
    for parent in reversed(path.relative_to(workspace.resolve()).parents):
        directory = workspace.resolve() / parent
        if not directory.exists():
            directory.mkdir()
            if owner is not None:
                os.chown(directory, *owner)
    data = content.encode()
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if append else os.O_TRUNC)
    try:
        descriptor = os.open(path, flags, 0o644)
    except IsADirectoryError as exc:
        raise ToolFailure(f"{relative} is a directory") from exc
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    if owner is not None:
        os.chown(path, *owner)
    return {"path": relative, "bytes_written": len(data)}


def list_files(workspace: Path, relative: str) -> dict[str, Any]:
    start = resolve_inside(workspace, relative or ".")
    if not start.is_dir():
        raise ToolFailure(f"no such directory: {relative}")
    base = workspace.resolve()
    entries: list[dict[str, Any]] = []
    for directory, subdirectories, files in os.walk(start):
        subdirectories.sort()
        for name in sorted([*subdirectories, *files]):
            path = Path(directory) / name
            is_dir = name in subdirectories
            entries.append(
                {
                    "path": str(path.relative_to(base)),
                    "type": "directory" if is_dir else "file",
                    "size": 0 if is_dir else path.lstat().st_size,
                }
            )
            if len(entries) >= MAX_LISTED:
                return {"entries": entries, "truncated": True}
    return {"entries": entries, "truncated": False}
