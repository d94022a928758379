"""The series of a running detector, read from what it scored lately (`detectors.recent`):
selected by a Prometheus-style label selector, ranked most anomalous first, paged."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import re2
from google.protobuf.timestamp_pb2 import Timestamp

from aiops.detect.anomalies import severities
from aiops.detectors.recent import FIELDS, RecentScores
from aiops.validation import invalid, shorten
from aiops_api.v1 import detector_pb2, detector_service_pb2

pb = detector_service_pb2

MAX_SELECTOR_BYTES = 4096
# A page of ReadDetectorScores ends before it holds more points than this: five doubles a point
# keep it under gRPC's 4 MiB.
MAX_POINTS = 100_000
DEFAULT_SCORES_PAGE = 10

# Regular expressions are RE2's, as in Prometheus: linear in the value's length, so a filter
# cannot make the server backtrack for minutes.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


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
    """The matchers of `{a="x", b=~"y.*"}` (the braces may be left out; "" is every series).
    Regular expressions match whole values, as in Prometheus. InvalidArgument on `field`."""
    body = text.strip()
    if len(body.encode()) > MAX_SELECTOR_BYTES:
        raise invalid(field, f"at most {MAX_SELECTOR_BYTES} bytes")
    if body.startswith("{") != body.endswith("}") or body == "}":
        raise invalid(field, f"unbalanced braces in {shorten(text)!r}")
    if body.startswith("{"):
        body = body[1:-1]
    matchers: list[Matcher] = []
    position = 0
    while position < len(body.rstrip()):
        found = _MATCHER.match(body, position)
        if found is None:
            raise invalid(
                field,
                f'expected label="value" (or !=, =~, !~) at {shorten(body[position:], 30)!r}',
            )
        label, op, quoted, _ = found.groups()
        value = re.sub(r"\\(.)", r"\1", quoted)
        pattern = None
        if op in ("=~", "!~"):
            try:
                pattern = re2.compile(value, _RE2_OPTIONS)
            except re2.error as error:
                reason = error.args[0].decode() if error.args else "cannot parse it"
                raise invalid(field, f"bad regular expression {value!r}: {reason}") from None
        matchers.append(Matcher(label, op, value, pattern))
        position = found.end()
    return matchers


def ranked(ring: RecentScores, matchers: list[Matcher]) -> list[int]:
    """The rows of the matching series, highest latest score first, then by labels."""
    _, latest = ring.latest_points()
    rows = [
        row for row, labels in enumerate(ring.labels) if all(m.matches(labels) for m in matchers)
    ]
    scores = np.nan_to_num(latest[1], nan=-1.0)
    return sorted(rows, key=lambda row: (-scores[row], sorted(ring.labels[row].items())))


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
    points = 0
    position = offset
    while position < len(rows) and len(response.series) < limit:
        window = ring.window(rows[position], start, end)
        if window is not None:
            size = window.points.shape[1]
            if response.series and points + size > MAX_POINTS:
                break
            points += size
            item = response.series.add(labels=window.labels)
            item.start_time.CopyFrom(_timestamp(window.start))
            for field, column in zip(FIELDS, window.points, strict=True):
                getattr(item, field).extend(column.tolist())
        position += 1
    return response, (position if position < len(rows) else 0)


def _timestamp(seconds: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromSeconds(seconds)
    return stamp
