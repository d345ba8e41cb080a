"""The one server interceptor: domain errors -> gRPC status with rich details, and one log
line per call (method, code, milliseconds, client labels; never the request body).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import grpc

from service.status import status_for

log = logging.getLogger("venture.calls")
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"

# Health checks arrive every few seconds from orchestrators; they are logged at DEBUG.
_QUIET_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")
_MAX_LABEL_TEXT = 200


def _labels_text(request: Any) -> str:
    labels = getattr(request, "labels", None)
    if not labels:
        return "-"
    text = ",".join(f"{k}={labels[k]}" for k in sorted(labels))
    return text if len(text) <= _MAX_LABEL_TEXT else text[: _MAX_LABEL_TEXT - 3] + "..."


def _code_name(context: Context) -> str:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "OK" if code in (None, 0) else str(code)


class _Call:
    """Bookkeeping for one call: maps exceptions to status and writes the log line."""

    def __init__(self, method: str, request: Any, context: Context) -> None:
        self.method = method
        self.labels = _labels_text(request)
        self.context = context
        self.code = "OK"
        self.start = time.perf_counter()

    async def fail(self, error: BaseException) -> None:
        """Abort the call with the status `error` maps to (always raises)."""
        if isinstance(error, grpc.aio.AbortError):
            self.code = _code_name(self.context)
            raise error
        failure = status_for(error)
        if failure is None:
            self.code = "INTERNAL"
            log.exception("unhandled error in %s", self.method)
            await self.context.abort(
                grpc.StatusCode.INTERNAL, "internal error; the server log has the details"
            )
            return
        self.code = failure.code.name
        await self.context.abort(failure.code, failure.message, failure.trailing_metadata)

    def log(self) -> None:
        ms = (time.perf_counter() - self.start) * 1000
        level = logging.DEBUG if self.method.startswith(_QUIET_PREFIXES) else logging.INFO
        log.log(
            level, "method=%s code=%s ms=%.1f labels=%s", self.method, self.code, ms, self.labels
        )


class InFlight:
    """How many unary calls are being handled, so a shutdown can wait for none."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
        self._idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def wait_idle(self) -> None:
        await self._idle.wait()


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Wraps unary and server-streaming handlers; other kinds pass through unchanged. Unary
    calls are counted in `in_flight` (long-lived streams such as the health Watch are not)."""

    def __init__(self, in_flight: InFlight | None = None) -> None:
        self.in_flight = in_flight or InFlight()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(method, handler.unary_unary, self.in_flight),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


def _wrap_unary(method: str, inner: Any, in_flight: InFlight | None = None) -> Any:
    async def unary(request: Any, context: Context) -> Any:
        call = _Call(method, request, context)
        if in_flight is not None:
            in_flight.enter()
        try:
            return await inner(request, context)
        except asyncio.CancelledError:
            call.code = "CANCELLED"
            raise
        except Exception as error:
            await call.fail(error)
        finally:
            call.log()
            if in_flight is not None:
                in_flight.leave()

    return unary


def _wrap_stream(method: str, inner: Any) -> Any:
    if not inspect.isasyncgenfunction(inner):
        # Servicers that stream with context.write (the health Watch) return a coroutine.
        return _wrap_unary(method, inner)

    async def stream(request: Any, context: Context) -> AsyncIterator[Any]:
        call = _Call(method, request, context)
        try:
            async for response in inner(request, context):
                yield response
        except asyncio.CancelledError:
            call.code = "CANCELLED"
            raise
        except Exception as error:
            await call.fail(error)
        finally:
            call.log()

    return stream
