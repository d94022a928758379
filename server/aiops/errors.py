"""The failures the domain reports; api/errors.py turns each into a gRPC status."""

from __future__ import annotations

from dataclasses import dataclass


class AiopsError(Exception):
    """Base of the errors a request can end in, as opposed to bugs."""


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: its path (`detector.query`) and what is wrong with it."""

    field: str
    description: str


class InvalidArgument(AiopsError):
    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))


class NotFound(AiopsError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"{name} not found")


class AlreadyExists(AiopsError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"{name} already exists")


class EtagMismatch(AiopsError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"{name} has changed since it was read: read it again and retry")


class DataSourceInUse(AiopsError):
    def __init__(self, name: str, detectors: list[str]) -> None:
        self.name = name
        self.detectors = detectors
        shown = ", ".join(detectors[:5]) + (", ..." if len(detectors) > 5 else "")
        super().__init__(f"{name} is used by {len(detectors)} detector(s): {shown}")


class DataSourceUnavailable(AiopsError):
    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        super().__init__(f"{name} did not answer: {reason}")


class DataSourceKindUnsupported(AiopsError):
    def __init__(self, name: str, kind: str, what: str) -> None:
        self.name = name
        self.kind = kind
        super().__init__(f"{name} is a {kind} data source, which cannot {what} yet")


class StreamEnded(AiopsError):
    """A Subscribe stream the server ends; `last_sequence` is where the client resumes."""

    def __init__(self, message: str, last_sequence: int) -> None:
        self.last_sequence = last_sequence
        super().__init__(f"{message}; resume with after_sequence = {last_sequence}")


class StreamTooSlow(StreamEnded):
    def __init__(self, last_sequence: int) -> None:
        super().__init__("this stream fell too far behind", last_sequence)


class ShuttingDown(StreamEnded):
    def __init__(self, last_sequence: int) -> None:
        super().__init__("the server is shutting down", last_sequence)


class EventBusLost(StreamEnded):
    """The bus this replica reads other replicas' events from failed: events may have gone by."""

    def __init__(self, last_sequence: int) -> None:
        super().__init__("this server lost its connection to the event bus", last_sequence)


class EventBusUnavailable(AiopsError):
    """A change that writes events cannot go ahead without the bus that orders them."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the event bus is unavailable: {reason}")
