"""Loki's HTTP API: the log lines of a LogQL range as streams, paged past Loki's per-query line
limit; LogQL metric queries as numpy [series, time], the same Matrix as Prometheus'; the counts
of Loki's own log patterns (Loki 3, pattern ingester on); labels, series and build info.
Requests go through the shared HTTP layer (failover, retries, circuit breakers, limits)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import httpx
import numpy as np

from aiops.sources import answers
from aiops.sources.http import Limits, QueryError, SourceHttp, TooLargeError
from aiops.sources.matrix import Matrix, ResponseError, parse_matrix
from aiops.sources.ranges import fetch_range

NS = 1_000_000_000
QUERY_RANGE = "/loki/api/v1/query_range"
PATTERNS = "/loki/api/v1/patterns"
# What a line costs in an answer besides its text (timestamp, framing), for max_bytes.
ENTRY_OVERHEAD = 16

Direction = Literal["forward", "backward"]
LabelsKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LogStream:
    labels: dict[str, str]
    entries: list[tuple[int, str]]  # (nanoseconds since the epoch, line), in the query's order


@dataclass(frozen=True)
class Logs:
    streams: list[LogStream]
    warnings: list[str] = field(default_factory=list)
    cut: bool = False  # stopped at `max_bytes` before the lines of the range ran out


@dataclass(frozen=True)
class Patterns:
    """Loki's patterns of a range: per pattern its text (`<_>` where lines vary), the level
    Loki saw on its lines ("unknown" when none) and its line counts per bucket; bucket k holds
    the lines of [start + k * step, start + (k + 1) * step), seconds since the epoch."""

    texts: list[str]
    levels: list[str]
    start: int
    step: int
    counts: np.ndarray  # [pattern, bucket], int64


@dataclass(frozen=True)
class _Entry:
    key: LabelsKey  # the stream's labels
    time: int  # nanoseconds
    line: str


class LokiClient:
    def __init__(
        self,
        urls: Sequence[str],
        limits: Limits | None = None,
        authorization: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = SourceHttp("Loki", urls, limits, authorization, transport=transport)
        self.limits = self.http.limits

    @property
    def answered_by(self) -> str:
        """The URL that answered last."""
        return self.http.answered_by

    async def aclose(self) -> None:
        await self.http.aclose()

    async def query_logs(
        self,
        query: str,
        start_ns: int,
        end_ns: int,
        limit: int = 1000,
        direction: Direction = "backward",
        max_bytes: int | None = None,
        page_lines: int | None = None,
    ) -> Logs:
        """Up to `limit` lines of [start_ns, end_ns), newest first ("backward") or oldest first,
        fetched page by page (of `page_lines`, Loki's limit when None: fewer for long lines);
        with `max_bytes`, lines stop (with a warning) before their text comes to more."""
        if end_ns <= start_ns or limit < 1:
            raise ValueError(f"bad range or limit: start={start_ns} end={end_ns} limit={limit}")
        page_size = min(
            page_lines or self.limits.max_lines_per_request, self.limits.max_lines_per_request
        )
        backward = direction == "backward"
        streams: dict[LabelsKey, LogStream] = {}
        warnings: list[str] = []
        count = size = 0
        # Loki cuts a page at `limit` lines, possibly among lines of one nanosecond; the next
        # page starts at that nanosecond again and skips the lines of it already taken.
        edge: int | None = None
        taken_at_edge: set[_Entry] = set()
        while count < limit:
            want = min(page_size, limit - count + len(taken_at_edge))
            form = {
                "query": query,
                "start": str(start_ns),
                "end": str(end_ns),
                "limit": str(want),
                "direction": direction,
            }
            page, page_warnings = await self.http.post(QUERY_RANGE, _streams, form)
            warnings.extend(w for w in page_warnings if w not in warnings)
            # Loki answers stream by stream; one order across them keeps `limit` honest.
            page.sort(key=lambda entry: entry.time, reverse=backward)
            added = 0
            for entry in page:
                if entry.time == edge and entry in taken_at_edge:
                    continue
                stream = streams.get(entry.key)
                cost = len(entry.line.encode()) + ENTRY_OVERHEAD
                if stream is None:
                    cost += sum(len(k) + len(v) + ENTRY_OVERHEAD for k, v in entry.key)
                if max_bytes is not None and size + cost > max_bytes:
                    warnings.append(
                        f"stopped after {count} lines, at {max_bytes // 1024} KiB: "
                        "narrow the query or shorten the range for the rest"
                    )
                    return Logs(list(streams.values()), warnings, cut=True)
                if stream is None:
                    stream = streams[entry.key] = LogStream(dict(entry.key), [])
                stream.entries.append((entry.time, entry.line))
                size += cost
                count += 1
                added += 1
                if count == limit:
                    break
            if len(page) < want or not added:
                break  # Loki had no more
            last = page[-1].time
            at_last = {entry for entry in page if entry.time == last}
            taken_at_edge = at_last | taken_at_edge if last == edge else at_last
            edge = last
            if len(taken_at_edge) >= page_size:
                # A page cannot hold this nanosecond's lines and one more: move past it.
                warnings.append(
                    f"more than {page_size - 1} lines at {last} ns; the rest of them are left out"
                )
                taken_at_edge, edge = set(), None
                start_ns, end_ns = (start_ns, last) if backward else (last + 1, end_ns)
            else:
                start_ns, end_ns = (start_ns, last + 1) if backward else (last, end_ns)
            if start_ns >= end_ns:
                break
        return Logs(list(streams.values()), warnings)

    async def query_range(self, query: str, start: int, end: int, step: int) -> Matrix:
        """A LogQL metric query's series at start, start + step, ... end (seconds since the
        epoch), NaN where a series has no sample: the same as PrometheusClient.query_range."""

        async def piece(piece_start: int, points: int) -> Matrix:
            form = {
                "query": query,
                "start": str(piece_start * NS),
                "end": str((piece_start + (points - 1) * step) * NS),
                "step": str(step),
            }
            return await self.http.post(
                QUERY_RANGE,
                lambda body: _matrix(body, piece_start * 1000, step * 1000, points),
                form,
            )

        return await fetch_range(piece, start, end, step, self.limits)

    async def patterns(self, selector: str, start: int, end: int, step: int) -> Patterns:
        """The counts of Loki's patterns of the streams `selector` selects in [start, end)
        (seconds, whole steps apart), per step. NotServedError when Loki serves no patterns
        (before 3.0, or its pattern ingester off). Loki keeps patterns for a few hours
        (`pattern_ingester.retain_for`): older buckets come back empty."""
        if step <= 0 or (end - start) % step or end <= start:
            raise ValueError(f"bad range: start={start} end={end} step={step}")
        buckets = (end - start) // step
        if buckets > self.limits.max_points_per_request:
            raise ValueError(f"more than {self.limits.max_points_per_request} buckets")
        form = {
            "query": selector,
            "start": str(start * NS),
            "end": str(end * NS),
            "step": f"{step}s",
        }
        return await self.http.post(
            PATTERNS, lambda body: _patterns(body, start, step, buckets), form, optional=True
        )

    async def labels(self, start_ns: int, end_ns: int) -> list[str]:
        """The label names of the streams with lines in [start_ns, end_ns]."""
        return await self.http.get(
            "/loki/api/v1/labels", answers.names, {"start": str(start_ns), "end": str(end_ns)}
        )

    async def series(self, match: str, start_ns: int, end_ns: int) -> list[dict[str, str]]:
        """The label sets of the streams that `match` (a stream selector) selects."""
        found = await self.http.post(
            "/loki/api/v1/series",
            answers.label_sets,
            {"match[]": match, "start": str(start_ns), "end": str(end_ns)},
        )
        if len(found) > self.limits.max_series:
            raise TooLargeError(f"more than {self.limits.max_series} streams match {match!r}")
        return found

    async def build_info(self) -> dict[str, str]:
        # Unlike Prometheus', Loki's build info comes without the status envelope.
        return await self.http.get(
            "/loki/api/v1/status/buildinfo",
            lambda body: answers.string_map(answers.load(body)),
            {},
        )


def _streams(body: bytes) -> tuple[list[_Entry], list[str]]:
    """The lines of a log query's answer, and its warnings."""
    document = answers.success(body)
    found = document["data"]
    if not isinstance(found, dict) or not isinstance(found.get("result"), list):
        raise ResponseError("no result")
    if found.get("resultType") != "streams":
        raise QueryError(
            'this is a metric query; a log query selects lines, such as {app="api"} |= "error"'
        )
    entries = []
    try:
        for stream in found["result"]:
            key = tuple(sorted(answers.string_map(stream["stream"]).items()))
            # [nanoseconds, line], or with structured metadata after them.
            entries += [_Entry(key, int(value[0]), str(value[1])) for value in stream["values"]]
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise ResponseError(f"malformed stream: {error!r}") from None
    warnings = document.get("warnings") or []
    return entries, [str(warning) for warning in warnings] if isinstance(warnings, list) else []


def _patterns(body: bytes, start: int, step: int, buckets: int) -> Patterns:
    """A patterns answer: {"status": "success", "data": [{"pattern": text, "level": level,
    "samples": [[seconds, count], ...]}, ...]}. Samples outside the range are left out; a
    pattern Loki lists twice (once per level, or per stream) is summed into one."""
    found = answers.data(body)
    if found is None:
        found = []
    if not isinstance(found, list):
        raise ResponseError("patterns: not a list")
    rows: dict[str, int] = {}
    texts: list[str] = []
    levels: list[str] = []
    counts: list[np.ndarray] = []
    try:
        for item in found:
            text = str(item["pattern"])
            level = str(item.get("level") or "unknown")
            row = rows.get(text)
            if row is None:
                row = rows[text] = len(texts)
                texts.append(text)
                levels.append(level)
                counts.append(np.zeros(buckets, dtype=np.int64))
            elif levels[row] == "unknown":
                levels[row] = level
            for seconds, count in item["samples"] or []:
                bucket, off_grid = divmod(int(seconds) - start, step)
                if not off_grid and 0 <= bucket < buckets:
                    counts[row][bucket] += int(count)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ResponseError(f"malformed pattern: {error!r}") from None
    matrix = np.array(counts, dtype=np.int64).reshape(len(texts), buckets)
    return Patterns(texts, levels, start, step, matrix)


def _matrix(body: bytes, start_ms: int, step_ms: int, points: int) -> Matrix:
    try:
        return parse_matrix(body, start_ms, step_ms, points)
    except ResponseError:
        if _result_type(body) == "streams":
            raise QueryError(
                "this is a log query; a metric query counts or measures lines, such as "
                'sum by (level) (count_over_time({app="api"}[5m]))'
            ) from None
        raise


def _result_type(body: bytes) -> str:
    try:
        found = answers.data(body)
    except ResponseError:
        return ""
    return str(found.get("resultType", "")) if isinstance(found, dict) else ""
