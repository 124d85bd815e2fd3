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
from pathlib import Path

import structlog

log = structlog.get_logger("l03.cgroups")

PARENT_NAME = "agentic-l03"


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
                    return candidate
                # cgroup v2: the controller must be enabled for the children.
                (root / "cgroup.subtree_control").write_text("+pids")
                (candidate.parent / "cgroup.subtree_control").write_text("+pids")
                return candidate
            except OSError as exc:
                log.info("cgroups.unusable", root=str(root), reason=str(exc))
        return None

    def create(self, name: str, max_pids: int) -> Path:
        """A fresh cgroup allowing ``max_pids`` tasks."""
        path = self.parent / name
        path.mkdir()
        (path / "pids.max").write_text(str(max_pids))
        return path

    @staticmethod
    def limit_hit(path: Path) -> bool:
        """True when a fork was refused for the limit."""
        with contextlib.suppress(OSError):
            for line in (path / "pids.events").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "max":
                    return int(value) > 0
        return False

    @staticmethod
    def kill_all(path: Path) -> None:
        with contextlib.suppress(OSError):
            for pid in (path / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)

    async def remove(self, path: Path) -> None:
        """Kills what is left and removes the cgroup (retried: exits take a moment)."""
        for _ in range(100):
            self.kill_all(path)
            try:
                os.rmdir(path)
                return
            except OSError:
                await asyncio.sleep(0.01)
        log.warning("cgroups.not_removed", path=str(path))
