"""The mesh as a whole: bring it up in dependency order, report on it, take it down.

This is the launcher's Python API; the ``agentic`` CLI and the integration tests use it::

    mesh = Mesh(LauncherSettings(home=tmp, gateway_port=free_port(), ...), fsync=False)
    mesh.up(timeout=60)  # raises MeshError (with a log tail) if a component fails
    mesh.stop_component("redis"); mesh.start_component("redis")
    mesh.down()
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from services.kit.layers import Layer
from services.launcher.components import OWNED_ENV, Component, ComponentSet
from services.launcher.config import LauncherSettings
from services.launcher.discovery import clear_local_registry
from services.launcher.errors import ComponentFailed, MeshError, PortTaken
from services.launcher.logs import tail_lines
from services.launcher.ports import LOOPBACK, free_port, port_is_free
from services.launcher.supervisor import Supervisor

__all__ = ["ComponentStatus", "Mesh", "MeshError", "free_port"]

# supervisord states in which a component still counts as up (STARTING: being (re)started).
_ALIVE = ("RUNNING", "STARTING")
# BACKOFF is not dead: supervisord starts the process again (startretries) after a start
# that failed for a passing reason, such as a port a dying process still held; FATAL follows
# when every retry failed.
_DEAD = ("FATAL", "EXITED", "STOPPED", "STOPPING")
_POLL_SECONDS = 0.05

# (component, event, detail); events: "running", "starting", "ready", "failed", "stopped".
ProgressCallback = Callable[[str, str, str], None]


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    address: str
    pid: int | None
    state: str  # supervisord's state name; STOPPED when the mesh is down
    log_file: Path

    @property
    def running(self) -> bool:
        return self.state == "RUNNING"


def _no_progress(name: str, event: str, detail: str) -> None:
    return None


class Mesh:
    """One mesh: its components run under a supervisord living in ``settings.home``."""

    def __init__(
        self,
        settings: LauncherSettings | None = None,
        *,
        fsync: bool = True,
        layers: Sequence[Layer] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.settings = settings or LauncherSettings()
        self.home = self.settings.home
        self._fsync = fsync
        self._layers = None if layers is None else list(layers)
        self._components: ComponentSet | None = None
        self.supervisor = Supervisor(self.home)
        self._progress = on_progress or _no_progress

    @property
    def _set(self) -> ComponentSet:
        # Built on first use: finding binaries can fail, and `down` needs none of them.
        if self._components is None:
            self._components = ComponentSet(self.settings, fsync=self._fsync, layers=self._layers)
        return self._components

    # -- where things are -------------------------------------------------------------------

    @property
    def components(self) -> list[str]:
        return [c.name for c in self._set.components]

    @property
    def database_url(self) -> str:
        return self.settings.effective_database_url

    @property
    def redis_url(self) -> str:
        return self.settings.effective_redis_url

    @property
    def gateway_target(self) -> str:
        """``host:port`` of Envoy for gRPC clients."""
        return f"{LOOPBACK}:{self.settings.gateway_port}"

    @property
    def gateway_url(self) -> str:
        """Base URL of Envoy for REST clients."""
        return f"http://{LOOPBACK}:{self.settings.gateway_port}"

    def layer_target(self, name: str) -> str:
        """``host:port`` of a layer, bypassing Envoy, e.g. ``layer_target("l01_data")``."""
        component = self._set.by_name(name)
        if "gRPC" not in component.ports:
            raise MeshError(f"{name} is not a gRPC layer")
        return f"{LOOPBACK}:{component.ports['gRPC']}"

    def log_file(self, name: str) -> Path:
        if name == "supervisord":
            return self.supervisor.log_path
        return self._set.log_file(self._set.by_name(name).name)

    def log_tail(self, name: str, lines: int = 20) -> str:
        return tail_lines(self.log_file(name), lines)

    # -- up ---------------------------------------------------------------------------------

    def up(self, timeout: float = 60.0) -> list[ComponentStatus]:
        """Starts whatever is not running, in dependency order, each waited for until ready.

        Idempotent: components already running are left alone. On failure everything this
        call started is stopped again and :class:`MeshError` is raised.
        """
        deadline = time.monotonic() + timeout
        self.home.mkdir(parents=True, exist_ok=True)
        conf = self.supervisor.render_conf([c.program for c in self._set.components])
        already_up = self.supervisor.is_running()
        alive: set[str] = set()
        if already_up:
            if self.supervisor.running_conf() != conf:
                raise MeshError(
                    f"a mesh with other settings is running in {self.home}: "
                    "run `agentic down` first"
                )
            alive = {n for n, i in self.supervisor.all_info().items() if i["statename"] in _ALIVE}
        self._check_ports(c for c in self._set.components if c.name not in alive)
        if self._set.postgres is not None:
            self._set.postgres.ensure_user()
        if not already_up:
            clear_local_registry(self.settings)
            env = {k: v for k, v in os.environ.items() if k not in OWNED_ENV}
            self.supervisor.start(conf, env)
        started: list[str] = []
        try:
            for stage in sorted({c.stage for c in self._set.components}):
                group = [c for c in self._set.components if c.stage == stage]
                for component in group:
                    if component.name in alive:
                        self._progress(component.name, "running", component.address)
                    else:
                        self._start(component)
                        started.append(component.name)
                for component in group:
                    announce = component.name not in alive
                    self._wait_ready(component, deadline, timeout, announce=announce)
            self._wait_running(deadline)
        except BaseException:
            if not already_up:
                self.down()
            else:
                for name in reversed(started):
                    self.supervisor.stop_program(name)
            raise
        return self.status()

    def _check_ports(self, components: Iterable[Component]) -> None:
        for component in components:
            for port in component.ports.values():
                if not port_is_free(port):
                    raise PortTaken(component.name, port)

    def _start(self, component: Component) -> None:
        self._progress(component.name, "starting", component.address)
        try:
            if component.prepare is not None:
                component.prepare()
        except ComponentFailed:
            raise
        except (OSError, MeshError) as error:
            raise ComponentFailed(component.name, str(error)) from error
        self.supervisor.start_program(component.name)

    def _wait_ready(
        self, component: Component, deadline: float, timeout: float, *, announce: bool = True
    ) -> None:
        started = time.monotonic()
        while True:
            info = self.supervisor.info(component.name) or {}
            state = info.get("statename", "UNKNOWN")
            if state in _DEAD:
                detail = info.get("description") or state
                self._fail(component, f"the process exited: {detail}")
            reason = component.ready()
            if reason is None:
                break
            if time.monotonic() > deadline:
                self._fail(component, f"not ready within {timeout:.0f}s: {reason}")
            time.sleep(_POLL_SECONDS)
        if component.after_ready is not None:
            component.after_ready()
        if announce:
            elapsed = time.monotonic() - started
            self._progress(component.name, "ready", f"{component.address} ({elapsed:.1f}s)")

    def _wait_running(self, deadline: float) -> None:
        """Ready components are still STARTING until supervisord's startsecs have passed;
        wait that out so the status up() returns is the steady one."""
        while time.monotonic() < deadline:
            states = {n: i["statename"] for n, i in self.supervisor.all_info().items()}
            for component in self._set.components:
                if states.get(component.name) in _DEAD:
                    self._fail(component, f"the process exited: {states[component.name]}")
            if all(states.get(c.name) == "RUNNING" for c in self._set.components):
                return
            time.sleep(_POLL_SECONDS)

    def _fail(self, component: Component, reason: str) -> None:
        self._progress(component.name, "failed", reason)
        # Stop it first: supervisord would otherwise keep retrying while we read the log.
        self.supervisor.stop_program(component.name)
        raise ComponentFailed(component.name, reason, self.log_tail(component.name))

    # -- one component ----------------------------------------------------------------------

    def _require_running(self) -> None:
        if not self.supervisor.is_running():
            raise MeshError(f"no mesh is running in {self.home}: run `agentic up` first")

    def stop_component(self, name: str) -> None:
        """Stops one component (supervisord does not restart it until started again)."""
        component = self._set.by_name(name)
        self._require_running()
        self.supervisor.stop_program(component.name)
        self._progress(component.name, "stopped", "")

    def start_component(self, name: str, timeout: float = 60.0) -> None:
        """Starts one stopped component and waits until it is ready."""
        component = self._set.by_name(name)
        self._require_running()
        info = self.supervisor.info(component.name) or {}
        if info.get("statename") not in _ALIVE:
            self._check_ports([component])
            self._start(component)
        self._wait_ready(component, time.monotonic() + timeout, timeout)

    def restart_component(self, name: str, timeout: float = 60.0) -> None:
        self.stop_component(name)
        self.start_component(name, timeout)

    # -- status and down --------------------------------------------------------------------

    def is_running(self) -> bool:
        """True if this mesh's supervisord is up (whatever state its components are in)."""
        return self.supervisor.is_running()

    def status(self) -> list[ComponentStatus]:
        infos = self.supervisor.all_info() if self.supervisor.is_running() else {}
        statuses = []
        for component in self._set.components:
            info = infos.get(component.name, {})
            pid = info.get("pid") or None
            statuses.append(
                ComponentStatus(
                    name=component.name,
                    address=component.address,
                    pid=pid if info.get("statename") in _ALIVE else None,
                    state=info.get("statename", "STOPPED"),
                    log_file=self._set.log_file(component.name),
                )
            )
        return statuses

    def down(self, timeout: float = 60.0) -> bool:
        """Stops every component and supervisord. False if nothing was running."""
        if self.supervisor.is_running():
            # Envoy first, then the layers, then the stores, each band together: supervisord's
            # own shutdown takes about a second per program.
            with contextlib.suppress(MeshError, OSError):
                components = self._set.components
                for band in sorted({c.program.priority // 100 for c in components}, reverse=True):
                    names = [c.name for c in components if c.program.priority // 100 == band]
                    self.supervisor.stop_programs(names, timeout)
        return self.supervisor.shutdown(timeout)

    def __enter__(self) -> Mesh:
        self.up()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()
