"""Failures the launcher reports in one line (plus a log tail where there is one)."""

from __future__ import annotations


class MeshError(Exception):
    """The mesh could not be brought up or controlled; the message says what to do."""


class MissingBinary(MeshError):
    """A component's executable is not installed."""


class PortTaken(MeshError):
    """Something outside this mesh listens on a port a component needs."""

    def __init__(self, component: str, port: int) -> None:
        super().__init__(
            f"{component}: port {port} on 127.0.0.1 is already in use by another process"
        )
        self.component = component
        self.port = port


class ComponentFailed(MeshError):
    """A component did not become ready; carries the end of its log."""

    def __init__(self, component: str, reason: str, log_tail: str = "") -> None:
        super().__init__(f"{component} failed to start: {reason}")
        self.component = component
        self.reason = reason
        self.log_tail = log_tail

    def __str__(self) -> str:
        text = super().__str__()
        if self.log_tail:
            text += f"\n--- last lines of the {self.component} log ---\n{self.log_tail}"
        return text
