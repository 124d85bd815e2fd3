"""The REST guard filter (services/l09_gateway/native/rest_guard.lua) and the tables it reads,
built from the descriptor set: each HTTP binding's path as a Lua pattern, its method and the
shape of its body, and which fields of the request messages are lists, maps or messages.

Why a Lua filter: Envoy's transcoder (1.40) has no option to refuse duplicate keys, unknown
fields or a single value where the JSON mapping wants an array (``request_validation_options``
covers unknown methods, unknown query parameters and body/path field collisions only), and by
the time a layer sees the request it is protobuf, where none of them can be told apart from a
well-formed body. So
the check sits at the edge, just before the transcoder, for every layer at once. It also
answers a known path with the wrong method (405 with ``allow``), which needs the same table of
bindings; the transcoder would say 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from envoy.config.core.v3 import base_pb2
from envoy.extensions.filters.http.lua.v3 import lua_pb2
from google.protobuf import descriptor_pb2

from services.l09_gateway.descriptor import HttpBinding, Method, Surface
from services.l09_gateway.native import identity
from services.l09_gateway.native.identity import lua_string

_SCRIPT = resources.files(identity.__package__).joinpath("rest_guard.lua").read_text()

# Bodies nested deeper are left to the transcoder, which refuses 98 levels and more.
MAX_SCAN_DEPTH = 128

_REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
_MESSAGE = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
# Well-known types have JSON forms of their own (Struct: any JSON; Timestamp: a string ...).
_OWN_JSON_FORM = "google."
_LUA_MAGIC = re.compile(r"([%^$().\[\]*+\-?])")
_VARIABLE = re.compile(r"\{[^}=]+(?:=([^}]*))?\}")


@dataclass(frozen=True)
class Shape:
    """What JSON a field (or a whole body) takes: a message's fields, a list or a map (of
    ``message`` values, if any), or any JSON (``free``)."""

    kind: str  # "message", "list", "map", "free"
    message: str | None = None


FREE = Shape("free")


def custom_verb(template: str) -> str:
    """The template's custom verb (``"append"`` in ``/v1/streams/{stream_id}:append``) or ""."""
    depth, verb_at = 0, len(template)
    for index, char in enumerate(template):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == ":" and depth == 0:
            verb_at = index + 1
    return template[verb_at:]


def lua_pattern(template: str) -> str:
    """A Lua pattern matching the paths of a ``google.api.http`` template."""
    verb = custom_verb(template)
    path = template[: len(template) - len(verb) - 1] if verb else template
    verb = f":{verb}" if verb else ""
    path = _VARIABLE.sub(lambda found: found.group(1) or "*", path)
    segments = []
    for segment in path.split("/")[1:]:
        if segment == "*":
            segments.append("/[^/]+")
        elif segment == "**":
            segments.append("/.*")
        else:
            segments.append("/" + _LUA_MAGIC.sub(r"%\1", segment))
    return "^" + "".join(segments) + _LUA_MAGIC.sub(r"%\1", verb) + "$"


class _Messages:
    """The fields of the request messages (and of the messages in them), by message name."""

    def __init__(self, surface: Surface) -> None:
        self._all: dict[str, descriptor_pb2.DescriptorProto] = {}
        for file in surface.files.file:
            for message in file.message_type:
                self._index(message, file.package)
        self.shapes: dict[str, dict[str, Shape]] = {}
        self.aliases: dict[str, str] = {}

    def _index(self, message: descriptor_pb2.DescriptorProto, prefix: str) -> None:
        name = f"{prefix}.{message.name}"
        self._all[name] = message
        for nested in message.nested_type:
            self._index(nested, name)

    def field_shape(self, field: descriptor_pb2.FieldDescriptorProto) -> Shape:
        message = field.type_name.lstrip(".") if field.type == _MESSAGE else None
        if message and message.startswith(_OWN_JSON_FORM):
            message = None
        if field.label == _REPEATED:
            if message and self._all[message].options.map_entry:
                return Shape("map", self.field_shape(self._all[message].field[1]).message)
            return Shape("list", self.visit(message))
        if message:
            return Shape("message", self.visit(message))
        return FREE

    def visit(self, name: str | None) -> str | None:
        """Records the message's fields (once) and returns its name."""
        if name is None or name in self.shapes:
            return name
        fields: dict[str, Shape] = {}
        self.shapes[name] = fields
        for field in self._all[name].field:
            if field.json_name and field.json_name != field.name:
                self.aliases[field.json_name] = field.name
            fields[field.name] = self.field_shape(field)
        return name

    def body_shape(self, method: Method, binding: HttpBinding) -> Shape | None:
        """None: the binding takes no body."""
        if not binding.body:
            return None
        if binding.body == "*":
            return Shape("message", self.visit(method.input_type))
        self.visit(method.input_type)
        for field in self._all[method.input_type].field:
            if field.name == binding.body:
                return self.field_shape(field)
        raise ValueError(f"{method.rpc}: no body field {binding.body!r}")


def _lua_shape(shape: Shape | None) -> str:
    if shape is None:
        return "false"
    if shape == FREE:
        return "FREE"  # one table for every scalar field
    message = lua_string(shape.message) if shape.message else "false"
    return f"{{kind = {lua_string(shape.kind)}, message = {message}}}"


def source(surface: Surface) -> str:
    """The script with its tables, as Envoy runs it."""
    messages = _Messages(surface)
    bindings, custom_verbs = [], set()
    for method in surface.methods:
        for binding in method.http:
            shape = _lua_shape(messages.body_shape(method, binding))
            verb = lua_string(binding.verb.upper())
            pattern = lua_string(lua_pattern(binding.template))
            custom = custom_verb(binding.template)
            if custom:
                custom_verbs.add(f"[{lua_string(custom)}] = true")
            ends_in_verb = "true" if custom else "false"
            bindings.append(f"  {{{verb}, {pattern}, {shape}, {ends_in_verb}}},\n")
    tables = []
    for name, fields in sorted(messages.shapes.items()):
        entries = ", ".join(f"[{lua_string(k)}] = {_lua_shape(v)}" for k, v in fields.items())
        tables.append(f"  [{lua_string(name)}] = {{{entries}}},\n")
    aliases = ", ".join(
        f"[{lua_string(k)}] = {lua_string(v)}" for k, v in sorted(messages.aliases.items())
    )
    return (
        'local FREE = {kind = "free", message = false}\n'
        "local BINDINGS = {\n" + "".join(bindings) + "}\n"
        "local MESSAGES = {\n" + "".join(tables) + "}\n"
        f"local ALIASES = {{{aliases}}}\n"
        f"local CUSTOM_VERBS = {{{', '.join(sorted(custom_verbs))}}}\n"
        f"local MAX_DEPTH = {MAX_SCAN_DEPTH}\n" + _SCRIPT
    )


def config(surface: Surface) -> lua_pb2.Lua:
    return lua_pb2.Lua(default_source_code=base_pb2.DataSource(inline_string=source(surface)))
