"""The compatible APIs' HTTP app, served by every L04 process on L04's HTTP port."""

from __future__ import annotations

from starlette.applications import Starlette

from services.l04_models.compat.endpoints import CompatEndpoints
from services.l04_models.compat.models_client import ModelsClient


def compat_app(models: ModelsClient) -> Starlette:
    return Starlette(routes=CompatEndpoints(models).routes())
