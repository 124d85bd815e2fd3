import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SkillStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SKILL_STATUS_UNSPECIFIED: _ClassVar[SkillStatus]
    SKILL_STATUS_DRAFT: _ClassVar[SkillStatus]
    SKILL_STATUS_ACTIVE: _ClassVar[SkillStatus]
    SKILL_STATUS_DEPRECATED: _ClassVar[SkillStatus]
SKILL_STATUS_UNSPECIFIED: SkillStatus
SKILL_STATUS_DRAFT: SkillStatus
SKILL_STATUS_ACTIVE: SkillStatus
SKILL_STATUS_DEPRECATED: SkillStatus

class SkillExample(_message.Message):
    __slots__ = ("input", "output")
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    input: str
    output: str
    def __init__(self, input: _Optional[str] = ..., output: _Optional[str] = ...) -> None: ...

class Skill(_message.Message):
    __slots__ = ("name", "version", "category", "description", "instructions", "required_tools", "roles", "parameters", "examples", "status", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_TOOLS_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    category: str
    description: str
    instructions: str
    required_tools: _containers.RepeatedScalarFieldContainer[str]
    roles: _containers.RepeatedScalarFieldContainer[str]
    parameters: _struct_pb2.Struct
    examples: _containers.RepeatedCompositeFieldContainer[SkillExample]
    status: SkillStatus
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., category: _Optional[str] = ..., description: _Optional[str] = ..., instructions: _Optional[str] = ..., required_tools: _Optional[_Iterable[str]] = ..., roles: _Optional[_Iterable[str]] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., examples: _Optional[_Iterable[_Union[SkillExample, _Mapping]]] = ..., status: _Optional[_Union[SkillStatus, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Violation(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ListSkillsRequest(_message.Message):
    __slots__ = ("category", "status", "page_size", "page_token")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    category: str
    status: SkillStatus
    page_size: int
    page_token: str
    def __init__(self, category: _Optional[str] = ..., status: _Optional[_Union[SkillStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSkillsResponse(_message.Message):
    __slots__ = ("skills", "next_page_token")
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    skills: _containers.RepeatedCompositeFieldContainer[Skill]
    next_page_token: str
    def __init__(self, skills: _Optional[_Iterable[_Union[Skill, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetSkillRequest(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class GetSkillResponse(_message.Message):
    __slots__ = ("skill",)
    SKILL_FIELD_NUMBER: _ClassVar[int]
    skill: Skill
    def __init__(self, skill: _Optional[_Union[Skill, _Mapping]] = ...) -> None: ...

class ListSkillVersionsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListSkillVersionsResponse(_message.Message):
    __slots__ = ("versions",)
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[Skill]
    def __init__(self, versions: _Optional[_Iterable[_Union[Skill, _Mapping]]] = ...) -> None: ...

class CreateSkillRequest(_message.Message):
    __slots__ = ("skill",)
    SKILL_FIELD_NUMBER: _ClassVar[int]
    skill: Skill
    def __init__(self, skill: _Optional[_Union[Skill, _Mapping]] = ...) -> None: ...

class CreateSkillResponse(_message.Message):
    __slots__ = ("skill",)
    SKILL_FIELD_NUMBER: _ClassVar[int]
    skill: Skill
    def __init__(self, skill: _Optional[_Union[Skill, _Mapping]] = ...) -> None: ...

class UpdateSkillRequest(_message.Message):
    __slots__ = ("skill", "expected_version", "name")
    SKILL_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    skill: Skill
    expected_version: str
    name: str
    def __init__(self, skill: _Optional[_Union[Skill, _Mapping]] = ..., expected_version: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class UpdateSkillResponse(_message.Message):
    __slots__ = ("skill",)
    SKILL_FIELD_NUMBER: _ClassVar[int]
    skill: Skill
    def __init__(self, skill: _Optional[_Union[Skill, _Mapping]] = ...) -> None: ...

class ValidateSkillRequest(_message.Message):
    __slots__ = ("skill",)
    SKILL_FIELD_NUMBER: _ClassVar[int]
    skill: Skill
    def __init__(self, skill: _Optional[_Union[Skill, _Mapping]] = ...) -> None: ...

class ValidateSkillResponse(_message.Message):
    __slots__ = ("valid", "violations")
    VALID_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    violations: _containers.RepeatedCompositeFieldContainer[Violation]
    def __init__(self, valid: _Optional[bool] = ..., violations: _Optional[_Iterable[_Union[Violation, _Mapping]]] = ...) -> None: ...

class SearchSkillsRequest(_message.Message):
    __slots__ = ("query", "limit", "category", "status")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    query: str
    limit: int
    category: str
    status: SkillStatus
    def __init__(self, query: _Optional[str] = ..., limit: _Optional[int] = ..., category: _Optional[str] = ..., status: _Optional[_Union[SkillStatus, str]] = ...) -> None: ...

class SkillMatch(_message.Message):
    __slots__ = ("name", "score", "version", "category", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    score: float
    version: str
    category: str
    description: str
    def __init__(self, name: _Optional[str] = ..., score: _Optional[float] = ..., version: _Optional[str] = ..., category: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class SearchSkillsResponse(_message.Message):
    __slots__ = ("matches",)
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[SkillMatch]
    def __init__(self, matches: _Optional[_Iterable[_Union[SkillMatch, _Mapping]]] = ...) -> None: ...

class AssignSkillsRequest(_message.Message):
    __slots__ = ("owner_kind", "owner_id", "skills")
    OWNER_KIND_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    owner_kind: str
    owner_id: str
    skills: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, owner_kind: _Optional[str] = ..., owner_id: _Optional[str] = ..., skills: _Optional[_Iterable[str]] = ...) -> None: ...

class SkillSet(_message.Message):
    __slots__ = ("owner_kind", "owner_id", "skills", "revision")
    OWNER_KIND_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    owner_kind: str
    owner_id: str
    skills: _containers.RepeatedScalarFieldContainer[str]
    revision: int
    def __init__(self, owner_kind: _Optional[str] = ..., owner_id: _Optional[str] = ..., skills: _Optional[_Iterable[str]] = ..., revision: _Optional[int] = ...) -> None: ...

class AssignSkillsResponse(_message.Message):
    __slots__ = ("skill_set",)
    SKILL_SET_FIELD_NUMBER: _ClassVar[int]
    skill_set: SkillSet
    def __init__(self, skill_set: _Optional[_Union[SkillSet, _Mapping]] = ...) -> None: ...

class GetSkillSetRequest(_message.Message):
    __slots__ = ("owner_kind", "owner_id")
    OWNER_KIND_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    owner_kind: str
    owner_id: str
    def __init__(self, owner_kind: _Optional[str] = ..., owner_id: _Optional[str] = ...) -> None: ...

class GetSkillSetResponse(_message.Message):
    __slots__ = ("skill_set",)
    SKILL_SET_FIELD_NUMBER: _ClassVar[int]
    skill_set: SkillSet
    def __init__(self, skill_set: _Optional[_Union[SkillSet, _Mapping]] = ...) -> None: ...

class PlanLoadingRequest(_message.Message):
    __slots__ = ("skills", "token_budget", "task")
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_BUDGET_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    skills: _containers.RepeatedScalarFieldContainer[str]
    token_budget: int
    task: str
    def __init__(self, skills: _Optional[_Iterable[str]] = ..., token_budget: _Optional[int] = ..., task: _Optional[str] = ...) -> None: ...

class PlannedSkill(_message.Message):
    __slots__ = ("name", "version", "tokens", "relevance", "text")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    RELEVANCE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    tokens: int
    relevance: float
    text: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., tokens: _Optional[int] = ..., relevance: _Optional[float] = ..., text: _Optional[str] = ...) -> None: ...

class PlanLoadingResponse(_message.Message):
    __slots__ = ("load", "dropped", "total_tokens", "token_budget")
    LOAD_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_BUDGET_FIELD_NUMBER: _ClassVar[int]
    load: _containers.RepeatedCompositeFieldContainer[PlannedSkill]
    dropped: _containers.RepeatedCompositeFieldContainer[PlannedSkill]
    total_tokens: int
    token_budget: int
    def __init__(self, load: _Optional[_Iterable[_Union[PlannedSkill, _Mapping]]] = ..., dropped: _Optional[_Iterable[_Union[PlannedSkill, _Mapping]]] = ..., total_tokens: _Optional[int] = ..., token_budget: _Optional[int] = ...) -> None: ...
