"""The ``agentic`` launcher: runs the whole mesh under supervisord (CLI and Python API)."""

from services.launcher.config import LauncherSettings
from services.launcher.errors import ComponentFailed, MeshError, MissingBinary, PortTaken
from services.launcher.mesh import ComponentStatus, Mesh
from services.launcher.ports import free_port

__all__ = [
    "ComponentFailed",
    "ComponentStatus",
    "LauncherSettings",
    "Mesh",
    "MeshError",
    "MissingBinary",
    "PortTaken",
    "free_port",
]
