"""Supervision and secrets figures: `Evaluate` through Envoy at 1 and 16 clients with 100
policies deployed (target p99 <= 5 ms at 1 client), the same decisions made in-process with
cedarpy (the ratio says what serving costs), and a secret read by a layer through the kit's
SecretReader with and without its cache.

`python -m bench.supervision` runs only these, on a mesh of their own."""

from __future__ import annotations

import sys
import time

import grpc

from agentic.secrets.v1 import secrets_pb2 as sec_pb
from agentic.secrets.v1 import secrets_pb2_grpc as sec_grpc
from agentic.supervision.v1 import decisions_pb2 as de_pb
from agentic.supervision.v1 import decisions_pb2_grpc as de_grpc
from agentic.supervision.v1 import policies_pb2 as po_pb
from agentic.supervision.v1 import policies_pb2_grpc as po_grpc
from agentic.supervision.v1 import resources_pb2 as res_pb
from bench.gateway import measure
from bench.own_mesh import run_on_own_mesh
from bench.settle import settle_cpu
from bench.stats import measure_latency
from services.kit import open_channel
from services.kit.secrets import SecretReader
from services.launcher.config import LauncherSettings

DEV_TOKEN = "dev_key_local_ONLY"
POLICIES = 100
P99_TARGET_MS = 5.0
CALLS = 3000
SECONDS_AT_16 = 5.0
IN_PROCESS_CALLS = 5000


def policy_set(count: int = POLICIES) -> str:
    """``count`` policies: permits and escalations by tool category, forbids by tool, cost
    and rate, so that every request meets several of them."""
    policies = [
        '@id("tools") permit (principal, action == Agentic::Action::"call_tool", resource);',
        '@id("rate") @reason("over 1,000,000 calls a minute") forbid (principal, action, '
        "resource) when { context.calls_last_minute > 1000000 };",
    ]
    for i in range(count - len(policies)):
        if i % 3 == 0:
            policies.append(
                f'@id("block-{i}") @reason("tool {i} is blocked") forbid (principal, '
                f'action == Agentic::Action::"call_tool", '
                f'resource == Agentic::Tool::"blocked-{i}");'
            )
        elif i % 3 == 1:
            policies.append(
                f'@id("cap-{i}") @reason("over {1000 + i} cents") forbid (principal, action, '
                f"resource) when {{ context has cost_cents && context.cost_cents > {1000 + i} }};"
            )
        else:
            policies.append(
                f'@id("ask-{i}") @escalate("category c{i}") permit (principal, '
                f'action == Agentic::Action::"call_tool", resource) when {{ resource has '
                f'category && resource.category == "c{i}" }};'
            )
    return "\n".join(policies)


def request() -> de_pb.EvaluateRequest:
    message = de_pb.EvaluateRequest(
        principal=res_pb.Entity(type="Agent", id="bench-agent", roles=["ops"]),
        action="call_tool",
        resource=res_pb.Entity(type="Tool", id="search.web"),
    )
    message.resource.attributes.update({"category": "read"})
    message.context.update({"cost_cents": 12, "target": "staging"})
    return message


def in_process_rate(text: str) -> float:
    """Decisions/s of the same request made by cedarpy in this process (pre-parsed set)."""
    from services.l08_supervision.policy_engine import (
        CompiledPolicies,
        DecisionRequest,
        EntityRef,
        Schema,
    )

    compiled = CompiledPolicies(text, Schema.platform())
    decision = DecisionRequest(
        EntityRef("Agent", "bench-agent", roles=("ops",)),
        "call_tool",
        EntityRef("Tool", "search.web", {"category": "read"}),
        {"hour": 12, "weekday": 3, "calls_last_minute": 1, "calls_today": 1,
         "cost_cents": 12, "target": "staging"},
    )  # fmt: skip
    for _ in range(200):
        compiled.evaluate(decision)
    started = time.perf_counter()
    for _ in range(IN_PROCESS_CALLS):
        compiled.evaluate(decision)
    return IN_PROCESS_CALLS / (time.perf_counter() - started)


async def evaluate_figures(gateway: str) -> None:
    text = policy_set()
    async with open_channel(gateway, token=DEV_TOKEN) as channel:
        await po_grpc.PolicyServiceStub(channel).DeployPolicies(
            po_pb.DeployPoliciesRequest(text=text, description="bench: 100 policies")
        )
        stub = de_grpc.DecisionServiceStub(channel)
        message = request()
        reply = await stub.Evaluate(message)
        assert reply.decision == res_pb.DECISION_ALLOW, reply

        async def evaluate() -> object:
            return await stub.Evaluate(message)

        await settle_cpu()
        one = await measure_latency(evaluate, CALLS)
        await settle_cpu()
        sixteen = await measure(evaluate, 16, SECONDS_AT_16)
    verdict = "met" if one.p99_ms <= P99_TARGET_MS else "MISSED"
    print(f"\nEvaluate through Envoy (gRPC), {POLICIES} policies deployed")
    print(f"  1 client   {one}   target p99 <= {P99_TARGET_MS} ms: {verdict}")
    print(f"  16 clients {sixteen.latency}   ({sixteen.failed} failed)")
    await settle_cpu()
    local = in_process_rate(text)
    served = sixteen.latency.per_second
    print(
        f"  in-process cedarpy: {local:,.0f} decisions/s (1 thread); served at 16 clients: "
        f"{served:,.0f}/s; ratio {local / served:.1f}x"
    )


async def secret_figures(settings: LauncherSettings, gateway: str) -> None:
    name = "bench-provider-key"
    async with open_channel(gateway, token=DEV_TOKEN) as channel:
        stub = sec_grpc.SecretServiceStub(channel)
        await stub.CreateSecret(
            sec_pb.CreateSecretRequest(
                name=name, access_policy=sec_pb.AccessPolicy(layers=["bench"])
            )
        )
        await stub.AddSecretVersion(sec_pb.AddSecretVersionRequest(name=name, value="sk-bench"))
    token = (settings.home / "service_token").read_text().strip()
    target = f"127.0.0.1:{settings.layer_port('l00')}"
    print("\nSecret access by a layer (kit SecretReader, direct to L00), 1 in flight")
    for label, ttl, calls in (("without cache", 0.0, 1000), ("with cache (30 s)", 30.0, 20000)):
        reader = SecretReader(open_channel(target, token=token), "bench", ttl_seconds=ttl)
        try:

            async def read(reader: SecretReader = reader) -> object:
                return await reader.read(name)

            await settle_cpu()
            latency = await measure_latency(read, calls, warmup=50)
        finally:
            await reader.close()
        print(f"  {label:18s} {latency}")


async def report(settings: LauncherSettings) -> None:
    gateway = f"127.0.0.1:{settings.gateway_port}"
    try:
        await evaluate_figures(gateway)
        await secret_figures(settings, gateway)
    except grpc.aio.AioRpcError as error:
        print(f"  failed: {error.code().name}: {error.details()}")
        raise


def main() -> int:
    return run_on_own_mesh(report)


if __name__ == "__main__":
    sys.exit(main())
