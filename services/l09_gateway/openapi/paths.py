"""HTTP rule templates as OpenAPI paths: every fixed segment literal, one parameter per wildcard.

``/v1/{name=agents/*/runs/*}`` becomes ``/v1/agents/{agent}/runs/{run}``: a generated client
then sends ``/v1/agents/a1/runs/r1``, which the transcoder matches and binds to ``name`` as
``agents/a1/runs/r1``. Each wildcard's parameter is named for the collection segment before
it (singular, snake_case), so two templates of the same shape give one OpenAPI path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VARIABLE = re.compile(r"\{([^}=]+)(?:=([^}]*))?\}")
_CAMEL_HUMP = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True)
class PathParameter:
    """One ``{parameter}`` of an OpenAPI path and the request field it fills."""

    name: str  # in the OpenAPI path, e.g. "agent"
    field: str  # the request field the template binds, e.g. "name"
    whole: bool  # the parameter is the field's whole value (a plain ``{field}`` variable)


@dataclass(frozen=True)
class OpenApiPath:
    path: str  # e.g. "/v1/agents/{agent}/runs/{run}"
    parameters: tuple[PathParameter, ...]

    @property
    def fields(self) -> frozenset[str]:
        """Top-level request fields the path binds: not sent in the query or the body."""
        return frozenset(parameter.field.split(".", 1)[0] for parameter in self.parameters)


def _singular_snake(segment: str) -> str:
    """``vectorCollections`` -> ``vector_collection``; ``policies`` -> ``policy``."""
    snake = _CAMEL_HUMP.sub("_", segment).lower()
    if snake.endswith("ies"):
        return snake[:-3] + "y"
    if snake.endswith("s") and not snake.endswith("ss"):
        return snake[:-1]
    return f"{snake}_id"


def expand(template: str) -> OpenApiPath:
    """The OpenAPI path of an HTTP rule template; ``**`` wildcards are refused, since no
    OpenAPI path parameter may span segments."""
    parameters: list[PathParameter] = []

    def replace(match: re.Match[str]) -> str:
        field, pattern = match.group(1), match.group(2)
        if pattern is None or pattern == "*":
            parameters.append(PathParameter(field.replace(".", "_"), field, whole=True))
            return "{" + parameters[-1].name + "}"
        segments = []
        for index, segment in enumerate(pattern.split("/")):
            if segment == "**":
                raise ValueError(f"{template}: '**' cannot be an OpenAPI path parameter")
            if segment != "*":
                segments.append(segment)
                continue
            before = pattern.split("/")[index - 1] if index else field
            parameters.append(PathParameter(_singular_snake(before), field, whole=False))
            segments.append("{" + parameters[-1].name + "}")
        return "/".join(segments)

    path = _VARIABLE.sub(replace, template)
    names = [parameter.name for parameter in parameters]
    if len(set(names)) != len(names):
        raise ValueError(f"{template}: two wildcards would share the parameter name {names}")
    return OpenApiPath(path, tuple(parameters))


def shape(path: str) -> str:
    """The path with every parameter name blanked: OpenAPI treats equal shapes as one path."""
    return _VARIABLE.sub("{}", path)
