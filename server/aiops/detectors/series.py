"""The series of a running detector, read from what it scored lately (`detectors.recent`):
selected by a Prometheus-style label selector, ranked most anomalous first, paged."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import re2

from aiops.detect.anomalies import severities
from aiops.detectors.recent import FIELDS, RecentScores
from aiops.validation import invalid, shorten
from aiops_api.v1 import detector_pb2, detector_service_pb2, event_pb2

pb = detector_service_pb2

MAX_SELECTOR_BYTES = 4096
# A page of ReadDetectorScores ends before it passes this many bytes, labels included: gRPC's
# limit is 4 MiB. Five doubles a point: at most about 100,000 points.
MAX_PAGE_BYTES = 4 * 1024 * 1024 - 64 * 1024
POINT_BYTES = 8 * len(FIELDS)
DEFAULT_SCORES_PAGE = 10

# Regular expressions are RE2's, as in Prometheus: linear in the value's length, so a filter
# cannot make the server backtrack for minutes.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
_METRIC_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
# Go's escapes in a double-quoted string (strconv.Unquote): PromQL's; any other is an error.
_SIMPLE_ESCAPES = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    "\\": "\\", '"': '"', "'": "'",
}  # fmt: skip
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[0-7]{3}|.)", re.S)


@dataclass(frozen=True)
class Matcher:
    """One `label op "value"` of a selector; a missing label has the value ""."""

    label: str
    op: str
    value: str
    pattern: Any = None  # a compiled RE2 pattern for =~ and !~

    def matches(self, labels: dict[str, str]) -> bool:
        value = labels.get(self.label, "")
        if self.pattern is not None:
            found = self.pattern.fullmatch(value) is not None
            return found if self.op == "=~" else not found
        return (value == self.value) if self.op == "=" else (value != self.value)


def parse_selector(text: str, field: str) -> list[Matcher]:
    """The matchers of a Prometheus series selector: `up{a="x", b=~"y.*"}`, `{a="x"}`, `up`,
    or the matchers alone (`a="x"`); "" is every series. Values are Go-quoted strings, as in
    PromQL (a backslash is written twice); regular expressions match whole values.
    InvalidArgument on `field`."""
    body = text.strip()
    if len(body.encode()) > MAX_SELECTOR_BYTES:
        raise invalid(field, f"at most {MAX_SELECTOR_BYTES} bytes")
    matchers: list[Matcher] = []
    name = _METRIC_NAME.match(body)
    if name is not None and (name.end() == len(body) or body[name.end() :].lstrip()[:1] == "{"):
        matchers.append(Matcher("__name__", "=", name[0]))
        body = body[name.end() :].strip()
    if body.startswith("{"):
        if not body.endswith("}"):
            raise invalid(field, f"no closing brace in {shorten(text)!r}")
        body = body[1:-1]
    elif body.endswith("}"):
        raise invalid(field, f"no opening brace in {shorten(text)!r}")
    position = 0
    while position < len(body.rstrip()):
        found = _MATCHER.match(body, position)
        if found is None:
            raise invalid(
                field,
                'expected label="value" (or !=, =~, !~) at '
                f"{shorten(body[position:].strip(), 30)!r}",
            )
        label, op, quoted = found.groups()
        value = _unquote(quoted, field)
        pattern = None
        if op in ("=~", "!~"):
            try:
                pattern = re2.compile(value, _RE2_OPTIONS)
            except re2.error as error:
                reason = error.args[0].decode() if error.args else "cannot parse it"
                raise invalid(field, f"bad regular expression {value!r}: {reason}") from None
        matchers.append(Matcher(label, op, value, pattern))
        position = found.end()
        if position < len(body):
            if body[position] != ",":
                raise invalid(field, f"expected a comma after {shorten(found[0].strip(), 30)!r}")
            position += 1
    return matchers


def _unquote(quoted: str, field: str) -> str:
    """The value of a Go double-quoted string's body, as PromQL reads it."""

    def escape(found: re.Match[str]) -> str:
        code = found[1]
        if code in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[code]
        if len(code) == 1:
            raise invalid(
                field, f"unknown escape \\{code} in a value: a backslash is \\\\, as in PromQL"
            )
        octal = code[0] in "01234567"
        number = int(code, 8) if octal else int(code[1:], 16)
        if number > (255 if octal else 0x10FFFF) or 0xD800 <= number <= 0xDFFF:
            raise invalid(field, f"escape \\{code} is not a character")
        return chr(number)

    return _ESCAPE.sub(escape, quoted)


def ranked(ring: RecentScores, matchers: list[Matcher]) -> list[int]:
    """The rows of the matching series, highest latest score first, then by label set. One
    numpy sort: a detector of 10,000 series is ranked in about a millisecond."""
    _, latest = ring.latest_points()
    scores = np.nan_to_num(latest[1], nan=-1.0)
    order = np.lexsort((ring.label_ranks(), -scores))  # the last key sorts first
    if matchers:
        labels = ring.labels
        wanted = [all(m.matches(labels[row]) for m in matchers) for row in order]
        order = order[np.asarray(wanted, dtype=bool)]
    return [int(row) for row in order]


def list_series(
    ring: RecentScores | None,
    matchers: list[Matcher],
    offset: int,
    limit: int,
    warning: float,
    critical: float,
) -> tuple[list[pb.DetectorSeries], int, int]:
    """A page of the ranked series from `offset`: the page, the offset after it (0 when last)
    and how many series match."""
    if ring is None:
        return [], 0, 0
    rows = ranked(ring, matchers)
    time, latest = ring.latest_points()
    page = rows[offset : offset + limit]
    levels = severities(np.nan_to_num(latest[1][page]), warning, critical)
    items = []
    for row, level in zip(page, levels, strict=True):
        item = pb.DetectorSeries(
            labels=ring.labels[row],
            value=latest[0, row],
            score=float(np.nan_to_num(latest[1, row])),
            severity=detector_pb2.Severity.Name(int(level)),
        )
        if time is not None:
            item.time.FromSeconds(time)
        items.append(item)
    after = offset + len(page)
    return items, (after if after < len(rows) else 0), len(rows)


def read_scores(
    ring: RecentScores | None,
    matchers: list[Matcher],
    start: int | None,
    end: int | None,
    offset: int,
    limit: int,
) -> tuple[pb.ReadDetectorScoresResponse, int]:
    """A page of the ranked series' points between `start` and `end` (seconds, None for no
    bound) from `offset`: the response and the offset after it (0 when last)."""
    response = pb.ReadDetectorScoresResponse()
    if ring is None:
        return response, 0
    response.step.FromSeconds(ring.step)
    oldest = ring.oldest()
    if oldest is not None:
        response.oldest_time.FromSeconds(oldest)
    rows = ranked(ring, matchers)
    room = MAX_PAGE_BYTES - response.ByteSize()
    position = offset
    while position < len(rows) and len(response.series) < limit:
        window = ring.window(rows[position], start, end)
        if window is not None:
            item = event_pb2.SeriesScores(labels=window.labels)
            # The labels, the time and each field's tag and length: 30 bytes cover the rest.
            fixed = item.ByteSize() + 30 + 5 * len(FIELDS)
            size = fixed + window.points.shape[1] * POINT_BYTES
            if size > room and response.series:
                break
            # Alone too big for a page (labels of many kilobytes, or a huge `recent_points`):
            # its newest points that fit, the range's older ones left for a narrower read.
            kept = window.points[:, -max(1, (room - fixed) // POINT_BYTES) :]
            first = window.start + (window.points.shape[1] - kept.shape[1]) * ring.step
            item.start_time.FromSeconds(first)
            for field, column in zip(FIELDS, kept, strict=True):
                getattr(item, field).extend(column.tolist())
            response.series.append(item)
            room -= fixed + kept.shape[1] * POINT_BYTES
        position += 1
    return response, (position if position < len(rows) else 0)
