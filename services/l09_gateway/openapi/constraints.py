"""What the layers enforce in code and the protos do not say, as JSON Schema keywords.

The protos carry what they can (``google.api.field_behavior``); the rest lives in the layers'
validation code, which the gateway may not import, so it is restated here: keys are full
proto names (``pkg.Message.field``) whose schema gets the keywords merged in, ``REQUIRED``
lists fields a request must carry, and ``SEGMENTS`` constrains the path parameters that carry
one segment of a resource name. A layer that changes a check updates its rows here; the
gateway's strict schemathesis test sends schema-valid requests to every operation and fails on
one that a layer refuses, which is what keeps this table true.

``SERVICE_CHECKED`` lists fields whose valid values no schema can state: tokens and versions
only an earlier answer gives, policy text in Cedar, names of things that must exist. Their
schema says so (``x-service-checked``), and a 400 that names one of them is not a refused
schema-valid request.
"""

from __future__ import annotations

from typing import Any

# A path parameter is one segment: no "/", and not "." or "..", which a client or Envoy would
# resolve away before the transcoder sees them.
SEGMENT_PATTERN = r"^(?!\.\.?$)[^/]+$"
# Envoy's transcoder leaves reserved characters percent-encoded in a path variable (a client
# sends "@" as "%40", the layer then sees "%40"): path parameters are offered without them.
RESERVED_IN_PATH = r"[!#$&'()*+,/:;=?@\[\]]"


def _text(low: int, high: int) -> dict[str, Any]:
    """A string of ``low``..``high`` characters that is not blank: the layers strip text
    (Python's idea of whitespace is wider than a pattern's), so it holds a letter or digit."""
    if not low:
        return {"maxLength": high}
    return {"minLength": low, "maxLength": high, "pattern": r"[A-Za-z0-9]"}


def _range(low: float, high: float) -> dict[str, Any]:
    return {"minimum": low, "maximum": high}


def _id(pattern: str) -> dict[str, Any]:
    return {"pattern": pattern}


# Text L01 must store: PostgreSQL keeps no NUL character, so the layers refuse it.
NO_NUL: dict[str, Any] = {"not": {"pattern": "\u0000"}}

# Identifiers as the layers' validators define them.
STREAM_ID = _id(r"^[A-Za-z0-9_.:@-]{1,256}$")
# A principal or layer name in a secret's access policy: no comma, control or space.
POLICY_ENTRY = _id(
    "^[^,\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]{1,256}$"
)
EVENT_TYPE = _id(r"^[A-Za-z][A-Za-z0-9_.:-]{0,255}$")
COLLECTION_ID = _id(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
DOCUMENT_ID = _id(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,255}$")
SECRET_NAME = _id(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$")
# L02 takes 1-64 of [A-Za-z0-9_-], but keeps an agent as an L01 document, whose id may not
# start with "-": such an id fails inside L02 (a 500), so the document does not offer it.
RUNTIME_ID = _id(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")
TOOL_NAME = _id(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
ROLE_NAME = _id(r"^[a-z][a-z0-9-]{0,63}$")
SKILL_NAME = _id(r"^[a-z][a-z0-9_]{0,63}$")
OWNER_ID = _id(r"^[A-Za-z0-9_.@-]{1,200}$")
TENANT_ID = _id(r"^[A-Za-z0-9@._:+/|-]{1,256}$")
SEMVER = _id(r"^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$")
SECRET_VERSION = _id(r"^([1-9][0-9]{0,8}|latest)$")
SECRET_VERSION_NUMBER = _id(r"^[1-9][0-9]{0,8}$")

SEGMENTS: dict[str, dict[str, Any]] = {
    "collection": COLLECTION_ID,
    "document": DOCUMENT_ID,
    "vector_collection": COLLECTION_ID,
    "agent": RUNTIME_ID,
    "run": RUNTIME_ID,
    "goal": RUNTIME_ID,
    "tool": TOOL_NAME,
    "execution": RUNTIME_ID,
}

_D, _R, _S, _T = "agentic.data.v1", "agentic.runtime.v1", "agentic.secrets.v1", "agentic.tools.v1"
_M, _P, _V = "agentic.models.v1", "agentic.planning.v1", "agentic.supervision.v1"
_N, _O, _K = "agentic.nl.v1", "agentic.roles.v1", "agentic.skills.v1"

FIELDS: dict[str, dict[str, Any]] = {
    # L01 data
    f"{_D}.AppendEventsRequest.stream_id": STREAM_ID,
    f"{_D}.AppendEventsRequest.expected_version": {"pattern": r"^(-1|[0-9]{1,18})$"},
    f"{_D}.AppendEventsRequest.events": {"minItems": 1, "maxItems": 1000},
    f"{_D}.NewEvent.id": {
        "format": "uuid",
        "pattern": r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$",
    },
    f"{_D}.NewEvent.type": EVENT_TYPE,
    f"{_D}.DeleteStreamRequest.stream_id": STREAM_ID,
    f"{_D}.DeleteStreamRequest.expected_version": {"pattern": r"^[0-9]{1,18}$"},
    f"{_D}.GetStreamRequest.stream_id": STREAM_ID,
    f"{_D}.ReadStreamRequest.stream_id": STREAM_ID,
    # -1 (from the last event) only when reading backwards: the document offers >= 0.
    f"{_D}.ReadStreamRequest.from_version": {"pattern": r"^[0-9]{1,18}$"},
    f"{_D}.ReadStreamRequest.max_count": _range(0, 1000),
    f"{_D}.ReadAllRequest.from_position": {"pattern": r"^[0-9]{1,18}$"},
    f"{_D}.ReadAllRequest.max_count": _range(0, 1000),
    f"{_D}.ReadAllRequest.type_prefix": {"maxLength": 256},
    f"{_D}.SubscribeAllRequest.from_position": {"pattern": r"^[0-9]{1,18}$"},
    f"{_D}.SubscribeAllRequest.type_prefix": {"maxLength": 256},
    f"{_D}.UpdateStreamMetadataRequest.stream_id": STREAM_ID,
    f"{_D}.StreamMetadata.max_count": {"pattern": r"^[0-9]{1,18}$"},
    f"{_D}.StreamMetadata.max_age": {"pattern": r"^[0-9]{1,11}(\.[0-9]{1,9})?s$"},
    f"{_D}.SaveSnapshotRequest.stream_id": STREAM_ID,
    f"{_D}.SaveSnapshotRequest.version": {"pattern": r"^[0-9]{1,18}$"},
    f"{_D}.GetSnapshotRequest.stream_id": STREAM_ID,
    f"{_D}.CreateConsumerGroupRequest.group_id": STREAM_ID,
    f"{_D}.CreateConsumerGroupRequest.type_prefix": {"maxLength": 256},
    f"{_D}.CreateConsumerGroupRequest.start_position": {"pattern": r"^[0-9]{1,18}$"},
    f"{_D}.AckConsumerGroupRequest.group_id": STREAM_ID,
    f"{_D}.AckConsumerGroupRequest.position": {"pattern": r"^[0-9]{1,18}$"},
    f"{_D}.DeleteConsumerGroupRequest.group_id": STREAM_ID,
    f"{_D}.GetConsumerGroupRequest.group_id": STREAM_ID,
    f"{_D}.SubscribeConsumerGroupRequest.group_id": STREAM_ID,
    f"{_D}.SubscribeConsumerGroupRequest.max_batch_size": _range(0, 1000),
    f"{_D}.ListConsumerGroupsRequest.page_size": _range(0, 1000),
    f"{_D}.ListCollectionsRequest.page_size": _range(0, 1000),
    f"{_D}.CreateCollectionRequest.collection_id": COLLECTION_ID,
    f"{_D}.VectorCollection.dimension": _range(1, 2000),
    # 0 takes the default; else 2-100. ef_construction depends on hnsw_m (service-checked).
    f"{_D}.VectorCollection.hnsw_m": {**_range(0, 100), "not": {"enum": [1]}},
    f"{_D}.VectorCollection.hnsw_ef_construction": _range(0, 1000),
    # Unspecified is no distance: a collection has one (and answers always name it).
    f"{_D}.VectorCollection.distance": {"not": {"enum": ["DISTANCE_UNSPECIFIED"]}},
    f"{_D}.DeleteVectorsRequest.ids": {
        "minItems": 1,
        "maxItems": 1000,
        "items": {**DOCUMENT_ID, "type": "string"},
    },
    f"{_D}.UpsertVectorsRequest.vectors": {"minItems": 1, "maxItems": 1000},
    f"{_D}.Vector.id": DOCUMENT_ID,
    f"{_D}.Vector.values": {"minItems": 1, "maxItems": 2000},
    f"{_D}.GetVectorRequest.id": DOCUMENT_ID,
    f"{_D}.SearchVectorsRequest.vector": {"minItems": 1, "maxItems": 2000},
    f"{_D}.SearchVectorsRequest.k": _range(0, 1000),
    f"{_D}.SearchVectorsRequest.ef_search": _range(1, 1000),
    f"{_D}.QueryDocumentsRequest.page_size": _range(0, 1000),
    f"{_D}.QueryDocumentsRequest.filters": {"maxItems": 32},
    f"{_D}.QueryDocumentsRequest.order_by": {"maxItems": 4},
    # A filter names its operator.
    f"{_D}.Filter.op": {"not": {"enum": ["OPERATOR_UNSPECIFIED"]}},
    f"{_D}.Filter.field": _id(
        r"^[A-Za-z_][A-Za-z0-9_-]{0,63}(\.[A-Za-z_][A-Za-z0-9_-]{0,63}){0,7}$"
    ),
    f"{_D}.OrderBy.field": _id(
        r"^[A-Za-z_][A-Za-z0-9_-]{0,63}(\.[A-Za-z_][A-Za-z0-9_-]{0,63}){0,7}$"
    ),
    f"{_D}.DeleteDocumentRequest.expected_revision": {"pattern": r"^[1-9][0-9]{0,17}$"},
    f"{_D}.PutDocumentRequest.expected_revision": {"pattern": r"^[0-9]{1,18}$"},
    # L00 secrets
    f"{_S}.CreateSecretRequest.name": SECRET_NAME,
    f"{_S}.GetSecretRequest.name": SECRET_NAME,
    f"{_S}.DeleteSecretRequest.name": SECRET_NAME,
    f"{_S}.AddSecretVersionRequest.name": SECRET_NAME,
    f"{_S}.SetAccessPolicyRequest.name": SECRET_NAME,
    f"{_S}.ListSecretsRequest.page_size": _range(0, 1000),
    f"{_S}.CreateSecretRequest.labels": {
        "additionalProperties": {"type": "string", "pattern": r"^[a-z0-9_-]{0,63}$"},
    },
    **{
        f"{_S}.AccessPolicy.{part}": {
            "minItems": 1 if part == "managers" else 0,
            "maxItems": 100,
            "items": {"type": "string", **POLICY_ENTRY},
        }
        for part in ("principals", "layers", "managers")
    },
    **{
        f"{_S}.{message}.{field}": rule
        for message in (
            "AccessSecretVersionRequest",
            "DestroySecretVersionRequest",
            "DisableSecretVersionRequest",
            "EnableSecretVersionRequest",
        )
        for field, rule in (("name", SECRET_NAME), ("version", SECRET_VERSION_NUMBER))
    },
    f"{_S}.AccessSecretVersionRequest.version": SECRET_VERSION,
    # L02 runtime
    f"{_R}.CreateAgentRequest.agent_id": RUNTIME_ID,
    f"{_R}.Agent.display_name": {**_text(1, 128), **NO_NUL},
    f"{_R}.Agent.skills": {"items": {"type": "string", **_text(1, 64), **NO_NUL}},
    f"{_R}.Agent.allowed_tools": {"items": {"type": "string", **TOOL_NAME}},
    f"{_R}.Agent.instructions": {"maxLength": 8000, **NO_NUL},
    f"{_R}.Agent.role": NO_NUL,
    f"{_R}.ModelPolicy.model": NO_NUL,
    f"{_R}.ModelPolicy.temperature": _range(0, 2),
    f"{_R}.ModelPolicy.max_tokens": _range(0, 4096),
    f"{_R}.ModelPolicy.strategy": {
        "enum": ["", "capability", "cost", "latency", "quality", "pinned", "round_robin"]
    },
    f"{_R}.Budgets.max_cost_usd": {"minimum": 0},
    f"{_R}.Budgets.max_tokens": {"pattern": r"^[0-9]{1,18}$"},
    # 0-3600 s (up to 3599.999999999 here).
    f"{_R}.Budgets.max_wall_time": {
        "pattern": r"^([0-9]{1,3}|[0-2][0-9]{3}|3[0-5][0-9]{2})(\.[0-9]{1,9})?s$"
    },
    f"{_R}.Budgets.max_steps": _range(0, 100),
    f"{_R}.ListAgentsRequest.page_size": _range(0, 500),
    f"{_R}.ListAgentsRequest.role": {"maxLength": 64, **NO_NUL},
    f"{_R}.RunAgentRequest.task": {**_text(1, 32000), **NO_NUL},
    # L05 planning
    f"{_P}.ListGoalsRequest.page_size": _range(0, 500),
    f"{_P}.CreateGoalRequest.goal": _text(1, 16_000),
    f"{_P}.CreateGoalRequest.goal_id": RUNTIME_ID,
    f"{_P}.WatchGoalRequest.from_version": {"pattern": r"^[0-9]{1,18}$"},
    f"{_P}.WatchAgentRequest.from_version": {"pattern": r"^[0-9]{1,18}$"},
    f"{_R}.WatchAgentRequest.from_version": {"pattern": r"^[0-9]{1,18}$"},
    # L03 tools
    f"{_T}.ListToolsRequest.page_size": _range(0, 200),
    f"{_T}.SearchToolsRequest.query": {"minLength": 1, "maxLength": 200, "pattern": r"[A-Za-z0-9]"},
    f"{_T}.SearchToolsRequest.page_size": _range(0, 200),
    f"{_T}.Tool.name": _id(r"^tools/[A-Za-z][A-Za-z0-9_-]{0,63}$"),
    f"{_T}.ExecuteRequest.name": _id(r"^tools/[A-Za-z][A-Za-z0-9_-]{0,63}$"),
    # L04 models
    f"{_M}.EmbedRequest.texts": {
        "minItems": 1,
        "maxItems": 256,
        "items": {"type": "string", **_text(1, 8192)},
    },
    f"{_M}.EmbedRequest.tenant_id": TENANT_ID,
    f"{_M}.GetUsageRequest.tenant_id": TENANT_ID,
    f"{_M}.GenerateRequest.messages": {"minItems": 1, "maxItems": 1000},
    f"{_M}.GenerateRequest.max_tokens": _range(0, 32_768),
    f"{_M}.GenerateRequest.temperature": _range(0, 2),
    f"{_M}.GenerateRequest.tools": {"maxItems": 128},
    f"{_M}.GenerateRequest.agent_id": {"maxLength": 256},
    f"{_M}.GenerateRequest.tenant_id": TENANT_ID,
    # A tool message also needs tool_call_id: the document offers the other two roles.
    f"{_M}.Message.role": {"enum": ["user", "assistant"]},
    f"{_M}.Message.content": _text(1, 32_000),
    f"{_M}.Tool.name": _id(r"^[A-Za-z0-9_-]{1,64}$"),
    f"{_M}.CacheControl.similarity_threshold": _range(0, 1),
    f"{_M}.CacheControl.ttl_seconds": {"minimum": 0},
    # L08 supervision
    f"{_V}.ListApprovalsRequest.page_size": _range(0, 1000),
    f"{_V}.ListPolicyVersionsRequest.page_size": _range(0, 1000),
    f"{_V}.GetPolicyVersionRequest.version": _id(r"^([1-9][0-9]{0,8}|active)$"),
    f"{_V}.RollbackPoliciesRequest.version": {"pattern": r"^[1-9][0-9]{0,8}$"},
    f"{_V}.EvaluateRequest.action": _text(1, 256),
    f"{_V}.EvaluateRequest.approval_ttl": {"pattern": r"^[0-9]{1,6}(\.[0-9]{1,9})?s$"},
    f"{_V}.RequestApprovalRequest.action": _text(1, 256),
    f"{_V}.RequestApprovalRequest.request_id": _text(1, 256),
    f"{_V}.RequestApprovalRequest.reasons": {
        "minItems": 1,
        "maxItems": 10,
        "items": {"type": "string", **_text(1, 1000)},
    },
    f"{_V}.RequestApprovalRequest.ttl": {"pattern": r"^[0-9]{1,6}(\.[0-9]{1,9})?s$"},
    # L12 NL
    f"{_N}.ListServicesRequest.page_size": _range(0, 1000),
    f"{_N}.AskRequest.text": _text(1, 2000),
    f"{_N}.AskRequest.conversation_id": _id(r"^[A-Za-z0-9_.@-]{1,128}$"),
    f"{_N}.SearchServicesRequest.query": _text(1, 1000),
    f"{_N}.SearchServicesRequest.limit": _range(0, 100),
    f"{_N}.InvokeStreamRequest.max_messages": _range(0, 2_147_483_647),
    f"{_N}.GetConversationRequest.conversation_id": _id(r"^[A-Za-z0-9_.@-]{1,128}$"),
    # L13 roles
    f"{_O}.ListRolesRequest.page_size": _range(0, 100),
    f"{_O}.GetRoleRequest.name": ROLE_NAME,
    f"{_O}.GetRoleRequest.revision": {"pattern": r"^[0-9]{1,18}$"},
    f"{_O}.ListRoleRevisionsRequest.name": ROLE_NAME,
    f"{_O}.DeprecateRoleRequest.name": ROLE_NAME,
    f"{_O}.DeprecateRoleRequest.expected_revision": {"pattern": r"^[0-9]{1,18}$"},
    f"{_O}.AssignRoleRequest.name": ROLE_NAME,
    f"{_O}.AssignRoleRequest.agent_id": OWNER_ID,
    f"{_O}.BuildContextRequest.name": ROLE_NAME,
    f"{_O}.BuildContextRequest.task": _text(1, 32000),
    f"{_O}.ClassifyTaskRequest.text": _text(1, 32000),
    f"{_O}.ClassifyTaskRequest.limit": _range(0, 50),
    f"{_O}.UpdateRoleRequest.name": ROLE_NAME,
    f"{_O}.UpdateRoleRequest.expected_revision": {"pattern": r"^[0-9]{1,18}$"},
    f"{_O}.Role.name": ROLE_NAME,
    f"{_O}.Role.title": _text(1, 120),
    f"{_O}.Role.description": _text(1, 4000),
    # L13 strips each item and refuses duplicates among them.
    f"{_O}.Role.responsibilities": {
        "minItems": 1,
        "maxItems": 50,
        "uniqueItems": True,
        "items": {"type": "string", **_text(1, 500)},
    },
    f"{_O}.Role.core_skills": {
        "maxItems": 50,
        "uniqueItems": True,
        "items": {"type": "string", **SKILL_NAME},
    },
    f"{_O}.Role.keywords": {
        "maxItems": 200,
        "uniqueItems": True,
        "items": {"type": "string", **_text(1, 100)},
    },
    f"{_O}.Role.preferred_tools": {
        "maxItems": 20,
        "uniqueItems": True,
        "items": {"type": "string", **TOOL_NAME},
    },
    f"{_O}.Role.examples": {
        "maxItems": 100,
        "uniqueItems": True,
        "items": {"type": "string", **_text(1, 500)},
    },
    f"{_O}.Role.prompt": _text(1, 32000),
    f"{_O}.Role.token_budget": _range(100, 200_000),
    f"{_O}.Role.layers": {
        "maxItems": 15,
        "uniqueItems": True,
        "items": {"type": "string", "pattern": r"^l(0[0-9]|1[0-4])$"},
    },
    # L14 skills
    f"{_K}.ListSkillsRequest.page_size": _range(0, 100),
    f"{_K}.GetSkillRequest.name": SKILL_NAME,
    f"{_K}.GetSkillRequest.version": {
        "pattern": r"^((0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5}))?$"
    },
    f"{_K}.ListSkillVersionsRequest.name": SKILL_NAME,
    f"{_K}.UpdateSkillRequest.name": SKILL_NAME,
    f"{_K}.GetSkillSetRequest.owner_kind": {"enum": ["agents", "roles"]},
    f"{_K}.GetSkillSetRequest.owner_id": OWNER_ID,
    f"{_K}.AssignSkillsRequest.owner_kind": {"enum": ["agents", "roles"]},
    f"{_K}.AssignSkillsRequest.owner_id": OWNER_ID,
    f"{_K}.SearchSkillsRequest.query": _text(1, 1000),
    f"{_K}.SearchSkillsRequest.limit": _range(0, 50),
    f"{_K}.PlanLoadingRequest.skills": {
        "minItems": 1,
        "uniqueItems": True,
        "items": {"type": "string", **SKILL_NAME},
    },
    f"{_K}.Skill.name": SKILL_NAME,
    f"{_K}.Skill.version": SEMVER,
    f"{_K}.Skill.category": {
        "enum": [
            "api",
            "architecture",
            "data",
            "framework",
            "frontend",
            "infrastructure",
            "language",
            "observability",
            "practice",
            "security",
        ]
    },
    f"{_K}.Skill.description": _text(1, 2000),
    f"{_K}.Skill.examples": {"maxItems": 20},
    f"{_K}.SkillExample.input": _text(1, 4000),
    f"{_K}.SkillExample.output": _text(1, 8000),
    f"{_K}.Skill.instructions": _text(1, 32_000),
    f"{_K}.AssignSkillsRequest.skills": {"minItems": 1, "uniqueItems": True},
    f"{_K}.PlanLoadingRequest.token_budget": _range(1, 1_000_000),
    f"{_K}.Skill.required_tools": {"uniqueItems": True, "items": {"type": "string", **TOOL_NAME}},
    f"{_K}.Skill.roles": {"uniqueItems": True, "items": {"type": "string", **ROLE_NAME}},
}

REQUIRED: frozenset[str] = frozenset(
    {
        f"{_D}.AppendEventsRequest.events",
        f"{_D}.NewEvent.type",
        f"{_D}.CreateConsumerGroupRequest.group_id",
        f"{_D}.CreateCollectionRequest.collection_id",
        f"{_D}.DeleteVectorsRequest.ids",
        f"{_D}.UpsertVectorsRequest.vectors",
        f"{_D}.Vector.id",
        f"{_D}.Vector.values",
        f"{_D}.SearchVectorsRequest.vector",
        f"{_D}.VectorCollection.dimension",
        f"{_D}.VectorCollection.distance",
        f"{_S}.CreateSecretRequest.name",
        f"{_R}.Agent.display_name",
        f"{_R}.RunAgentRequest.task",
        f"{_T}.SearchToolsRequest.query",
        f"{_D}.Filter.op",
        f"{_M}.EmbedRequest.texts",
        f"{_M}.GenerateRequest.messages",
        f"{_M}.Message.role",
        f"{_M}.Message.content",
        f"{_M}.StreamGenerateRequest.request",
        f"{_P}.CreateGoalRequest.goal",
        f"{_N}.AskRequest.text",
        f"{_V}.EvaluateRequest.action",
        f"{_V}.EvaluateRequest.principal",
        f"{_V}.RequestApprovalRequest.action",
        f"{_V}.RequestApprovalRequest.principal",
        f"{_V}.RequestApprovalRequest.resource",
        f"{_V}.RequestApprovalRequest.reasons",
        f"{_V}.RequestApprovalRequest.request_id",
        f"{_N}.SearchServicesRequest.query",
        f"{_N}.InvokeRequest.method",
        f"{_N}.InvokeStreamRequest.method",
        f"{_N}.ConfirmRequest.confirmation_token",
        f"{_O}.BuildContextRequest.task",
        f"{_O}.ClassifyTaskRequest.text",
        f"{_O}.Role.name",
        f"{_O}.Role.title",
        f"{_O}.Role.description",
        f"{_O}.Role.responsibilities",
        f"{_O}.Role.prompt",
        f"{_O}.Role.token_budget",
        f"{_K}.SearchSkillsRequest.query",
        f"{_K}.PlanLoadingRequest.skills",
    }
)

SERVICE_CHECKED: dict[str, str] = {
    field: "a next_page_token from an earlier page"
    for field in (
        f"{_D}.ListConsumerGroupsRequest.page_token",
        f"{_D}.ListCollectionsRequest.page_token",
        f"{_D}.QueryDocumentsRequest.page_token",
        f"{_S}.ListSecretsRequest.page_token",
        f"{_R}.ListAgentsRequest.page_token",
        f"{_P}.ListGoalsRequest.page_token",
        f"{_T}.ListToolsRequest.page_token",
        f"{_V}.ListApprovalsRequest.page_token",
        f"{_V}.ListPolicyVersionsRequest.page_token",
        f"{_N}.ListServicesRequest.page_token",
        f"{_O}.ListRolesRequest.page_token",
        f"{_K}.ListSkillsRequest.page_token",
    )
} | {
    f"{_N}.ConfirmRequest.confirmation_token": "a token an earlier Ask gave",
    f"{_N}.InvokeRequest.method": "a unary method the catalog lists",
    f"{_N}.InvokeStreamRequest.method": "a server-streaming method the catalog lists",
    f"{_N}.AskRequest.text": "a request whose arguments, as read, the matched method accepts",
    f"{_V}.DeployPoliciesRequest.text": "Cedar policies valid against the schema",
    f"{_V}.RollbackPoliciesRequest.version": "a deployed version",
    f"{_V}.EvaluateRequest.principal": "an entity type of the policy schema",
    f"{_V}.EvaluateRequest.resource": "an entity type of the policy schema",
    f"{_V}.RequestApprovalRequest.action": "an action of the policy schema",
    f"{_V}.RequestApprovalRequest.principal": "an entity type of the policy schema",
    f"{_V}.RequestApprovalRequest.resource": "an entity type of the policy schema",
    f"{_K}.PlanLoadingRequest.skills": "names of existing skills",
    f"{_K}.AssignSkillsRequest.skills": "names of existing skills",
    f"{_K}.Skill.required_tools": "names of known tools",
    f"{_K}.Skill.roles": "names of existing roles",
    f"{_K}.Skill.parameters": "an object JSON Schema",
    f"{_D}.Filter.value": "a value its operator takes (a number or a string to compare)",
    f"{_D}.UpsertVectorsRequest.vectors": "vectors whose ids are unique within the call",
    f"{_D}.VectorCollection.hnsw_ef_construction": "0, or twice hnsw_m (16 when 0) to 1,000",
    f"{_S}.SetAccessPolicyRequest.access_policy": "principal or layer names, a manager kept",
    f"{_O}.UpdateRoleRequest.role": "a role whose name is the path's",
    f"{_K}.UpdateSkillRequest.skill": "a skill whose name is the path's",
    f"{_R}.Agent.allowed_tools": "names of registered tools",
    **{
        f"{_D}.{field}": "JSON whose strings hold no NUL character"
        for field in (
            "NewEvent.data",
            "NewEvent.metadata",
            "Vector.metadata",
            "PutDocumentRequest.content",
            "SaveSnapshotRequest.state",
        )
    },
    f"{_M}.GenerateRequest.messages": "all text within the model's context",
    f"{_M}.GenerateRequest.response_schema": "a JSON Schema the model can follow",
    f"{_M}.GenerateRequest.model": "a model ListModels names",
    f"{_M}.Tool.input_schema": "an object JSON Schema",
    f"{_O}.Role.preferred_tools": "names of registered tools",
    f"{_S}.AddSecretVersionRequest.value": "a value or a binary_value",
    # OpenAPI 3.0 has no propertyNames: the keys' rule is only in the description.
    f"{_S}.CreateSecretRequest.labels": "keys: a lower-case letter, then up to 62 of a-z 0-9 _ -",
    f"{_T}.RegisterToolRequest.tool": "a tool definition the registry accepts",
}
