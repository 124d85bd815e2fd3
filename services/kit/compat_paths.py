"""The compatible APIs' paths, and the L04 RPC each is authorized and limited as."""

from __future__ import annotations

OPENAI_PREFIX = "/openai/v1/"
ANTHROPIC_PREFIX = "/anthropic/v1/"
PREFIXES = (OPENAI_PREFIX, ANTHROPIC_PREFIX)

_MODELS = "agentic.models.v1.ModelService"
GENERATE = f"{_MODELS}/Generate"
STREAM_GENERATE = f"{_MODELS}/StreamGenerate"
EMBED = f"{_MODELS}/Embed"
LIST_MODELS = f"{_MODELS}/ListModels"

OPENAI_CHAT = OPENAI_PREFIX + "chat/completions"
OPENAI_EMBEDDINGS = OPENAI_PREFIX + "embeddings"
OPENAI_MODELS = OPENAI_PREFIX + "models"
ANTHROPIC_MESSAGES = ANTHROPIC_PREFIX + "messages"
ANTHROPIC_COUNT_TOKENS = ANTHROPIC_PREFIX + "messages/count_tokens"

# ext_authz checks a compatible call against the policy as this RPC (a streamed chat is
# checked as Generate: the path does not say whether the body asks for a stream).
AUTHORIZED_AS: dict[str, str] = {
    OPENAI_CHAT: GENERATE,
    OPENAI_EMBEDDINGS: EMBED,
    OPENAI_MODELS: LIST_MODELS,
    ANTHROPIC_MESSAGES: GENERATE,
    ANTHROPIC_COUNT_TOKENS: LIST_MODELS,
}


def rpc_for_path(path: str) -> str:
    """The RPC a request path is checked as: its compatible RPC, else the path itself
    (a gRPC path, or a transcoded REST call's)."""
    path = path.split("?", 1)[0]
    return AUTHORIZED_AS.get(path.rstrip("/"), path.lstrip("/"))


def is_compat_path(path: str) -> bool:
    return path.startswith(PREFIXES)
