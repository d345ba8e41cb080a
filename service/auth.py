"""Bearer-token authentication: every VentureService call must carry
`authorization: Bearer <token>` naming one of the server's tokens (service.tokens); health and
reflection stay open so that load balancers and tools can reach them. No token, and no request
body, is ever logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc

from service.interceptor import Handler
from service.servicer import SERVICE_NAME
from service.tokens import TokenError, token_matches

PROTECTED_PREFIX = f"/{SERVICE_NAME}/"
DENIED = "missing or invalid bearer token: send metadata 'authorization: Bearer <token>'"


def _bearer(metadata: Iterable[tuple[str, Any]] | None) -> str:
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
            return value[len("Bearer ") :]
    return ""


class BearerAuthInterceptor(grpc.aio.ServerInterceptor):
    """Refuses VentureService calls without a valid token with UNAUTHENTICATED."""

    def __init__(self, tokens: tuple[str, ...]) -> None:
        if not tokens:
            raise TokenError("authentication is on but no token is configured")
        self._tokens = tokens

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or not method.startswith(PROTECTED_PREFIX):
            return handler
        metadata = handler_call_details.invocation_metadata
        if token_matches(_bearer(metadata), self._tokens):
            return handler
        return _denied(handler)


def _denied(handler: Handler) -> Handler:
    """A handler of the same kind that answers UNAUTHENTICATED without running the call."""

    async def deny(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, DENIED)

    if handler.unary_stream is not None:

        async def deny_stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, DENIED)
            yield  # unreachable: abort raises; makes this a generator

        return grpc.unary_stream_rpc_method_handler(
            deny_stream,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return grpc.unary_unary_rpc_method_handler(
        deny,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
