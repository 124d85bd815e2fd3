"""The layers of the mesh: the one table that says which exist and how each is reached.

Everything else is derived from it: the launcher's components and port settings, Envoy's
clusters and route timeouts, the channel factory's targets, the error ranges and the
README's layer table (checked by a test). Adding a layer is its proto, its package under
``services/``, and one row here with ``launched=True`` once its ``__main__`` serves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# Route timeout of a unary RPC unless its layer's row says otherwise: every non-LLM API
# answers within 500 ms at p99.
DEFAULT_TIMEOUT_SECONDS = 0.5

# Ports are 8000 + the layer's number; L09 is Envoy, whose own gRPC API (ext_authz, rate
# limits) is served by the L09 process on this port.
BASE_PORT = 8000
GATEWAY_PROCESS_GRPC_PORT = 8091
# A layer run as several processes: process n (from 0) listens on its port + n * this
# (L04's second process on 8204), clear of the layers' HTTP ports (port + 100).
PROCESS_PORT_STEP = 200


@dataclass(frozen=True)
class Layer:
    """One row of the table."""

    number: int  # 0..14
    slug: str  # the part after "lNN_": "data" -> component "l01_data", package services.l01_data
    package: str  # proto package, e.g. "agentic.data.v1"
    title: str  # for people: "Data"
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS  # route timeout of its unary RPCs
    launched: bool = False  # the launcher starts it (`python -m services.<name>`)
    database: bool = False  # it is given DATABASE_URL (only L01 talks to PostgreSQL)
    workflows: bool = False  # it runs Temporal workflows: given TEMPORAL_ADDRESS
    # It calls the mesh on its callers' behalf, so the gateway hands it their own credential
    # (CALLER_AUTHORIZATION_HEADER) besides the service token.
    acts_for_caller: bool = False
    # A path prefix it also serves over plain HTTP (on ``http_port``), routed by Envoy as is:
    # the MCP endpoint "/mcp" of L12.
    http_path: str = ""
    # It serves the OpenAI- and Anthropic-compatible APIs (kit/compat_paths.py) over plain
    # HTTP on ``http_port``, every process on that one port; Envoy routes them there once the
    # gateway admitted the caller as the RPC each path maps to: L04.
    compat_apis: bool = False
    # Processes the launcher starts, each on its own port (``process_ports``), all listed in
    # its Envoy cluster and in its channel target. More than one only for a layer that keeps
    # no state of its own between calls (L04: limits, budgets, usage and caches are in
    # Redis and L01), since consecutive calls may reach different processes.
    processes: int = 1

    @property
    def name(self) -> str:
        """Component, Envoy cluster and Python package name, e.g. ``l01_data``."""
        return f"l{self.number:02d}_{self.slug}"

    @property
    def key(self) -> str:
        """Short key, e.g. ``l01``: ``AGENTIC_L01_TARGET``, ``AGENTIC_L01_PORT``."""
        return f"l{self.number:02d}"

    @property
    def env_prefix(self) -> str:
        """Prefix of the layer's own settings, e.g. ``L01`` for ``L01_PORT``."""
        return self.key.upper()

    @property
    def module(self) -> str:
        return f"services.{self.name}"

    @property
    def port(self) -> int:
        """Its default gRPC port."""
        return BASE_PORT + self.number

    @property
    def process_ports(self) -> tuple[int, ...]:
        """The default gRPC port of each of its processes, the first being ``port``."""
        return tuple(self.port + PROCESS_PORT_STEP * n for n in range(self.processes))

    def process_port_setting(self, index: int) -> str:
        """The launcher setting holding the port of its process ``index`` (from 0):
        ``port_setting`` for the first, ``l04_process1_port`` for the second."""
        return self.port_setting if index == 0 else f"{self.key}_process{index}_port"

    @property
    def serves_http(self) -> bool:
        """It listens on an HTTP port besides gRPC (``http_path`` or ``compat_apis``)."""
        return bool(self.http_path) or self.compat_apis

    @property
    def http_port(self) -> int:
        """Its default HTTP port, when it ``serves_http``: 8112 for L12, 8104 for L04."""
        return self.port + 100

    @property
    def http_cluster(self) -> str:
        """Envoy's cluster for its HTTP port, e.g. ``l12_nl_http``."""
        return f"{self.name}_http"

    @property
    def http_port_setting(self) -> str:
        """The launcher setting holding its HTTP port (``AGENTIC_L12_HTTP_PORT``)."""
        return f"{self.key}_http_port"

    @property
    def port_setting(self) -> str:
        """The launcher setting holding its port in a mesh (``AGENTIC_L01_PORT``)."""
        return f"{self.key}_port"

    @property
    def domain(self) -> str:
        """The ``google.rpc.ErrorInfo`` domain of its errors, e.g. ``data.agentic``."""
        return f"{self.package.split('.')[1]}.agentic"

    @property
    def error_range(self) -> range:
        """Its platform error codes: E1000-E1999 for L01 (L00: E0000-E0999)."""
        return range(self.number * 1000, self.number * 1000 + 1000)

    @property
    def timeout(self) -> str:
        """The route timeout as Envoy writes durations, e.g. ``0.5s``."""
        return f"{self.timeout_seconds:g}s"


# The mesh. LLM calls and the layers that wait on them get longer route timeouts.
LAYERS: tuple[Layer, ...] = (
    Layer(0, "secrets", "agentic.secrets.v1", "Secrets", launched=True),
    Layer(1, "data", "agentic.data.v1", "Data", launched=True, database=True),
    # L02: RunAgent starts a workflow on Temporal.
    Layer(
        2,
        "runtime",
        "agentic.runtime.v1",
        "Runtime",
        timeout_seconds=10,
        launched=True,
        workflows=True,
    ),
    Layer(3, "tools", "agentic.tools.v1", "Tools", timeout_seconds=30, launched=True),
    # L04: two processes, so that its Python per-call work runs on both cores; the
    # compatible APIs are served by both.
    Layer(
        4,
        "models",
        "agentic.models.v1",
        "Models",
        timeout_seconds=120,
        launched=True,
        processes=2,
        compat_apis=True,
    ),
    # L05: CreateGoal starts a goal workflow on Temporal.
    Layer(
        5,
        "planning",
        "agentic.planning.v1",
        "Planning",
        timeout_seconds=120,
        launched=True,
        workflows=True,
    ),
    Layer(6, "evaluation", "agentic.evaluation.v1", "Evaluation"),
    Layer(7, "learning", "agentic.learning.v1", "Learning"),
    Layer(8, "supervision", "agentic.supervision.v1", "Supervision", launched=True),
    Layer(9, "gateway", "agentic.gateway.v1", "Gateway"),
    Layer(10, "human", "agentic.human.v1", "Human"),
    Layer(11, "integration", "agentic.integration.v1", "Integration"),
    Layer(
        12,
        "nl",
        "agentic.nl.v1",
        "NL / MCP",
        timeout_seconds=120,
        launched=True,
        acts_for_caller=True,
        http_path="/mcp",
    ),
    Layer(13, "roles", "agentic.roles.v1", "Roles", launched=True),
    Layer(14, "skills", "agentic.skills.v1", "Skills", launched=True),
)

GATEWAY = LAYERS[9]


def launched_layers() -> Iterator[Layer]:
    """The Python layer processes the launcher starts (L09 is started as the gateway)."""
    return (layer for layer in LAYERS if layer.launched and layer is not GATEWAY)


def caller_rpc_prefixes() -> tuple[str, ...]:
    """``pkg.`` prefixes of the RPCs whose layer acts for its caller (``agentic.nl.v1.``)."""
    return tuple(f"{layer.package}." for layer in LAYERS if layer.acts_for_caller)


def layer_by_key(key: str) -> Layer:
    """``l01``, ``L01`` or ``l01_data`` -> its row."""
    wanted = key.lower()[:3]
    for layer in LAYERS:
        if layer.key == wanted:
            return layer
    raise KeyError(f"no layer {key!r}: the layers are in services/kit/layers.py")


def layer_for_package(package: str) -> Layer:
    """The layer serving a proto package, e.g. ``agentic.data.v1``."""
    for layer in LAYERS:
        if layer.package == package:
            return layer
    raise KeyError(f"no layer serves package {package!r}: add its row to services/kit/layers.py")
