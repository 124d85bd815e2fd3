"""Renders gateway/envoy.yaml from the descriptor set: ``python -m services.l09_gateway.render``."""

from services.l09_gateway.render.envoy import build, render

__all__ = ["build", "render"]
