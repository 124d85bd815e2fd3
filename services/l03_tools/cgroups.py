"""A pids cgroup per execution: counts every process and thread the sandboxed code starts,
whatever user it runs as, and tells afterwards whether the limit refused a fork.

cgroup v1 (``/sys/fs/cgroup/pids``) or v2 (``/sys/fs/cgroup`` with the pids controller) as
root; where neither is writable the sandbox falls back to RLIMIT_NPROC (counted per user).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import structlog

log = structlog.get_logger("l03.cgroups")

PARENT_NAME = "agentic-l03"
# An execution's or waiting entry's cgroup is filled within milliseconds of its creation: an
# empty one older than this was left by an L03 process that died.
ABANDONED_AFTER_SECONDS = 300.0


def remove_abandoned(parent: Path) -> None:
    """Removes the empty cgroups under ``parent`` that dead L03 processes left (rmdir
    refuses a busy one)."""
    cutoff = time.time() - ABANDONED_AFTER_SECONDS
    removed = 0
    for child in parent.iterdir():
        with contextlib.suppress(OSError):
            if child.is_dir() and child.stat().st_mtime < cutoff:
                os.rmdir(child)
                removed += 1
    if removed:
        log.info("cgroups.abandoned_removed", count=removed, parent=str(parent))


def counter(path: Path, key: str) -> int:
    """A ``key value`` line's value in a cgroup file (``pids.events``,
    ``memory.oom_control``); 0 when absent or unreadable."""
    with contextlib.suppress(OSError, ValueError):
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    return 0


async def remove_cgroup(path: Path, before_each: Callable[[], None] | None = None) -> None:
    """Removes a cgroup once its processes are gone (retried: exits take a moment);
    ``before_each`` runs before every attempt (e.g. to kill what is left)."""
    for _ in range(100):
        if before_each is not None:
            before_each()
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            await asyncio.sleep(0.01)
    log.warning("cgroups.not_removed", path=str(path))


class PidsCgroups:
    """Creates, watches and removes one cgroup per execution under ``root/agentic-l03``."""

    def __init__(self, root: Path) -> None:
        self.parent = root / PARENT_NAME

    @classmethod
    def find(cls) -> PidsCgroups | None:
        """The writable pids hierarchy of this machine, or None."""
        for root in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
            if not os.access(root, os.W_OK):
                continue
            candidate = cls(root)
            try:
                candidate.parent.mkdir(exist_ok=True)
                if (candidate.parent / "pids.max").exists():
                    candidate.remove_abandoned()
                    return candidate
                # cgroup v2: the controller must be enabled for the children.
                (root / "cgroup.subtree_control").write_text("+pids")
                (candidate.parent / "cgroup.subtree_control").write_text("+pids")
                candidate.remove_abandoned()
                return candidate
            except OSError as exc:
                log.info("cgroups.unusable", root=str(root), reason=str(exc))
        return None

    def remove_abandoned(self) -> None:
        remove_abandoned(self.parent)

    def create(self, name: str, max_pids: int) -> Path:
        """A fresh cgroup allowing ``max_pids`` tasks."""
        path = self.parent / name
        path.mkdir()
        self.set_limit(path, max_pids)
        return path

    @staticmethod
    def set_limit(path: Path, max_pids: int) -> None:
        (path / "pids.max").write_text(str(max_pids))

    @staticmethod
    def limit_hit(path: Path) -> bool:
        """True when a fork was refused for the limit."""
        return counter(path / "pids.events", "max") > 0

    @staticmethod
    def kill_all(path: Path) -> None:
        with contextlib.suppress(OSError):
            for pid in (path / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)

    async def remove(self, path: Path) -> None:
        """Kills what is left and removes the cgroup."""
        await remove_cgroup(path, lambda: self.kill_all(path))
