import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RoleState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_STATE_UNSPECIFIED: _ClassVar[RoleState]
    ROLE_STATE_ACTIVE: _ClassVar[RoleState]
    ROLE_STATE_DEPRECATED: _ClassVar[RoleState]
ROLE_STATE_UNSPECIFIED: RoleState
ROLE_STATE_ACTIVE: RoleState
ROLE_STATE_DEPRECATED: RoleState

class Role(_message.Message):
    __slots__ = ("name", "title", "description", "responsibilities", "core_skills", "preferred_tools", "keywords", "token_budget", "layers", "prompt", "state", "revision", "update_time", "deprecation_reason", "examples")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBILITIES_FIELD_NUMBER: _ClassVar[int]
    CORE_SKILLS_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_TOOLS_FIELD_NUMBER: _ClassVar[int]
    KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_BUDGET_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DEPRECATION_REASON_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    name: str
    title: str
    description: str
    responsibilities: _containers.RepeatedScalarFieldContainer[str]
    core_skills: _containers.RepeatedScalarFieldContainer[str]
    preferred_tools: _containers.RepeatedScalarFieldContainer[str]
    keywords: _containers.RepeatedScalarFieldContainer[str]
    token_budget: int
    layers: _containers.RepeatedScalarFieldContainer[str]
    prompt: str
    state: RoleState
    revision: int
    update_time: _timestamp_pb2.Timestamp
    deprecation_reason: str
    examples: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., responsibilities: _Optional[_Iterable[str]] = ..., core_skills: _Optional[_Iterable[str]] = ..., preferred_tools: _Optional[_Iterable[str]] = ..., keywords: _Optional[_Iterable[str]] = ..., token_budget: _Optional[int] = ..., layers: _Optional[_Iterable[str]] = ..., prompt: _Optional[str] = ..., state: _Optional[_Union[RoleState, str]] = ..., revision: _Optional[int] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deprecation_reason: _Optional[str] = ..., examples: _Optional[_Iterable[str]] = ...) -> None: ...

class ListRolesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "show_deprecated")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SHOW_DEPRECATED_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    show_deprecated: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., show_deprecated: _Optional[bool] = ...) -> None: ...

class ListRolesResponse(_message.Message):
    __slots__ = ("roles", "next_page_token")
    ROLES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    roles: _containers.RepeatedCompositeFieldContainer[Role]
    next_page_token: str
    def __init__(self, roles: _Optional[_Iterable[_Union[Role, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetRoleRequest(_message.Message):
    __slots__ = ("name", "revision")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision: int
    def __init__(self, name: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...

class GetRoleResponse(_message.Message):
    __slots__ = ("role",)
    ROLE_FIELD_NUMBER: _ClassVar[int]
    role: Role
    def __init__(self, role: _Optional[_Union[Role, _Mapping]] = ...) -> None: ...

class ListRoleRevisionsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListRoleRevisionsResponse(_message.Message):
    __slots__ = ("revisions",)
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    revisions: _containers.RepeatedCompositeFieldContainer[Role]
    def __init__(self, revisions: _Optional[_Iterable[_Union[Role, _Mapping]]] = ...) -> None: ...

class CreateRoleRequest(_message.Message):
    __slots__ = ("role",)
    ROLE_FIELD_NUMBER: _ClassVar[int]
    role: Role
    def __init__(self, role: _Optional[_Union[Role, _Mapping]] = ...) -> None: ...

class CreateRoleResponse(_message.Message):
    __slots__ = ("role",)
    ROLE_FIELD_NUMBER: _ClassVar[int]
    role: Role
    def __init__(self, role: _Optional[_Union[Role, _Mapping]] = ...) -> None: ...

class UpdateRoleRequest(_message.Message):
    __slots__ = ("role", "expected_revision", "name")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    role: Role
    expected_revision: int
    name: str
    def __init__(self, role: _Optional[_Union[Role, _Mapping]] = ..., expected_revision: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class UpdateRoleResponse(_message.Message):
    __slots__ = ("role",)
    ROLE_FIELD_NUMBER: _ClassVar[int]
    role: Role
    def __init__(self, role: _Optional[_Union[Role, _Mapping]] = ...) -> None: ...

class DeprecateRoleRequest(_message.Message):
    __slots__ = ("name", "reason", "expected_revision")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    expected_revision: int
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class DeprecateRoleResponse(_message.Message):
    __slots__ = ("role",)
    ROLE_FIELD_NUMBER: _ClassVar[int]
    role: Role
    def __init__(self, role: _Optional[_Union[Role, _Mapping]] = ...) -> None: ...

class ClassifyTaskRequest(_message.Message):
    __slots__ = ("text", "limit")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    text: str
    limit: int
    def __init__(self, text: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class RoleMatch(_message.Message):
    __slots__ = ("name", "score", "reasons")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    score: float
    reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., score: _Optional[float] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class ClassifyTaskResponse(_message.Message):
    __slots__ = ("matches", "needs_oversight", "oversight_reasons")
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    NEEDS_OVERSIGHT_FIELD_NUMBER: _ClassVar[int]
    OVERSIGHT_REASONS_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[RoleMatch]
    needs_oversight: bool
    oversight_reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, matches: _Optional[_Iterable[_Union[RoleMatch, _Mapping]]] = ..., needs_oversight: _Optional[bool] = ..., oversight_reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class AssignRoleRequest(_message.Message):
    __slots__ = ("name", "agent_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    agent_id: str
    def __init__(self, name: _Optional[str] = ..., agent_id: _Optional[str] = ...) -> None: ...

class AssignRoleResponse(_message.Message):
    __slots__ = ("name", "agent_id", "role_revision", "event_position")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_REVISION_FIELD_NUMBER: _ClassVar[int]
    EVENT_POSITION_FIELD_NUMBER: _ClassVar[int]
    name: str
    agent_id: str
    role_revision: int
    event_position: int
    def __init__(self, name: _Optional[str] = ..., agent_id: _Optional[str] = ..., role_revision: _Optional[int] = ..., event_position: _Optional[int] = ...) -> None: ...

class BuildContextRequest(_message.Message):
    __slots__ = ("name", "task", "token_budget")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    TOKEN_BUDGET_FIELD_NUMBER: _ClassVar[int]
    name: str
    task: str
    token_budget: int
    def __init__(self, name: _Optional[str] = ..., task: _Optional[str] = ..., token_budget: _Optional[int] = ...) -> None: ...

class BuildContextResponse(_message.Message):
    __slots__ = ("context", "token_count", "token_budget", "truncated", "trimmed_sections")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_BUDGET_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    TRIMMED_SECTIONS_FIELD_NUMBER: _ClassVar[int]
    context: str
    token_count: int
    token_budget: int
    truncated: bool
    trimmed_sections: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, context: _Optional[str] = ..., token_count: _Optional[int] = ..., token_budget: _Optional[int] = ..., truncated: _Optional[bool] = ..., trimmed_sections: _Optional[_Iterable[str]] = ...) -> None: ...
