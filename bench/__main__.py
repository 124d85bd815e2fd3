"""`make bench`: starts a mesh on free ports (durable: fsync on) and prints figures."""

from __future__ import annotations

import sys

from bench import (
    appends,
    event_store,
    grpc_ceiling,
    models,
    runtime,
    subscriptions,
    supervision,
    tools,
    vectors,
)
from bench import gateway as gateway_path
from bench.own_mesh import run_on_own_mesh
from bench.settle import settle_database
from services.launcher.config import LauncherSettings

ENVOY_P50_BUDGET_MS = 1.0


async def run(settings: LauncherSettings) -> None:
    l01 = f"127.0.0.1:{settings.layer_port('l01')}"
    gateway = f"127.0.0.1:{settings.gateway_port}"
    await grpc_ceiling.report()
    await appends.report(l01, settings.effective_database_url)
    await subscriptions.report(l01)
    await vectors.report(l01, settings.effective_database_url)
    await settle_database(settings.effective_database_url)

    print("\nReadStream latency, 1 in flight, 3000 calls each")
    latencies = await event_store.read_latencies(l01, gateway, count=3000)
    for name, latency in latencies.items():
        print(f"  {name:15s} {latency}")
    direct = latencies["gRPC direct"]
    for name in ("gRPC via Envoy", "REST via Envoy"):
        added = latencies[name].p50_ms - direct.p50_ms
        verdict = "met" if added <= ENVOY_P50_BUDGET_MS else "MISSED"
        ratio = latencies[name].p50_ms / direct.p50_ms
        print(
            f"  {name}: +{added:.3f} ms p50 over direct ({ratio:.2f}x);"
            f" target <= {ENVOY_P50_BUDGET_MS} ms: {verdict}"
        )

    await gateway_path.run(l01, gateway, settings.gateway_keys_file, settings.envoy_admin_port)
    await models.report(settings)
    await tools.report(settings)
    await runtime.report(settings)
    await supervision.report(settings)


def main() -> int:
    return run_on_own_mesh(run)


if __name__ == "__main__":
    sys.exit(main())
