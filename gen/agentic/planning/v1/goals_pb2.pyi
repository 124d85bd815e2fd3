import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GoalStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GOAL_STATUS_UNSPECIFIED: _ClassVar[GoalStatus]
    GOAL_STATUS_PLANNING: _ClassVar[GoalStatus]
    GOAL_STATUS_RUNNING: _ClassVar[GoalStatus]
    GOAL_STATUS_WAITING_APPROVAL: _ClassVar[GoalStatus]
    GOAL_STATUS_COMPLETED: _ClassVar[GoalStatus]
    GOAL_STATUS_FAILED: _ClassVar[GoalStatus]
    GOAL_STATUS_CANCELLED: _ClassVar[GoalStatus]

class TaskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATE_UNSPECIFIED: _ClassVar[TaskState]
    TASK_STATE_PENDING: _ClassVar[TaskState]
    TASK_STATE_RUNNING: _ClassVar[TaskState]
    TASK_STATE_COMPLETED: _ClassVar[TaskState]
    TASK_STATE_FAILED: _ClassVar[TaskState]
    TASK_STATE_SKIPPED: _ClassVar[TaskState]
GOAL_STATUS_UNSPECIFIED: GoalStatus
GOAL_STATUS_PLANNING: GoalStatus
GOAL_STATUS_RUNNING: GoalStatus
GOAL_STATUS_WAITING_APPROVAL: GoalStatus
GOAL_STATUS_COMPLETED: GoalStatus
GOAL_STATUS_FAILED: GoalStatus
GOAL_STATUS_CANCELLED: GoalStatus
TASK_STATE_UNSPECIFIED: TaskState
TASK_STATE_PENDING: TaskState
TASK_STATE_RUNNING: TaskState
TASK_STATE_COMPLETED: TaskState
TASK_STATE_FAILED: TaskState
TASK_STATE_SKIPPED: TaskState

class Constraints(_message.Message):
    __slots__ = ("token_budget", "wall_time_limit", "max_parallelism", "allowed_tools", "forbidden_tools", "require_approval", "max_task_attempts", "fresh_plan")
    TOKEN_BUDGET_FIELD_NUMBER: _ClassVar[int]
    WALL_TIME_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MAX_PARALLELISM_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_TOOLS_FIELD_NUMBER: _ClassVar[int]
    FORBIDDEN_TOOLS_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    MAX_TASK_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    FRESH_PLAN_FIELD_NUMBER: _ClassVar[int]
    token_budget: int
    wall_time_limit: _duration_pb2.Duration
    max_parallelism: int
    allowed_tools: _containers.RepeatedScalarFieldContainer[str]
    forbidden_tools: _containers.RepeatedScalarFieldContainer[str]
    require_approval: bool
    max_task_attempts: int
    fresh_plan: bool
    def __init__(self, token_budget: _Optional[int] = ..., wall_time_limit: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_parallelism: _Optional[int] = ..., allowed_tools: _Optional[_Iterable[str]] = ..., forbidden_tools: _Optional[_Iterable[str]] = ..., require_approval: _Optional[bool] = ..., max_task_attempts: _Optional[int] = ..., fresh_plan: _Optional[bool] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("id", "description", "role", "skills", "tools", "dependencies", "acceptance_criteria", "state", "output", "reason", "attempts", "agent")
    ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    DEPENDENCIES_FIELD_NUMBER: _ClassVar[int]
    ACCEPTANCE_CRITERIA_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    description: str
    role: str
    skills: _containers.RepeatedScalarFieldContainer[str]
    tools: _containers.RepeatedScalarFieldContainer[str]
    dependencies: _containers.RepeatedScalarFieldContainer[str]
    acceptance_criteria: _containers.RepeatedScalarFieldContainer[str]
    state: TaskState
    output: str
    reason: str
    attempts: int
    agent: str
    def __init__(self, id: _Optional[str] = ..., description: _Optional[str] = ..., role: _Optional[str] = ..., skills: _Optional[_Iterable[str]] = ..., tools: _Optional[_Iterable[str]] = ..., dependencies: _Optional[_Iterable[str]] = ..., acceptance_criteria: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[TaskState, str]] = ..., output: _Optional[str] = ..., reason: _Optional[str] = ..., attempts: _Optional[int] = ..., agent: _Optional[str] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("tokens", "planning_calls")
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    PLANNING_CALLS_FIELD_NUMBER: _ClassVar[int]
    tokens: int
    planning_calls: int
    def __init__(self, tokens: _Optional[int] = ..., planning_calls: _Optional[int] = ...) -> None: ...

class Goal(_message.Message):
    __slots__ = ("name", "goal", "constraints", "status", "tasks", "result", "reason", "plan_problems", "usage", "owner", "create_time", "update_time", "version", "plan_origin", "approval")
    NAME_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PLAN_PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PLAN_ORIGIN_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    goal: str
    constraints: Constraints
    status: GoalStatus
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    result: str
    reason: str
    plan_problems: _containers.RepeatedScalarFieldContainer[str]
    usage: Usage
    owner: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    version: int
    plan_origin: PlanOrigin
    approval: str
    def __init__(self, name: _Optional[str] = ..., goal: _Optional[str] = ..., constraints: _Optional[_Union[Constraints, _Mapping]] = ..., status: _Optional[_Union[GoalStatus, str]] = ..., tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., result: _Optional[str] = ..., reason: _Optional[str] = ..., plan_problems: _Optional[_Iterable[str]] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., owner: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., plan_origin: _Optional[_Union[PlanOrigin, _Mapping]] = ..., approval: _Optional[str] = ...) -> None: ...

class PlanOrigin(_message.Message):
    __slots__ = ("reused_from", "similarity", "reason")
    REUSED_FROM_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    reused_from: str
    similarity: float
    reason: str
    def __init__(self, reused_from: _Optional[str] = ..., similarity: _Optional[float] = ..., reason: _Optional[str] = ...) -> None: ...

class CreateGoalRequest(_message.Message):
    __slots__ = ("goal", "constraints", "goal_id")
    GOAL_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    GOAL_ID_FIELD_NUMBER: _ClassVar[int]
    goal: str
    constraints: Constraints
    goal_id: str
    def __init__(self, goal: _Optional[str] = ..., constraints: _Optional[_Union[Constraints, _Mapping]] = ..., goal_id: _Optional[str] = ...) -> None: ...

class CreateGoalResponse(_message.Message):
    __slots__ = ("goal",)
    GOAL_FIELD_NUMBER: _ClassVar[int]
    goal: Goal
    def __init__(self, goal: _Optional[_Union[Goal, _Mapping]] = ...) -> None: ...

class GetGoalRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetGoalResponse(_message.Message):
    __slots__ = ("goal",)
    GOAL_FIELD_NUMBER: _ClassVar[int]
    goal: Goal
    def __init__(self, goal: _Optional[_Union[Goal, _Mapping]] = ...) -> None: ...

class ListGoalsRequest(_message.Message):
    __slots__ = ("page_size", "status", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    status: GoalStatus
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., status: _Optional[_Union[GoalStatus, str]] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListGoalsResponse(_message.Message):
    __slots__ = ("goals", "next_page_token")
    GOALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    goals: _containers.RepeatedCompositeFieldContainer[Goal]
    next_page_token: str
    def __init__(self, goals: _Optional[_Iterable[_Union[Goal, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelGoalRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelGoalResponse(_message.Message):
    __slots__ = ("goal",)
    GOAL_FIELD_NUMBER: _ClassVar[int]
    goal: Goal
    def __init__(self, goal: _Optional[_Union[Goal, _Mapping]] = ...) -> None: ...

class ApproveGoalRequest(_message.Message):
    __slots__ = ("name", "comment")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    comment: str
    def __init__(self, name: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class ApproveGoalResponse(_message.Message):
    __slots__ = ("goal",)
    GOAL_FIELD_NUMBER: _ClassVar[int]
    goal: Goal
    def __init__(self, goal: _Optional[_Union[Goal, _Mapping]] = ...) -> None: ...

class WatchGoalRequest(_message.Message):
    __slots__ = ("name", "from_version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    from_version: int
    def __init__(self, name: _Optional[str] = ..., from_version: _Optional[int] = ...) -> None: ...

class WatchGoalResponse(_message.Message):
    __slots__ = ("version", "type", "data", "time")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    version: int
    type: str
    data: _struct_pb2.Struct
    time: _timestamp_pb2.Timestamp
    def __init__(self, version: _Optional[int] = ..., type: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
