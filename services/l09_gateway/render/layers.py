"""Which layer serves which proto package: the one table the gateway routes by."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layer:
    name: str  # component and Envoy cluster name, e.g. "l01_data"
    port: int  # its default gRPC port (the launcher renders the mesh's own)
    timeout: str  # per-call route timeout for its unary RPCs


DEFAULT_TIMEOUT = "0.5s"

# DESIGN.md's table. LLM calls and planning (which calls LLMs) get longer route timeouts.
LAYERS: dict[str, Layer] = {
    "agentic.secrets.v1": Layer("l00_secrets", 8000, DEFAULT_TIMEOUT),
    "agentic.data.v1": Layer("l01_data", 8001, DEFAULT_TIMEOUT),
    "agentic.runtime.v1": Layer("l02_runtime", 8002, DEFAULT_TIMEOUT),
    "agentic.tools.v1": Layer("l03_tools", 8003, "30s"),
    "agentic.models.v1": Layer("l04_models", 8004, "120s"),
    "agentic.planning.v1": Layer("l05_planning", 8005, "120s"),
    "agentic.evaluation.v1": Layer("l06_evaluation", 8006, DEFAULT_TIMEOUT),
    "agentic.learning.v1": Layer("l07_learning", 8007, DEFAULT_TIMEOUT),
    "agentic.supervision.v1": Layer("l08_supervision", 8008, DEFAULT_TIMEOUT),
    "agentic.gateway.v1": Layer("l09_gateway_grpc", 8091, DEFAULT_TIMEOUT),
    "agentic.human.v1": Layer("l10_human", 8010, DEFAULT_TIMEOUT),
    "agentic.integration.v1": Layer("l11_integration", 8011, DEFAULT_TIMEOUT),
    "agentic.nl.v1": Layer("l12_nl", 8012, "120s"),
    "agentic.roles.v1": Layer("l13_roles", 8013, DEFAULT_TIMEOUT),
    "agentic.skills.v1": Layer("l14_skills", 8014, DEFAULT_TIMEOUT),
}


def layer_for(package: str) -> Layer:
    try:
        return LAYERS[package]
    except KeyError:
        raise ValueError(
            f"no layer serves package {package!r}: add it to services/l09_gateway/render/layers.py"
        ) from None
