"""Reading component log files: the last lines, and following new ones."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def tail_lines(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a file ("" if it does not exist)."""
    try:
        with path.open("rb") as handle:
            # Read backwards in blocks: logs can be large.
            position = handle.seek(0, os.SEEK_END)
            data = b""
            while position > 0 and data.count(b"\n") <= lines:
                step = min(64 * 1024, position)
                position -= step
                handle.seek(position)
                data = handle.read(step) + data
    except FileNotFoundError:
        return ""
    return "\n".join(deque(data.decode(errors="replace").splitlines(), maxlen=lines))


def _open(path: Path, at_end: bool) -> tuple[BinaryIO, int] | None:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    if at_end:
        handle.seek(0, os.SEEK_END)
    return handle, os.fstat(handle.fileno()).st_ino


def follow(path: Path, poll_seconds: float = 0.25) -> Iterator[str]:
    """Lines appended to ``path`` from now on. Survives rotation (supervisord renames the
    file and starts a new one, which is then read from its start) and a missing file."""
    opened = _open(path, at_end=True)
    try:
        while True:
            if opened is None:
                time.sleep(poll_seconds)
                opened = _open(path, at_end=False)
                continue
            handle, inode = opened
            line = handle.readline()
            if line:
                yield line.decode(errors="replace").rstrip("\n")
                continue
            try:
                rotated = path.stat().st_ino != inode
            except FileNotFoundError:
                rotated = True
            if rotated:
                handle.close()
                opened = _open(path, at_end=False)
            else:
                time.sleep(poll_seconds)
    finally:
        if opened is not None:
            opened[0].close()
