"""``agentic approvals list|approve|reject``: L08's approvals, through the gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.launcher.gateway_client import (
    GatewayCallError,
    GatewayClient,
    HomeOption,
    TokenOption,
)

app = typer.Typer(help="List, approve and reject approvals (L08).", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

_STATES = ("pending", "approved", "rejected", "all")


def _fail(error: GatewayCallError) -> typer.Exit:
    err.print(f"[red]error:[/] {escape(str(error))}")
    return typer.Exit(1)


def _state(value: str) -> str:
    return value.removeprefix("APPROVAL_STATE_").lower()


@app.command("list")
def list_approvals(
    state: Annotated[str, typer.Option(help=f"One of {', '.join(_STATES)}.")] = "pending",
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """Approvals, newest first: id, state, who asks, what, why, expiry."""
    if state not in _STATES:
        err.print(f"[red]error:[/] --state is one of {', '.join(_STATES)}")
        raise typer.Exit(2)
    params: dict[str, object] = {"page_size": 1000}
    if state != "all":
        params["state"] = f"APPROVAL_STATE_{state.upper()}"
    try:
        page = GatewayClient(home, token).call("GET", "/v1/approvals", params=params)
    except GatewayCallError as error:
        raise _fail(error) from None
    table = Table(show_edge=False, header_style="bold")
    for column in ("id", "state", "requester", "what", "why", "expires", "decided"):
        table.add_column(column)
    for approval in page.get("approvals", []):
        principal, resource = approval.get("principal", {}), approval.get("resource", {})
        what = (
            f"{principal.get('type')}::{principal.get('id')} {approval.get('action')} "
            f"{resource.get('type')}::{resource.get('id')}"
        )
        decided = approval.get("decided_by", "")
        if decided:
            decided = f"{decided}: {approval.get('comment', '')}"
        table.add_row(
            approval["id"],
            _state(approval.get("state", "")),
            escape(approval.get("requester", "")),
            escape(what),
            escape("; ".join(approval.get("reasons", []))),
            approval.get("expire_time", ""),
            escape(decided),
        )
    console.print(table)


def _decide(
    verb: str, approval_id: str, comment: str, token: str | None, home: Path | None
) -> None:
    client = GatewayClient(home, token)
    try:
        reply = client.call(
            "POST", f"/v1/approvals/{approval_id}:{verb}", body={"comment": comment}
        )
    except GatewayCallError as error:
        raise _fail(error) from None
    approval = reply["approval"]
    console.print(
        f"{approval['id']}: {_state(approval['state'])} by {escape(approval['decided_by'])}"
    )


@app.command()
def approve(
    approval_id: Annotated[str, typer.Argument(help="The approval's id.")],
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why.")] = "",
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """Approve a pending approval: the waiting work goes on."""
    _decide("approve", approval_id, comment, token, home)


@app.command()
def reject(
    approval_id: Annotated[str, typer.Argument(help="The approval's id.")],
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why.")] = "",
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """Reject a pending approval: the waiting work stops."""
    _decide("reject", approval_id, comment, token, home)
