"""What every layer shares: server bootstrap, interceptors, errors, config, clients."""

from services.kit.auth import Caller, TokenAuthenticator, current_caller, current_principal
from services.kit.clients import layer_target, open_channel, retry_service_config
from services.kit.config import DEV_TOKENS, ServiceSettings
from services.kit.errors import (
    ErrorCatalog,
    ErrorCode,
    Kind,
    PlatformError,
    error_info,
    error_info_of,
    platform_code_of,
    to_rpc_status,
)
from services.kit.layer_channel import LayerChannel, open_layer_channel
from services.kit.logging import configure_logging, get_logger
from services.kit.server import GrpcServer, ServiceDefinition, wait_for_termination

__all__ = [
    "DEV_TOKENS",
    "Caller",
    "ErrorCatalog",
    "ErrorCode",
    "GrpcServer",
    "Kind",
    "LayerChannel",
    "PlatformError",
    "ServiceDefinition",
    "ServiceSettings",
    "TokenAuthenticator",
    "configure_logging",
    "current_caller",
    "current_principal",
    "error_info",
    "error_info_of",
    "get_logger",
    "layer_target",
    "open_channel",
    "open_layer_channel",
    "platform_code_of",
    "retry_service_config",
    "to_rpc_status",
    "wait_for_termination",
]
