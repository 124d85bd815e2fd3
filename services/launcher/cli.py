"""``agentic``: bring the mesh up on this machine, look at it, take it down."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.kit.layers import layer_by_key
from services.launcher import (
    agents_cli,
    approvals_cli,
    catalog_cli,
    discovery,
    goal_cli,
    keys,
    secrets_cli,
    tools,
)
from services.launcher import backup as backups
from services.launcher.config import LauncherSettings
from services.launcher.errors import ComponentFailed, MeshError
from services.launcher.logs import follow as follow_log
from services.launcher.logs import tail_lines
from services.launcher.mesh import ComponentStatus, Mesh

app = typer.Typer(
    help="Run the agentic mesh (PostgreSQL, Redis, the layers, Envoy) on this machine.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(keys.app, name="keys")
app.add_typer(agents_cli.app, name="agents")
app.add_typer(tools.app, name="tools")
app.add_typer(secrets_cli.app, name="secrets")
app.add_typer(approvals_cli.app, name="approvals")
app.add_typer(catalog_cli.roles_app, name="roles")
app.add_typer(catalog_cli.skills_app, name="skills")
app.command("goal")(goal_cli.goal)
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

_STATE_STYLE = {"RUNNING": "green", "STARTING": "yellow", "BACKOFF": "red", "FATAL": "red"}


def _settings(home: Path | None) -> LauncherSettings:
    return LauncherSettings(home=home) if home is not None else LauncherSettings()


HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Mesh directory (default: $AGENTIC_HOME or ./.agentic)."),
]


def _fail(error: MeshError) -> typer.Exit:
    if isinstance(error, ComponentFailed):
        err.print(f"[red]error:[/] {escape(f'{error.component} failed to start: {error.reason}')}")
        if error.log_tail:
            err.print(f"[dim]--- last lines of {error.component}'s log ---[/]")
            err.print(escape(error.log_tail), style="dim")
    else:
        err.print(f"[red]error:[/] {escape(str(error))}")
    return typer.Exit(1)


def _progress(name: str, event: str, detail: str) -> None:
    if event == "running":
        console.print(f"  [green]●[/] {name} already running at {escape(detail)}")
    elif event == "starting":
        console.print(f"  [dim]… starting {name}[/]")
    elif event == "ready":
        console.print(f"  [green]✓[/] {name} ready at {escape(detail)}")
    elif event == "failed":
        console.print(f"  [red]✗[/] {name}: {escape(detail)}")


def _table(statuses: list[ComponentStatus]) -> Table:
    table = Table(show_edge=False, header_style="bold")
    for column in ("component", "address", "pid", "state"):
        table.add_column(column)
    for status in statuses:
        style = _STATE_STYLE.get(status.state, "dim")
        table.add_row(
            status.name,
            status.address,
            str(status.pid) if status.pid else "-",
            f"[{style}]{status.state}[/]",
        )
    return table


def _externals(settings: LauncherSettings) -> None:
    if not settings.embedded_postgres:
        console.print("  [dim]postgres: external (DATABASE_URL)[/]")
    if not settings.embedded_redis:
        console.print("  [dim]redis: external (REDIS_URL)[/]")
    if settings.consul_http_addr:
        console.print(f"  [dim]registry: Consul at {escape(settings.consul_http_addr)}[/]")


def _wait_for_signal(mesh: Mesh) -> None:
    """Blocks until Ctrl-C or SIGTERM, or until supervisord goes away on its own."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    while not stop.wait(1.0):
        if not mesh.is_running():
            err.print("[red]error:[/] supervisord stopped; the mesh is down")
            raise typer.Exit(1)


@app.command()
def up(
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Return once healthy; leave the mesh running.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the whole mesh.")] = 120.0,
    home: HomeOption = None,
) -> None:
    """Start every component not yet running, in order, each waited for until ready."""
    try:
        settings = _settings(home)
        mesh = Mesh(settings, on_progress=_progress)
        console.print(f"mesh home: {settings.home}")
        _externals(settings)
        statuses = mesh.up(timeout=timeout)
    except MeshError as error:
        raise _fail(error) from None
    console.print(_table(statuses))
    if detach:
        console.print("running in the background: `agentic down` stops it")
        return
    console.print("running: Ctrl-C stops the mesh")
    try:
        _wait_for_signal(mesh)
    finally:
        console.print("stopping...")
        mesh.down()
        console.print("stopped")


@app.command()
def services(home: HomeOption = None) -> None:
    """Show where each layer registered (Consul, else the home's registry) and whether it
    answers its gRPC health check; exit code 1 if one is missing or not serving."""
    settings = _settings(home)
    try:
        rows = discovery.registered_instances(settings)
    except Exception as error:  # Consul unreachable, say: name it, no traceback
        err.print(f"[red]error:[/] the registry cannot be read: {escape(str(error))}")
        raise typer.Exit(1) from None
    where = settings.consul_http_addr or str(settings.registry_dir)
    table = Table("layer", "address", "pid", "health", title=f"registry: {escape(where)}")
    for row in rows:
        style = "green" if row.health == "SERVING" else "red"
        pid = str(row.pid) if row.pid else ""
        table.add_row(row.layer, row.address, pid, f"[{style}]{escape(row.health)}[/]")
    console.print(table)
    if any(row.health != "SERVING" for row in rows):
        raise typer.Exit(1)


@app.command()
def down(home: HomeOption = None) -> None:
    """Stop the mesh started from this home (and nothing else)."""
    try:
        settings = _settings(home)
        stopped = Mesh(settings).down()
    except MeshError as error:
        raise _fail(error) from None
    console.print("stopped" if stopped else f"no mesh running in {settings.home}")


@app.command()
def status(home: HomeOption = None) -> None:
    """Show each component; exit code 1 if any is not running."""
    try:
        settings = _settings(home)
        mesh = Mesh(settings)
        statuses = mesh.status()
    except MeshError as error:
        raise _fail(error) from None
    console.print(_table(statuses))
    _externals(settings)
    if not mesh.is_running():
        console.print(f"no mesh running in {settings.home}")
    if not all(s.running for s in statuses):
        raise typer.Exit(1)


@app.command()
def logs(
    name: Annotated[str, typer.Argument(help="Component name, or 'supervisord'.")],
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many lines to show.")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing.")] = False,
    home: HomeOption = None,
) -> None:
    """Print the end of a component's log file."""
    try:
        path = Mesh(_settings(home)).log_file(name)
    except MeshError as error:
        raise _fail(error) from None
    if not path.exists() and not follow:
        err.print(f"[red]error:[/] no log yet for {name} ({path})")
        raise typer.Exit(1)
    text = tail_lines(path, lines)
    if text:
        print(text, flush=True)
    if follow:
        try:
            for line in follow_log(path):
                print(line, flush=True)
        except KeyboardInterrupt:
            pass


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the backup.")],
    home: HomeOption = None,
) -> None:
    """Write every table of the platform database to FILE (pg_dump); the mesh keeps running."""
    try:
        backups.backup(_settings(home), file)
    except MeshError as error:
        raise _fail(error) from None
    console.print(f"backup written to {escape(str(file))}")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `agentic backup`.")],
    home: HomeOption = None,
) -> None:
    """Replace the platform database with FILE; L01 is stopped meanwhile and restarted."""
    try:
        backups.restore(_settings(home), file, report=lambda line: console.print(escape(line)))
    except MeshError as error:
        raise _fail(error) from None
    console.print(f"restored from {escape(str(file))}")


@app.command()
def mcp(
    gateway: Annotated[
        str | None,
        typer.Option(help="Envoy's host:port (default: this home's gateway port)."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Serve the mesh to an MCP client over stdio, as $AGENTIC_API_KEY (an API key or JWT).

    The server is L12's (its tools call the mesh through the gateway); this command only
    starts it in place of itself, so stdin and stdout are the client's."""
    target = gateway or f"127.0.0.1:{_settings(home).gateway_port}"
    module = f"{layer_by_key('l12').module}.mcp_stdio"
    environment = {**os.environ, "AGENTIC_GATEWAY_TARGET": target}
    os.execve(sys.executable, [sys.executable, "-m", module], environment)


if __name__ == "__main__":
    app()
