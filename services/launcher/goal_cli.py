"""``agentic goal``: submit a goal through the gateway's REST API, show its plan as a tree and
each task's progress live, then the result."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.text import Text
from rich.tree import Tree

from services.launcher.agents_cli import GatewayOption, TokenOption

console = Console(highlight=False, soft_wrap=True)
_DEV_TOKEN = "dev_key_local_ONLY"
_FINAL = ("GOAL_STATUS_COMPLETED", "GOAL_STATUS_FAILED", "GOAL_STATUS_CANCELLED")
_MARKS = {
    "TASK_STATE_PENDING": "[dim]○ pending[/]",
    "TASK_STATE_RUNNING": "[yellow]◐ running[/]",
    "TASK_STATE_COMPLETED": "[green]● done[/]",
    "TASK_STATE_FAILED": "[red]✗ failed[/]",
    "TASK_STATE_SKIPPED": "[dim]- skipped[/]",
}
_POLL_SECONDS = 0.5


def _answer(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json() if response.content else {}
    if response.status_code != 200:
        console.print(
            f"[red]error {response.status_code}:[/] {escape(body.get('message', response.text))}"
        )
        raise typer.Exit(1)
    return body


def render(goal: dict[str, Any]) -> Group:
    """The goal as a tree: each task under the tasks it depends on (first one only)."""
    status = goal["status"].removeprefix("GOAL_STATUS_")
    tree = Tree(f"[bold]{escape(goal['goal'][:100])}[/]  [cyan]{status}[/]  {goal['name']}")
    nodes: dict[str, Tree] = {}
    for task in goal.get("tasks", []):
        parent = nodes.get(task["dependencies"][0]) if task.get("dependencies") else None
        label = (
            f"{_MARKS.get(task['state'], task['state'])} [bold]{escape(task['id'])}[/] "
            f"[magenta]{escape(task['role'])}[/] {escape(task['description'][:90])}"
        )
        if len(task.get("dependencies", [])) > 1:
            label += f" [dim](after {', '.join(task['dependencies'])})[/]"
        if task.get("attempts", 0) > 1:
            label += f" [dim]attempt {task['attempts']}[/]"
        nodes[task["id"]] = (parent or tree).add(label)
    parts: list[Any] = [tree]
    if goal.get("plan_problems"):
        parts.append(Text("Plan refused:\n" + "\n".join(f"  - {p}" for p in goal["plan_problems"])))
    if status == "WAITING_APPROVAL" and goal.get("approval"):
        approval_id = goal["approval"].removeprefix("approvals/")
        parts.append(
            Text(f"waiting for approval {approval_id}: agentic approvals approve {approval_id}")
        )
    if status in ("FAILED", "CANCELLED") and goal.get("reason"):
        parts.append(Text(f"{status.lower()}: {goal['reason']}", style="red"))
    if goal.get("result"):
        parts.append(Text(goal["result"]))
    tokens = goal.get("usage", {}).get("tokens", 0)
    parts.append(Text(f"tokens: {tokens}", style="dim"))
    return Group(*parts)


def _follow(client: httpx.Client, name: str, as_json: bool) -> dict[str, Any]:
    goal = _answer(client.get(f"/v1/{name}"))["goal"]
    if as_json:
        while goal["status"] not in _FINAL:
            time.sleep(_POLL_SECONDS)
            goal = _answer(client.get(f"/v1/{name}"))["goal"]
        return goal
    with Live(render(goal), console=console, refresh_per_second=4) as live:
        while goal["status"] not in _FINAL:
            time.sleep(_POLL_SECONDS)
            goal = _answer(client.get(f"/v1/{name}"))["goal"]
            live.update(render(goal))
    return goal


def goal(
    text: Annotated[str, typer.Argument(help="The goal, in plain words.")] = "",
    watch: Annotated[str, typer.Option("--watch", help="Attach to a goal by id instead.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the final goal as JSON.")] = False,
    parallelism: Annotated[int, typer.Option(help="Most tasks at once (0: 10).")] = 0,
    token_budget: Annotated[int, typer.Option(help="Most model tokens (0: 1,000,000).")] = 0,
    tool: Annotated[
        list[str] | None, typer.Option("--tool", help="An allowed tool (repeat; default all).")
    ] = None,
    gateway: GatewayOption = "http://127.0.0.1:8009",
    token: TokenOption = _DEV_TOKEN,
) -> None:
    """Submit a goal (or --watch one): the plan as a tree, each task live, then the result."""
    if bool(text) == bool(watch):
        console.print("[red]error:[/] give a goal, or --watch ID")
        raise typer.Exit(2)
    with httpx.Client(
        base_url=gateway, headers={"authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        if watch:
            name = watch if watch.startswith("goals/") else f"goals/{watch}"
        else:
            constraints = {
                "max_parallelism": parallelism,
                "token_budget": token_budget,
                "allowed_tools": tool or [],
            }
            created = _answer(
                client.post("/v1/goals", json={"goal": text, "constraints": constraints})
            )
            name = created["goal"]["name"]
        final = _follow(client, name, as_json)
    if as_json:
        print(json.dumps(final, indent=2))
    if final["status"] != "GOAL_STATUS_COMPLETED":
        raise typer.Exit(1)
