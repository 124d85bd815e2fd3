"""``agentic keys create|list|revoke``: the gateway's API keys.

Keys live hashed in ``$AGENTIC_HOME/gateway/api_keys.json`` (mode 0600). The running gateway
re-reads the file within a second of a change, so a revoked key stops working within a second;
no restart is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.kit.auth import NAME_PATTERN, ApiKeyFile
from services.launcher.components import PROJECT_ROOT
from services.launcher.config import LauncherSettings

POLICY_FILE = PROJECT_ROOT / "gateway" / "policy.yaml"

app = typer.Typer(help="Create, list and revoke the gateway's API keys.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Mesh directory (default: $AGENTIC_HOME or ./.agentic)."),
]


def _key_file(home: Path | None) -> ApiKeyFile:
    settings = LauncherSettings(home=home) if home is not None else LauncherSettings()
    return ApiKeyFile(settings.gateway_keys_file)


def _check_against_policy(roles: list[str], tier: str, policy_file: Path) -> None:
    """Refuses roles and tiers the policy does not define: such a key could call nothing."""
    policy = yaml.safe_load(policy_file.read_text())
    unknown = [role for role in roles if role not in policy.get("roles", {})]
    if unknown:
        err.print(f"[red]error:[/] unknown role(s) {', '.join(unknown)} (see {policy_file})")
        raise typer.Exit(2)
    if tier not in policy.get("tiers", {}):
        err.print(f"[red]error:[/] unknown tier {tier} (see {policy_file})")
        raise typer.Exit(2)


@app.command()
def create(
    principal: Annotated[str, typer.Option(help="Who the key belongs to, e.g. alice@example.com.")],
    role: Annotated[list[str], typer.Option("--role", "-r", help="A role (repeatable).")],
    tier: Annotated[str, typer.Option(help="Rate tier from the policy.")] = "standard",
    tenant: Annotated[
        str | None,
        typer.Option(
            help="The tenant the key acts in (budgets, usage, caches); default: the principal."
        ),
    ] = None,
    policy: Annotated[Path, typer.Option(help="Policy file to check roles against.")] = POLICY_FILE,
    home: HomeOption = None,
) -> None:
    """Create a key and print it once: only its hash is stored."""
    _check_against_policy(role, tier, policy)
    for option, name in (("--principal", principal), ("--tenant", tenant)):
        if name is not None and not NAME_PATTERN.fullmatch(name):
            err.print(f"[red]error:[/] {option} must be 1-256 letters, digits or any of @._:+-/|")
            raise typer.Exit(2)
    key, record = _key_file(home).create(principal, tuple(role), tier, tenant)
    err.print(
        f"created key {record.key_id} for {escape(principal)} (tenant "
        f"{escape(record.caller_tenant)}); it is shown only once:"
    )
    print(key, flush=True)


@app.command("list")
def list_keys(home: HomeOption = None) -> None:
    """Show every key (id, principal, tenant, roles, tier, created, revoked); never the
    secrets."""
    table = Table(show_edge=False, header_style="bold")
    for column in ("key id", "principal", "tenant", "roles", "tier", "created", "revoked"):
        table.add_column(column)
    for record in _key_file(home).load().values():
        table.add_row(
            record.key_id,
            escape(record.principal),
            escape(record.caller_tenant),
            ", ".join(record.roles),
            record.tier,
            record.created_at,
            record.revoked_at or "-",
            style=None if record.active else "dim",
        )
    console.print(table)


@app.command()
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (the part after 'agk_').")],
    home: HomeOption = None,
) -> None:
    """Revoke a key; the gateway refuses it within a second."""
    record = _key_file(home).revoke(key_id)
    if record is None:
        err.print(f"[red]error:[/] no key {escape(key_id)}")
        raise typer.Exit(1)
    console.print(f"revoked {record.key_id} ({escape(record.principal)}) at {record.revoked_at}")
