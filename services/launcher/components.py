"""What the mesh runs: each component's command, environment, ports and readiness probe."""

from __future__ import annotations

import base64
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from services.kit.layers import GATEWAY, Layer, launched_layers
from services.launcher import binaries, envoy_config, probes
from services.launcher.config import LauncherSettings
from services.launcher.errors import MeshError
from services.launcher.ports import LOOPBACK
from services.launcher.postgres import SUPERUSER, PostgresCluster
from services.launcher.supervisor import Program

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENVOY_TEMPLATE = PROJECT_ROOT / "gateway" / "envoy.yaml"
GATEWAY_HTTP_CLUSTER = "l09_gateway_http"
GATEWAY_GRPC_CLUSTER = "l09_gateway_grpc"  # ext_authz and the rate limit service
# The embedded Temporal server's SQLite file in write-ahead-log mode, synced at checkpoints:
# measured, 2x the workflows/s of the default rollback journal synced on every commit. A
# commit survives a kill -9 of the server (the log is in the OS's page cache); only a crash
# of the machine may lose the last ones.
TEMPORAL_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
TEMPORAL_DYNAMIC_CONFIG = (
    # Measured: a workflow's first task runs on the starting call, ~2x faster starts.
    "system.enableEagerWorkflowStart=true",
    # The history service reads its transfer queue (a workflow task to hand to a worker, a
    # child to start, a parent to tell) at most 20 times a second by default: every workflow
    # task after the first waited ~40 ms for it. Measured: 1.5 ms at 1,000.
    "history.transferProcessorMaxPollRPS=1000",
)


def temporal_tuning() -> list[str]:
    """The dev server's arguments for the settings above (the launcher's and compose's)."""
    pragmas = [arg for pragma in TEMPORAL_SQLITE_PRAGMAS for arg in ("--sqlite-pragma", pragma)]
    values = [a for value in TEMPORAL_DYNAMIC_CONFIG for a in ("--dynamic-config-value", value)]
    return pragmas + values


# Settings the launcher passes explicitly; inherited copies from the caller's shell could
# otherwise point a test mesh's layers at a developer's servers.
OWNED_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "TEMPORAL_ADDRESS",
    "L01_API_KEY",
    "AGENTIC_SERVICE_TOKEN",
    "CONSUL_HTTP_ADDR",
)


def _python() -> str:
    """This environment's interpreter under one stable name (the ``agentic`` script runs
    as ``python3``, pytest as ``python``), so equal settings give an equal config."""
    executable = Path(sys.executable)
    plain = executable.with_name("python")
    return str(plain if plain.exists() else executable)


def master_key_file(home: Path) -> Path:
    """L00's master keyring when L00_MASTER_KEY is unset: kept in the home (0600)."""
    return home / "secrets" / "master.keys"


def new_master_key_line() -> str:
    """A keyring line in L00's format: ``<key id>:<base64 of 32 random bytes>``."""
    return f"k{secrets.token_hex(4)}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def process_name(layer: Layer, process: int) -> str:
    """The component running process ``process`` (from 0) of a layer: ``l04_models`` for
    the first, ``l04_models.1`` for the second."""
    return layer.name if process == 0 else f"{layer.name}.{process}"


def installed(layer: Layer, root: Path = PROJECT_ROOT) -> bool:
    """True when the layer's package has a ``__main__`` to start."""
    return (root.joinpath(*layer.module.split(".")) / "__main__.py").is_file()


def installed_layers() -> list[Layer]:
    """The layers the launcher starts: ``launched`` in the kit's table, and present."""
    return [layer for layer in launched_layers() if installed(layer)]


@dataclass(frozen=True)
class Component:
    name: str
    program: Program
    address: str  # for people: where to reach it
    ports: Mapping[str, int]  # every port it binds, by what it is
    ready: probes.Probe
    # Components of a stage start together and are waited for in list order; the next
    # stage starts when all of them are ready.
    stage: int
    prepare: Callable[[], object] | None = None  # before each start
    after_ready: Callable[[], None] | None = None


class ComponentSet:
    """Builds the components of one mesh from its settings."""

    def __init__(
        self,
        settings: LauncherSettings,
        *,
        fsync: bool = True,
        layers: list[Layer] | None = None,
    ) -> None:
        self.settings = settings
        self.home = settings.home
        self.log_dir = settings.home / "logs"
        self.layers = installed_layers() if layers is None else list(layers)
        self.postgres: PostgresCluster | None = None
        if settings.embedded_postgres:
            self.postgres = PostgresCluster.for_home(
                binaries.postgres_bin_dir(), settings.home, settings.postgres_port, fsync=fsync
            )
        self.components = self._build()

    def by_name(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        names = ", ".join(c.name for c in self.components)
        raise MeshError(f"no component named {name!r} (this mesh has: {names})")

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def _program(
        self,
        name: str,
        command: list[str],
        priority: int,
        *,
        environment: Mapping[str, str] | None = None,
        user: str | None = None,
        stopsignal: str = "TERM",
        stopwaitsecs: int = 10,
    ) -> Program:
        return Program(
            name=name,
            command=command,
            log_file=self.log_file(name),
            directory=PROJECT_ROOT,
            priority=priority,
            environment=dict(environment or {}),
            user=user,
            stopsignal=stopsignal,
            stopwaitsecs=stopwaitsecs,
        )

    def _build(self) -> list[Component]:
        components = []
        if self.postgres is not None:
            components.append(self._postgres(self.postgres))
        if self.settings.embedded_redis:
            components.append(self._redis())
        if self.settings.embedded_temporal and any(layer.workflows for layer in self.layers):
            components.append(self._temporal())
        components += [
            self._layer(layer, index, process, port)
            for index, layer in enumerate(self.layers)
            for process, port in enumerate(self.settings.layer_ports(layer))
        ]
        components.append(self._gateway_http())
        components.append(self._envoy())
        return components

    def _postgres(self, cluster: PostgresCluster) -> Component:
        port = self.settings.postgres_port
        return Component(
            name="postgres",
            # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for clients to leave.
            program=self._program(
                "postgres", cluster.command(), 10, user=cluster.run_as, stopsignal="INT"
            ),
            address=f"{LOOPBACK}:{port}",
            ports={"postgres": port},
            ready=lambda: probes.pg_isready(cluster.bin_dir, port, SUPERUSER),
            stage=0,
            prepare=cluster.prepare,
            after_ready=cluster.ensure_database,
        )

    def _redis(self) -> Component:
        port = self.settings.redis_port
        data_dir = self.home / "redis"
        command = [
            str(binaries.redis_server()),
            "--port", str(port),
            "--bind", LOOPBACK,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(data_dir),
        ]  # fmt: skip
        return Component(
            name="redis",
            program=self._program("redis", command, 20),
            address=f"{LOOPBACK}:{port}",
            ports={"redis": port},
            ready=lambda: probes.redis_ping(port),
            stage=0,
            prepare=lambda: data_dir.mkdir(mode=0o700, parents=True, exist_ok=True),
        )

    def _temporal(self) -> Component:
        port = self.settings.temporal_port
        data_dir = self.home / "temporal"
        command = [
            str(binaries.temporal()),
            "server", "start-dev",
            "--headless",
            "--ip", LOOPBACK,
            "--port", str(port),
            "--db-filename", str(data_dir / "temporal.db"),
            "--log-level", "warn",
            *temporal_tuning(),
        ]  # fmt: skip
        return Component(
            name="temporal",
            program=self._program("temporal", command, 30),
            address=f"{LOOPBACK}:{port}",
            ports={"temporal": port},
            ready=lambda: probes.grpc_serving(port),
            stage=0,
            prepare=lambda: data_dir.mkdir(mode=0o700, parents=True, exist_ok=True),
        )

    def _python_env(self) -> dict[str, str]:
        env = {
            "AGENTIC_LOG_LEVEL": self.settings.log_level,
            "PYTHONUNBUFFERED": "1",
            # The layers accept it from the gateway, which forwards the caller it vouches for.
            "AGENTIC_SERVICE_TOKEN": self.service_token(),
            # The mesh's state directory (L03 keeps its workspaces there; the layers register
            # in its registry/ unless a Consul agent is given).
            "AGENTIC_HOME": str(self.home),
        }
        if self.settings.consul_http_addr:
            env["CONSUL_HTTP_ADDR"] = self.settings.consul_http_addr
        # kit.layer_target() finds the layers of this mesh in its registry, and where the
        # launcher starts them (their ports) until they have registered. No targets: they
        # would win over the registry, and a layer that moved would not be found.
        for layer in self.layers:
            for index, port in enumerate(self.settings.layer_ports(layer)):
                env[f"AGENTIC_{layer.process_port_setting(index).upper()}"] = str(port)
        # L09 is Envoy: a layer calling the mesh on its caller's behalf goes through it.
        env[f"AGENTIC_{GATEWAY.env_prefix}_TARGET"] = f"{LOOPBACK}:{self.settings.gateway_port}"
        return env

    def _layer(self, layer: Layer, index: int, process: int, port: int) -> Component:
        """Process ``process`` (from 0) of the ``index``-th layer, listening on ``port``."""
        name = process_name(layer, process)
        env = {
            **self._python_env(),
            f"{layer.env_prefix}_HOST": LOOPBACK,
            f"{layer.env_prefix}_PORT": str(port),
            "REDIS_URL": self.settings.effective_redis_url,
        }
        if layer.serves_http:
            env[f"{layer.env_prefix}_HTTP_PORT"] = str(self.settings.layer_http_port(layer))
        if layer.database:
            env["DATABASE_URL"] = self.settings.effective_database_url
        if layer.workflows:
            env["TEMPORAL_ADDRESS"] = self.settings.effective_temporal_address
        if layer.name == "l01_data" and self.settings.l01_api_key:
            env["L01_API_KEY"] = self.settings.l01_api_key
        prepare = None
        if layer.name == "l00_secrets":
            env["L00_MASTER_KEY_FILE"] = str(self.master_key_file)
            prepare = self.ensure_master_key
        return Component(
            name=name,
            program=self._program(
                name, [_python(), "-m", layer.module], 100 + index, environment=env
            ),
            address=f"{LOOPBACK}:{port}",
            ports={"gRPC": port},
            ready=lambda: probes.grpc_serving(port),
            stage=1,
            prepare=prepare,
        )

    @property
    def master_key_file(self) -> Path:
        return master_key_file(self.home)

    def ensure_master_key(self) -> None:
        """Writes a keyring of one fresh key on first start."""
        path = self.master_key_file
        if path.exists():
            return
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(new_master_key_line() + "\n")

    def service_token(self) -> str:
        """AGENTIC_SERVICE_TOKEN, else one generated once per home and kept there (0600),
        so every start renders the same supervisord config."""
        if self.settings.service_token:
            return self.settings.service_token
        path = self.home / "service_token"
        if path.exists():
            return path.read_text().strip()
        token = secrets.token_urlsafe(32)
        if self.home.is_dir():  # `status` of a mesh never started writes nothing
            path.touch(mode=0o600)
            path.write_text(token + "\n")
        return token

    def _gateway_http(self) -> Component:
        port = self.settings.gateway_http_port
        grpc_port = self.settings.gateway_grpc_port
        layers = ",".join(  # every process, so that /health names each one
            f"{process_name(layer, process)}={LOOPBACK}:{port}"
            for layer in self.layers
            for process, port in enumerate(self.settings.layer_ports(layer))
        )
        env = {
            **self._python_env(),
            "L09_HTTP_HOST": LOOPBACK,
            "L09_HTTP_PORT": str(port),
            "L09_GRPC_HOST": LOOPBACK,
            "L09_GRPC_PORT": str(grpc_port),
            "L09_LAYERS": layers,
            "L09_KEYS_FILE": str(self.settings.gateway_keys_file),
            "REDIS_URL": self.settings.effective_redis_url,
        }
        if self.settings.production or self.settings.l01_api_key:
            env["L09_PRODUCTION"] = "true"
        command = [_python(), "-m", "services.l09_gateway"]
        return Component(
            name="l09_gateway",
            program=self._program("l09_gateway", command, 800, environment=env),
            address=f"http://{LOOPBACK}:{port} (authz {grpc_port})",
            ports={"http": port, "authz": grpc_port},
            # Up once it answers at all; whether the layers are serving is envoy's check.
            ready=probes.all_of(
                lambda: probes.http_status(f"http://{LOOPBACK}:{port}/health", expect=None),
                lambda: probes.grpc_serving(grpc_port),
            ),
            stage=1,
        )

    def envoy_cluster_ports(self) -> dict[str, tuple[int, ...]]:
        """The port of each endpoint of each Envoy cluster: one per process of a layer."""
        ports: dict[str, tuple[int, ...]] = {
            GATEWAY_HTTP_CLUSTER: (self.settings.gateway_http_port,),
            GATEWAY_GRPC_CLUSTER: (self.settings.gateway_grpc_port,),
        }
        for layer in self.layers:
            ports[layer.name] = self.settings.layer_ports(layer)
            if layer.serves_http:
                ports[layer.http_cluster] = (self.settings.layer_http_port(layer),)
        return ports

    def render_envoy_config(self) -> Path:
        descriptor = PROJECT_ROOT / "gen" / "descriptor.binpb"
        if not descriptor.is_file():
            raise MeshError(f"{descriptor} not found: run scripts/gen.sh")
        path = self.home / "envoy.yaml"
        path.write_text(
            envoy_config.render(
                ENVOY_TEMPLATE,
                listener_port=self.settings.gateway_port,
                admin_port=self.settings.envoy_admin_port,
                cluster_ports=self.envoy_cluster_ports(),
                base_dir=PROJECT_ROOT,
                # Layer packages in the descriptor whose layer this mesh does not run.
                idle_clusters=set(envoy_config.cluster_names(ENVOY_TEMPLATE))
                - set(self.envoy_cluster_ports()),
                cors_origins=self.settings.effective_cors_origins,
            )
        )
        return path

    def _envoy(self) -> Component:
        gateway, admin = self.settings.gateway_port, self.settings.envoy_admin_port
        discovered = envoy_config.discovered_filters(ENVOY_TEMPLATE)
        command = [
            str(binaries.envoy()),
            "-c", str(self.home / "envoy.yaml"),
            "--concurrency", "1",
            # Several Envoys on one host (parallel test meshes) need distinct shared memory.
            "--use-dynamic-base-id",
            "--log-level", "info" if self.settings.log_level.lower() == "debug" else "warning",
            # The access log reaches its file within a second, not the default ten.
            "--file-flush-interval-msec", "1000",
        ]  # fmt: skip
        return Component(
            name="envoy",
            program=self._program("envoy", command, 900, stopwaitsecs=5),
            address=f"{LOOPBACK}:{gateway} (admin {admin})",
            ports={"gateway": gateway, "admin": admin},
            ready=probes.all_of(
                lambda: probes.http_status(f"http://{LOOPBACK}:{admin}/ready"),
                lambda: probes.envoy_filters_configured(admin, discovered),
                lambda: probes.http_status(f"http://{LOOPBACK}:{gateway}/health"),
            ),
            # Started with the layers (its startup overlaps theirs); ready once they are.
            stage=1,
            prepare=self.render_envoy_config,
        )
