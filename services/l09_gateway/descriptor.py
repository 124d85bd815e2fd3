"""The mesh's RPC surface, as the kit reads it from the descriptor set (gen/descriptor.binpb)."""

from services.kit.descriptors import (
    DESCRIPTOR_PATH,
    IDEMPOTENT_PREFIXES,
    PLATFORM_PREFIX,
    PROJECT_ROOT,
    HttpBinding,
    Method,
    Surface,
    load,
)

__all__ = [
    "DESCRIPTOR_PATH",
    "IDEMPOTENT_PREFIXES",
    "PLATFORM_PREFIX",
    "PROJECT_ROOT",
    "HttpBinding",
    "Method",
    "Surface",
    "load",
]
