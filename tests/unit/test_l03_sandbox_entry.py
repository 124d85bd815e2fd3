"""sandbox_entry.sh on its own: the shell L03 starts before bwrap, run for real with /bin/sh."""

from __future__ import annotations

import os
import resource
import shlex
import subprocess
import time
import uuid

import pytest

from services.l03_tools.cgroups import PidsCgroups
from services.l03_tools.memory_cgroups import MemoryCgroups
from services.l03_tools.warm_entries import ENTRY_SCRIPT

pytestmark = pytest.mark.unit


def _entry(procs: str = "-", memory: str = "-") -> tuple[subprocess.Popen[bytes], int]:
    """The entry, waiting; returns it and the write end of its work pipe."""
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        ["/bin/sh", str(ENTRY_SCRIPT), procs, memory, str(read_fd)],
        pass_fds=(read_fd,),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={},
    )
    os.close(read_fd)
    return process, write_fd


def _run(words: list[str], procs: str = "-") -> subprocess.CompletedProcess[bytes]:
    process, write_fd = _entry(procs)
    with open(write_fd, "wb") as pipe:
        pipe.write(f"set -- {shlex.join(words)}\n".encode())
    stdout, stderr = process.communicate(timeout=10)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_the_command_runs_with_its_words_intact() -> None:
    awkward = 'it\'s "quoted"\nover $HOME two lines; `true` \\ done'
    done = _run(["5", "100000", "-", "/usr/bin/printf", "%s|", awkward, ""])
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout.decode() == f"{awkward}||"


def test_the_limits_are_set_before_the_command() -> None:
    done = _run(
        ["7", "200000", "40", "/bin/sh", "-c", "ulimit -St; ulimit -Ht; ulimit -v; ulimit -p"]
    )
    assert done.stdout.decode().split() == ["7", "8", "200000", "40"]


def test_no_process_count_limit_of_its_own_when_a_cgroup_counts() -> None:
    done = _run(["7", "200000", "-", "/bin/sh", "-c", "ulimit -p"])
    inherited, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    expected = "unlimited" if inherited == resource.RLIM_INFINITY else str(inherited)
    assert done.stdout.decode().strip() == expected


def test_nothing_of_the_host_environment_reaches_the_command() -> None:
    done = _run(["5", "100000", "-", "/usr/bin/env"])
    assert done.stdout == b""


def test_a_pipe_closed_without_work_ends_the_entry_cleanly() -> None:
    process, write_fd = _entry()
    os.close(write_fd)
    stdout, stderr = process.communicate(timeout=10)
    assert (process.returncode, stdout, stderr) == (0, b"", b"")


def test_a_bad_work_descriptor_is_refused() -> None:
    done = subprocess.run(
        ["/bin/sh", str(ENTRY_SCRIPT), "-", "-", "3; rm -rf /"], capture_output=True, timeout=10
    )
    assert done.returncode == 2
    assert b"bad work fd" in done.stderr


def test_the_entry_joins_its_cgroup_before_the_work_arrives() -> None:
    cgroups = PidsCgroups.find()
    if cgroups is None:
        pytest.skip("no writable pids cgroup on this machine (L03 then counts with RLIMIT_NPROC)")
    name = f"entry-test-{uuid.uuid4().hex[:8]}"
    cgroup = cgroups.create(name, 5)
    try:
        process, write_fd = _entry(str(cgroup / "cgroup.procs"))
        for _ in range(200):  # until the shell has started and joined
            if (cgroup / "cgroup.procs").read_text().split():
                break
            time.sleep(0.01)
        assert (cgroup / "cgroup.procs").read_text().split() == [str(process.pid)]
        with open(write_fd, "wb") as pipe:
            pipe.write(b"set -- 5 100000 - /bin/cat /proc/self/cgroup\n")
        stdout, _ = process.communicate(timeout=10)
        assert f"/{cgroup.parent.name}/{name}\n" in stdout.decode()
    finally:
        os.rmdir(cgroup)


def test_the_entry_joins_its_memory_cgroup_too() -> None:
    memory_cgroups = MemoryCgroups.find()
    if memory_cgroups is None:
        pytest.skip("no writable memory cgroup here (L03 then limits each process alone)")
    name = f"entry-test-{uuid.uuid4().hex[:8]}"
    cgroup = memory_cgroups.create(name)
    try:
        process, write_fd = _entry(memory=str(cgroup / "cgroup.procs"))
        with open(write_fd, "wb") as pipe:
            pipe.write(b"set -- 5 100000 - /bin/cat /proc/self/cgroup\n")
        stdout, _ = process.communicate(timeout=10)
        (line,) = [row for row in stdout.decode().splitlines() if ":memory:" in row]
        assert line.endswith(f"/{memory_cgroups.parent.name}/{name}")
    finally:
        os.rmdir(cgroup)
