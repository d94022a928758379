"""The ErrorInfo reasons the server sends and the ErrorReason enum agree: every error leaves
with a reason the enum names, and every reason the enum names is one some error leaves with.
Reasons travel as strings, so nothing else catches the two drifting apart."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from sqlalchemy.orm.exc import StaleDataError

from aiops import errors
from aiops.api.errors import DOMAIN, to_status
from aiops_api.v1.error_reason_pb2 import ErrorReason

PREFIX = "ERROR_REASON_"
UNSPECIFIED = ErrorReason.ERROR_REASON_UNSPECIFIED


@dataclass(frozen=True)
class Example:
    """An error as the server would raise it, and the status it must leave as."""

    error: Exception
    code: grpc.StatusCode
    reason: ErrorReason


# Every error class of the server, keyed by class; None marks a base the server never raises
# itself, only its subclasses. A new error class fails test_every_error_class_has_an_example
# until it is added here.
EXAMPLES: dict[type[Exception], Example | None] = {
    errors.InvalidArgument: Example(
        errors.InvalidArgument([errors.FieldViolation("detector.query", "must not be empty")]),
        grpc.StatusCode.INVALID_ARGUMENT,
        ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
    ),
    errors.NotFound: Example(
        errors.NotFound("detectors/cpu"),
        grpc.StatusCode.NOT_FOUND,
        ErrorReason.ERROR_REASON_RESOURCE_NOT_FOUND,
    ),
    errors.AlreadyExists: Example(
        errors.AlreadyExists("detectors/cpu"),
        grpc.StatusCode.ALREADY_EXISTS,
        ErrorReason.ERROR_REASON_RESOURCE_ALREADY_EXISTS,
    ),
    errors.EtagMismatch: Example(
        errors.EtagMismatch("detectors/cpu"),
        grpc.StatusCode.ABORTED,
        ErrorReason.ERROR_REASON_ETAG_MISMATCH,
    ),
    errors.DataSourceInUse: Example(
        errors.DataSourceInUse("dataSources/prom", ["detectors/cpu", "detectors/memory"]),
        grpc.StatusCode.FAILED_PRECONDITION,
        ErrorReason.ERROR_REASON_DATA_SOURCE_IN_USE,
    ),
    errors.DataSourceUnavailable: Example(
        errors.DataSourceUnavailable("dataSources/prom", "connection refused"),
        grpc.StatusCode.UNAVAILABLE,
        ErrorReason.ERROR_REASON_DATA_SOURCE_UNAVAILABLE,
    ),
    errors.DataSourceKindUnsupported: Example(
        errors.DataSourceKindUnsupported("dataSources/logs", "KIND_LOKI", "list metrics"),
        grpc.StatusCode.FAILED_PRECONDITION,
        ErrorReason.ERROR_REASON_DATA_SOURCE_KIND_UNSUPPORTED,
    ),
    errors.StreamEnded: None,
    errors.StreamTooSlow: Example(
        errors.StreamTooSlow(41),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        ErrorReason.ERROR_REASON_STREAM_TOO_SLOW,
    ),
    errors.ShuttingDown: Example(
        errors.ShuttingDown(42), grpc.StatusCode.UNAVAILABLE, ErrorReason.ERROR_REASON_SHUTTING_DOWN
    ),
    errors.EventBusLost: Example(
        errors.EventBusLost(43),
        grpc.StatusCode.UNAVAILABLE,
        ErrorReason.ERROR_REASON_EVENT_BUS_LOST,
    ),
    errors.EventBusUnavailable: Example(
        errors.EventBusUnavailable("connection refused"),
        grpc.StatusCode.UNAVAILABLE,
        ErrorReason.ERROR_REASON_EVENT_BUS_UNAVAILABLE,
    ),
    # Not the domain's own errors, but the server sends these too.
    StaleDataError: Example(
        StaleDataError("UPDATE statement on table 'detectors' expected to update 1 row(s)"),
        grpc.StatusCode.ABORTED,
        ErrorReason.ERROR_REASON_ETAG_MISMATCH,
    ),
    RuntimeError: Example(
        RuntimeError("a bug"), grpc.StatusCode.INTERNAL, ErrorReason.ERROR_REASON_INTERNAL
    ),
}
SENT = {cls: example for cls, example in EXAMPLES.items() if example is not None}


def subclasses(cls: type[Exception]) -> Iterator[type[Exception]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


def error_classes() -> list[type[Exception]]:
    """The server's error classes (not ones a test defines for itself)."""
    return [cls for cls in subclasses(errors.AiopsError) if cls.__module__.split(".")[0] == "aiops"]


def sent_info(example: Example) -> tuple[grpc.StatusCode, status_pb2.Status]:
    """The code `example.error` leaves with and the google.rpc.Status its trailers carry."""
    status = to_status(example.error)
    trailers = dict(status.trailing_metadata)
    return status.code, status_pb2.Status.FromString(trailers["grpc-status-details-bin"])


def error_info(status: status_pb2.Status) -> error_details_pb2.ErrorInfo:
    infos = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            infos.append(info)
    assert len(infos) == 1, f"one ErrorInfo per status, not {len(infos)}"
    return infos[0]


def reasons_named() -> dict[str, int]:
    """ErrorInfo.reason as the enum spells each value but UNSPECIFIED."""
    return {
        name.removeprefix(PREFIX): value
        for name, value in ErrorReason.items()
        if value != UNSPECIFIED
    }


def test_every_error_class_has_an_example() -> None:
    classes = error_classes()
    assert errors.InvalidArgument in classes and errors.EventBusLost in classes  # the walk works
    missing = [cls.__qualname__ for cls in classes if cls not in EXAMPLES]
    assert not missing, f"add an example of each to EXAMPLES: {', '.join(missing)}"
    for cls, example in EXAMPLES.items():
        if example is None:
            assert cls.__subclasses__(), f"{cls.__qualname__} is raised: give it an example"
        else:
            assert type(example.error) is cls, f"the example of {cls.__qualname__}"


@pytest.mark.parametrize("example", SENT.values(), ids=[cls.__qualname__ for cls in SENT])
def test_each_error_sends_a_reason_the_enum_names(example: Example) -> None:
    code, status = sent_info(example)
    info = error_info(status)
    named = reasons_named()
    assert info.reason in named, (
        f"{type(example.error).__qualname__} sends reason {info.reason!r}, which ErrorReason "
        "in protos/aiops/v1/error_reason.proto lacks"
    )
    assert info.domain == DOMAIN == "aiops.dev"
    assert named[info.reason] == example.reason
    assert code is example.code
    assert status.code == example.code.value[0]
    if isinstance(example.error, errors.StreamEnded):
        assert info.metadata["last_sequence"] == str(example.error.last_sequence)
    # The types of a PreconditionFailure's violations are the reason too.
    for detail in status.details:
        if detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            assert failure.violations
            assert {v.type for v in failure.violations} == {info.reason}


def test_every_reason_is_sent_by_some_error() -> None:
    sent = {error_info(sent_info(example)[1]).reason for example in SENT.values()}
    unsent = sorted(set(reasons_named()) - sent)
    assert not unsent, f"ErrorReason lists reasons no error sends: {', '.join(unsent)}"
