"""Request checks shared by the servicers and the detector's spec; each problem becomes a field
violation."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message

from aiops.errors import FieldViolation, InvalidArgument

# Ids a client chooses (AIP-122): RFC 1034 labels.
USER_ID = re.compile(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?")
# Ids in names we look up: a client's ids and the server's UUIDs.
ANY_ID = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# A PromQL or LogQL query, in UTF-8 bytes: longer ones are generated, not written.
MAX_QUERY_BYTES = 16 * 1024
# The longest step of a detector or a range query: a day.
MAX_STEP_SECONDS = 86_400


class Violations:
    """Collects every problem of a request, so that one error names them all."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(list(self.items))


def invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument([FieldViolation(field, description)])


def parse_name(name: str, collection: str, field: str) -> str:
    """Returns the id of `{collection}/{id}`, or raises naming the field."""
    prefix = collection + "/"
    if not name:
        raise invalid(field, f"required: a name like {prefix}{{id}}")
    if not name.startswith(prefix) or not ANY_ID.fullmatch(name[len(prefix) :]):
        raise invalid(field, f"{shorten(name)!r} is not a name like {prefix}{{id}}")
    return name[len(prefix) :]


def parse_anomaly_name(name: str, field: str) -> tuple[str, str]:
    """Returns (detector id, anomaly id) of `detectors/{detector}/anomalies/{anomaly}`."""
    parts = name.split("/")
    if (
        len(parts) != 4
        or parts[0] != "detectors"
        or parts[2] != "anomalies"
        or not ANY_ID.fullmatch(parts[1])
        or not ANY_ID.fullmatch(parts[3])
    ):
        what = "required" if not name else f"{shorten(name)!r} is not"
        raise invalid(field, f"{what} a name like detectors/{{detector}}/anomalies/{{anomaly}}")
    return parts[1], parts[3]


def check_user_id(value: str, field: str, violations: Violations) -> None:
    if value and not USER_ID.fullmatch(value):
        violations.add(
            field,
            f"{shorten(value)!r} is not a valid id: 1 to 63 lower-case letters, digits and "
            "hyphens, starting with a letter and not ending with a hyphen",
        )


def check_length(value: str, limit: int, field: str, violations: Violations) -> None:
    if len(value) > limit:
        violations.add(field, f"at most {limit} characters, got {len(value)}")


def check_output_only_unset(
    message: Message, output_only: Iterable[str], prefix: str, violations: Violations
) -> None:
    """Clients cannot write output-only fields: say so rather than silently drop them."""
    for field in output_only:
        descriptor = message.DESCRIPTOR.fields_by_name[field]
        is_set = (
            message.HasField(field)
            if descriptor.message_type is not None
            else getattr(message, field) != descriptor.default_value
        )
        if is_set:
            violations.add(f"{prefix}.{field}", "output only: the server sets it")


def check_enum(value: int, enum_type: type, field: str, violations: Violations) -> None:
    """Unknown numbers are kept by proto3 parsers; refuse them, and the zero value."""
    names = {number: name for name, number in enum_type.items()}  # type: ignore[attr-defined]
    if value not in names or value == 0:
        allowed = ", ".join(name for number, name in sorted(names.items()) if number)
        violations.add(field, f"must be one of {allowed}")


def check_query(query: str, field: str, what: str, violations: Violations) -> None:
    """A query's text: `what` says which language the field takes, when it is missing."""
    if not query.strip():
        violations.add(field, f"required: {what}")
    elif len(query.encode()) > MAX_QUERY_BYTES:
        violations.add(field, f"at most {MAX_QUERY_BYTES} bytes, got {len(query.encode())}")


def check_step(seconds: int, nanos: int, field: str, violations: Violations) -> None:
    """A step: whole seconds, from one second to a day."""
    if nanos or not 1 <= seconds <= MAX_STEP_SECONDS:
        violations.add(field, f"whole seconds from 1s to {MAX_STEP_SECONDS}s")


def duration_seconds(value: Duration, field: str, violations: Violations) -> float | None:
    if value.nanos < 0 or value.nanos >= 1_000_000_000 or value.seconds < 0:
        violations.add(field, "must be a positive duration")
        return None
    return value.seconds + value.nanos / 1e9


def page_size(value: int, field: str = "page_size", default: int = DEFAULT_PAGE_SIZE) -> int:
    """0 means the default; more than the maximum is lowered to it (AIP-158)."""
    if value < 0:
        raise invalid(field, f"must not be negative, got {value}")
    return min(value or default, MAX_PAGE_SIZE)


def shorten(text: str, limit: int = 80) -> str:
    """Echoes client input in errors without echoing a megabyte of it."""
    return text if len(text) <= limit else text[:limit] + "..."


def url_problem(url: str, max_length: int, *, base: bool) -> str | None:
    """What is wrong with `url` as an http or https URL with a host (a `base` URL has no query
    or fragment either); None when nothing is."""
    if len(url) > max_length:
        return f"at most {max_length} characters, got {len(url)}"
    if any(c.isspace() or not c.isprintable() for c in url):
        return f"{shorten(url)!r} has spaces or control characters: encode them (%20)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as e:
        return f"{shorten(url)!r} is not a URL: {e}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{shorten(url)!r} is not an http or https URL with a host"
    if parts.username is not None or parts.password is not None:
        return "no user or password in the URL: it would be shown and logged"
    if base and (parts.query or parts.fragment):
        return "a base URL has no query or fragment"
    return None
