"""The one server interceptor: domain errors -> gRPC status with rich details, one log line per
call (method, code, milliseconds, client labels and peer; never the request body, metadata or
a token) and the call's metrics (service.metrics: count by final code, latency, in flight).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import grpc

from service.metrics import OTHER_METHOD, Metrics, method_label
from service.status import status_for

log = logging.getLogger("venture.calls")
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"

# Health checks arrive every few seconds from orchestrators; they are logged at DEBUG.
_QUIET_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")
_MAX_LABEL_TEXT = 200
MAX_LOGGED_LABELS = 16
"""Labels beyond the first 16 (by key) are left out of the structured log line..."""
MAX_LOGGED_LABEL_CHARS = 100
"""...and each key and value is cut to 100 characters, so a line stays bounded."""


def _labels_text(request: Any) -> str:
    labels = getattr(request, "labels", None)
    if not labels:
        return "-"
    text = ",".join(f"{k}={labels[k]}" for k in sorted(labels))
    return text if len(text) <= _MAX_LABEL_TEXT else text[: _MAX_LABEL_TEXT - 3] + "..."


def _cut(text: str) -> str:
    if len(text) <= MAX_LOGGED_LABEL_CHARS:
        return text
    return text[: MAX_LOGGED_LABEL_CHARS - 3] + "..."


def _labels_map(request: Any) -> dict[str, str]:
    """The request's labels, bounded (MAX_LOGGED_LABELS, MAX_LOGGED_LABEL_CHARS), by key."""
    labels = getattr(request, "labels", None)
    if not labels:
        return {}
    keys = sorted(labels)[:MAX_LOGGED_LABELS]
    return {_cut(key): _cut(labels[key]) for key in keys}


def _code_name(context: Context) -> str:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "OK" if code in (None, 0) else str(code)


class _Call:
    """Bookkeeping for one call: maps exceptions to status, writes the log line and records
    the call's metrics (in flight from construction until `finish`)."""

    def __init__(
        self, method: str, request: Any, context: Context, metrics: Metrics | None = None
    ) -> None:
        self.method = method
        self.labels = _labels_text(request)
        self.labels_map = _labels_map(request)
        self.context = context
        self.code = "OK"
        self.metrics = metrics
        self.label = method_label(method)
        self.peer = context.peer()
        self.start = time.perf_counter()
        if metrics is not None:
            metrics.call_started(self.label)

    async def fail(self, error: BaseException) -> None:
        """Abort the call with the status `error` maps to (always raises)."""
        if isinstance(error, grpc.aio.AbortError):
            self.code = _code_name(self.context)
            raise error
        failure = status_for(error)
        if failure is None:
            self.code = "INTERNAL"
            log.exception("unhandled error in %s", self.method, extra={"method": self.method})
            await self.context.abort(
                grpc.StatusCode.INTERNAL, "internal error; the server log has the details"
            )
            return
        self.code = failure.code.name
        await self.context.abort(failure.code, failure.message, failure.trailing_metadata)

    def succeeded(self) -> None:
        """The handler returned: the code is OK unless it set another on the context."""
        self.code = _code_name(self.context)

    def finish(self) -> None:
        """Record the call's metrics and write its log line (once, as the call ends)."""
        seconds = time.perf_counter() - self.start
        if self.metrics is not None:
            self.metrics.call_finished(self.label, self.code, seconds)
        ms = round(seconds * 1000, 1)
        level = logging.DEBUG if self.method.startswith(_QUIET_PREFIXES) else logging.INFO
        if not log.isEnabledFor(level):
            return
        fields = {
            "method": self.method,
            "code": self.code,
            "ms": ms,
            "labels": self.labels_map,
            "peer": self.peer,
        }
        log.log(
            level,
            "method=%s code=%s ms=%.1f labels=%s",
            self.method,
            self.code,
            ms,
            self.labels,
            extra=fields,
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
    calls are counted in `in_flight` (long-lived streams such as the health Watch are not).
    With `metrics`, every wrapped call is recorded there, and a call to a method the server
    does not have is counted as UNIMPLEMENTED under the OTHER_METHOD label."""

    def __init__(self, in_flight: InFlight | None = None, metrics: Metrics | None = None) -> None:
        self.in_flight = in_flight or InFlight()
        self.metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            if self.metrics is not None:
                self.metrics.calls.labels(OTHER_METHOD, "UNIMPLEMENTED").inc()
            return handler
        method = handler_call_details.method
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(method, handler.unary_unary, self.in_flight, self.metrics),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(method, handler.unary_stream, self.metrics),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


def _wrap_unary(
    method: str, inner: Any, in_flight: InFlight | None = None, metrics: Metrics | None = None
) -> Any:
    async def unary(request: Any, context: Context) -> Any:
        call = _Call(method, request, context, metrics)
        if in_flight is not None:
            in_flight.enter()
        try:
            response = await inner(request, context)
            call.succeeded()
            return response
        except asyncio.CancelledError:
            call.code = "CANCELLED"
            raise
        except Exception as error:
            await call.fail(error)
        finally:
            call.finish()
            if in_flight is not None:
                in_flight.leave()

    return unary


def _wrap_stream(method: str, inner: Any, metrics: Metrics | None = None) -> Any:
    if not inspect.isasyncgenfunction(inner):
        # Servicers that stream with context.write (the health Watch) return a coroutine.
        return _wrap_unary(method, inner, metrics=metrics)

    async def stream(request: Any, context: Context) -> AsyncIterator[Any]:
        call = _Call(method, request, context, metrics)
        try:
            async for response in inner(request, context):
                yield response
            call.succeeded()
        except asyncio.CancelledError:
            call.code = "CANCELLED"
            raise
        except Exception as error:
            await call.fail(error)
        finally:
            call.finish()

    return stream
