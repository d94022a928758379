"""Every failure leaves as a canonical gRPC status with google.rpc details, never UNKNOWN; and
every call has a request id (the client's `x-request-id`, as Envoy sends one, or a new one),
bound to every log line the call causes and put in its error's ErrorInfo metadata."""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import structlog
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from sqlalchemy.orm.exc import StaleDataError

from aiops.errors import (
    AiopsError,
    AlreadyExists,
    DataSourceInUse,
    DataSourceKindUnsupported,
    DataSourceUnavailable,
    EtagMismatch,
    EventBusLost,
    EventBusUnavailable,
    InvalidArgument,
    NotFound,
    ShuttingDown,
    StreamTooSlow,
)
from aiops_api.v1.error_reason_pb2 import ErrorReason

AbortError = grpc.aio.AbortError

DOMAIN = "aiops.dev"
REQUEST_ID = "x-request-id"
MAX_REQUEST_ID = 128  # characters; a longer or unprintable id is replaced by a new one
# The codes of calls refused for what they asked (logged at debug, not as the server's trouble).
REFUSED = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)
log = structlog.stdlib.get_logger(__name__)


def to_status(error: Exception, request_id: str = "") -> grpc.Status:
    """The status a client sees: code, message, ErrorInfo (with `request_id` in its metadata,
    when given) and the detail that fits the error."""
    details: list[Any] = []
    metadata: dict[str, str] = {"request_id": request_id} if request_id else {}
    match error:
        case InvalidArgument():
            code = code_pb2.INVALID_ARGUMENT
            reason = ErrorReason.ERROR_REASON_INVALID_ARGUMENT
            details.append(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description
                        )
                        for v in error.violations
                    ]
                )
            )
        case NotFound():
            code = code_pb2.NOT_FOUND
            reason = ErrorReason.ERROR_REASON_RESOURCE_NOT_FOUND
            metadata["name"] = error.name
            details.append(_resource_info(error.name))
        case AlreadyExists():
            code = code_pb2.ALREADY_EXISTS
            reason = ErrorReason.ERROR_REASON_RESOURCE_ALREADY_EXISTS
            metadata["name"] = error.name
            details.append(_resource_info(error.name))
        case EtagMismatch():
            code = code_pb2.ABORTED
            reason = ErrorReason.ERROR_REASON_ETAG_MISMATCH
            metadata["name"] = error.name
        case StaleDataError():
            code = code_pb2.ABORTED
            reason = ErrorReason.ERROR_REASON_ETAG_MISMATCH
            error = EtagMismatch("the resource")
        case StreamTooSlow():
            code = code_pb2.RESOURCE_EXHAUSTED
            reason = ErrorReason.ERROR_REASON_STREAM_TOO_SLOW
            metadata["last_sequence"] = str(error.last_sequence)
        case ShuttingDown():
            code = code_pb2.UNAVAILABLE
            reason = ErrorReason.ERROR_REASON_SHUTTING_DOWN
            metadata["last_sequence"] = str(error.last_sequence)
        case EventBusLost():
            code = code_pb2.UNAVAILABLE
            reason = ErrorReason.ERROR_REASON_EVENT_BUS_LOST
            metadata["last_sequence"] = str(error.last_sequence)
        case EventBusUnavailable():
            code = code_pb2.UNAVAILABLE
            reason = ErrorReason.ERROR_REASON_EVENT_BUS_UNAVAILABLE
        case DataSourceInUse():
            code = code_pb2.FAILED_PRECONDITION
            reason = ErrorReason.ERROR_REASON_DATA_SOURCE_IN_USE
            metadata["name"] = error.name
            details.append(
                error_details_pb2.PreconditionFailure(
                    violations=[
                        error_details_pb2.PreconditionFailure.Violation(
                            type=reason_name(reason),
                            subject=detector,
                            description=f"{detector} reads from {error.name}",
                        )
                        for detector in error.detectors
                    ]
                )
            )
        case DataSourceUnavailable():
            code = code_pb2.UNAVAILABLE
            reason = ErrorReason.ERROR_REASON_DATA_SOURCE_UNAVAILABLE
            metadata["name"] = error.name
        case DataSourceKindUnsupported():
            code = code_pb2.FAILED_PRECONDITION
            reason = ErrorReason.ERROR_REASON_DATA_SOURCE_KIND_UNSUPPORTED
            metadata["name"] = error.name
            details.append(
                error_details_pb2.PreconditionFailure(
                    violations=[
                        error_details_pb2.PreconditionFailure.Violation(
                            type=reason_name(reason),
                            subject=error.name,
                            description=str(error),
                        )
                    ]
                )
            )
        case _:
            code = code_pb2.INTERNAL
            reason = ErrorReason.ERROR_REASON_INTERNAL
            error = AiopsError("internal error; the server log has the details")
    info = error_details_pb2.ErrorInfo(reason=reason_name(reason), domain=DOMAIN, metadata=metadata)
    details.insert(0, info)
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    return rpc_status.to_status(status_pb2.Status(code=code, message=str(error), details=packed))


def reason_name(reason: ErrorReason) -> str:
    """What `ErrorInfo.reason` carries for `reason`: its name without the `ERROR_REASON_` prefix."""
    return ErrorReason.Name(reason).removeprefix("ERROR_REASON_")


def _resource_info(name: str) -> error_details_pb2.ResourceInfo:
    collection = name.split("/")[-2] if "/" in name else ""
    return error_details_pb2.ResourceInfo(resource_type=collection, resource_name=name)


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Turns the domain's errors into statuses, and bugs into INTERNAL without a stack trace."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None:
            return handler
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _guard_unary(handler.unary_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _guard_stream(handler.unary_stream, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


def request_id(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """The call's `x-request-id` when it has a usable one, else a new random one."""
    for key, value in context.invocation_metadata() or ():
        usable = isinstance(value, str) and 0 < len(value) <= MAX_REQUEST_ID and value.isprintable()
        if key == REQUEST_ID and usable:
            return str(value)
    return uuid.uuid4().hex


def current_request_id() -> str:
    """The id of the call this code runs for; "" outside one."""
    return str(structlog.contextvars.get_contextvars().get("request_id", ""))


async def _abort(context: grpc.aio.ServicerContext[Any, Any], error: Exception) -> None:
    status = to_status(error, current_request_id())
    if not isinstance(error, AiopsError | StaleDataError):
        log.error("call failed", exc_info=error)  # a bug: its traceback
    else:  # the client's doing, or the server's trouble (UNAVAILABLE)
        level = logging.DEBUG if status.code in REFUSED else logging.WARNING
        log.log(level, "call failed", code=status.code.name, error=str(error))
    await context.abort(status.code, status.details, status.trailing_metadata)


def _guard_unary(
    behaviour: Any, method: str, *, to_the_end: bool = True
) -> Callable[..., Awaitable[Any]]:
    """`to_the_end`: the call runs to its end even when its client goes away (a deadline, a
    cancel): cut short inside a transaction, its database connection could keep SQLite's write
    lock for good and stall every writer. Not for streams, which end when their client does."""

    async def guarded(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        with structlog.contextvars.bound_contextvars(request_id=request_id(context), rpc=method):
            try:
                if not to_the_end:
                    return await behaviour(request, context)
                work = asyncio.ensure_future(behaviour(request, context))
                work.add_done_callback(_unheard)
                return await asyncio.shield(work)
            except AbortError:
                raise
            except Exception as error:
                await _abort(context, error)

    return guarded


def _unheard(work: asyncio.Future[Any]) -> None:
    """Retrieves the outcome of a call whose client left: an error is logged, not lost."""
    error = None if work.cancelled() else work.exception()
    if error is not None and not isinstance(error, AiopsError | StaleDataError | AbortError):
        log.error("call failed after its client left", exc_info=error)


def _guard_stream(behaviour: Any, method: str) -> Callable[..., Any]:
    """A server-streaming method that yields its responses, or one that writes them with
    `context.write` (a coroutine: guarded as a unary one, with no generator in between)."""
    if inspect.iscoroutinefunction(behaviour):
        return _guard_unary(behaviour, method, to_the_end=False)

    async def guarded(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        with structlog.contextvars.bound_contextvars(request_id=request_id(context), rpc=method):
            try:
                async for response in behaviour(request, context):
                    yield response
            except AbortError:
                raise
            except Exception as error:
                await _abort(context, error)

    return guarded
