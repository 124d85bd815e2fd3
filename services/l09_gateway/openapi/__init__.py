"""The OpenAPI 3.0 document of the gateway's REST surface, built from the descriptor set."""

from services.l09_gateway.openapi.document import openapi_document

__all__ = ["openapi_document"]
