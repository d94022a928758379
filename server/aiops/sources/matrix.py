"""Prometheus' JSON matrix responses (query_range) into numpy [series, time], in one numba pass
over the bytes: no Python object per sample, so a response of ten million samples parses in
about a second instead of a minute. Only the small parts (status, warnings, each series' label
set) go through the json module.

Answers come as servers make them, not always as asked: samples on the server's own step grid
(VictoriaMetrics, query frontends and Loki align to the step) or outside the range, series that
share one label set (relabelling, federation, sharded frontends), native histograms in place of
floats. Each is taken as far as it can be and said in the Matrix's warnings, never silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from aiops.sources import decimal


class ResponseError(ValueError):
    """A response that is not the matrix asked for: malformed, or not a success."""


def series_key(labels: dict[str, str]) -> str:
    """One string per label set, the same whatever the labels' order: a series' identity."""
    return json.dumps(labels, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Matrix:
    labels: list[dict[str, str]]  # per series
    start_ms: int  # the time of column 0
    step_ms: int
    values: np.ndarray  # [series, points]; NaN where a series has no sample
    warnings: list[str]


# What the scan found wrong, by code.
OK, MALFORMED = 0, 1
# What the scan took as it came, counted: samples outside the range (left out), samples off the
# step grid (put in the step they fall in).
OUTSIDE, OFF_GRID = 0, 1
# Per series, besides where its labels are: whether it holds native histograms.
HISTOGRAMS = 2
QUOTE, BACKSLASH, COLON, COMMA = 34, 92, 58, 44
OPEN_OBJECT, CLOSE_OBJECT, OPEN_ARRAY, CLOSE_ARRAY = 123, 125, 91, 93


def parse_matrix(body: bytes, start_ms: int, step_ms: int, points: int) -> Matrix:
    """The series of a query_range response on the grid start_ms + k * step_ms, k in
    [0, points): a sample between two steps goes to the earlier one, a sample outside the grid
    is left out, both with a warning. Series with one label set are merged
    (`merge_duplicates`). ResponseError when the body is not a successful matrix answer."""
    buf = np.frombuffer(body, dtype=np.uint8)
    tallies = np.zeros(2, dtype=np.int64)
    code, position, values, metrics, fallbacks, result = _scan(
        buf, start_ms, step_ms, points, tallies
    )
    if code != OK:
        raise ResponseError(f"malformed JSON at byte {position}: {_excerpt(body, position)}")
    # The envelope, without the bulk: status, resultType, warnings, or the error.
    start, end = result
    envelope = _load(body[:start] + b"[]" + body[end:]) if end else _load(body)
    if not isinstance(envelope, dict) or envelope.get("status") != "success":
        error = envelope.get("error", "no status") if isinstance(envelope, dict) else "not JSON"
        raise ResponseError(f"query failed: {error}")
    data = envelope.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "matrix" or not end:
        raise ResponseError("not a matrix result")
    for row, column, first, last in fallbacks:
        try:  # the rare decimal numba's parser leaves to Python
            values[row, column] = float(body[first:last])
        except ValueError:
            raise ResponseError(f"not a sample value: {body[first:last][:40]!r}") from None
    labels = [_load(body[first:last]) for first, last, _ in metrics]
    warnings = envelope_warnings(envelope)
    if tallies[OUTSIDE]:
        warnings.append(
            f"{tallies[OUTSIDE]} samples outside the range asked for were left out: "
            "the server aligns its answers its own way"
        )
    if tallies[OFF_GRID]:
        warnings.append(
            f"{tallies[OFF_GRID]} samples off the {step_ms / 1000:g}s step grid were put on "
            "the step before them: the server aligns its answers its own way"
        )
    with_histograms = [labels[row] for row in np.flatnonzero(metrics[:, HISTOGRAMS])]
    if with_histograms:
        warnings.append(histograms_warning(with_histograms))
    labels, values, merged = merge_duplicates(labels, values)
    return Matrix(labels, start_ms, step_ms, values, warnings + merged)


def envelope_warnings(envelope: dict[str, Any]) -> list[str]:
    """What a successful answer says besides its data: Prometheus' `warnings` and `infos`, and
    VictoriaMetrics' `isPartial` (some of its storage nodes did not answer)."""
    said = [str(item) for key in ("warnings", "infos") for item in envelope.get(key) or []]
    if envelope.get("isPartial") is True:
        said.append("the answer is partial: some of the server's storage did not answer")
    return said


def histograms_warning(labels: list[dict[str, str]]) -> str:
    """What to do about series of native histograms, which have no value to score."""
    return (
        f"{len(labels)} series hold native histograms, which have no single value to score "
        f"(first {series_key(labels[0])}): ask for one with histogram_quantile(0.99, ...), "
        "histogram_count(...) or histogram_sum(...)"
    )


def merge_duplicates(
    labels: list[dict[str, str]], values: np.ndarray
) -> tuple[list[dict[str, str]], np.ndarray, list[str]]:
    """Series that share one label set (a federation, a relabelling or a sharded query
    frontend's answer) as one: each point from whichever series has it; where two have
    different values at one point, the first series' value is kept and a warning says so.
    Returns (labels, values [series, points], warnings)."""
    rows: dict[str, int] = {}
    for labels_of_row in labels:
        rows.setdefault(series_key(labels_of_row), len(rows))
    if len(rows) == len(labels):
        return labels, values, []
    merged = np.full((len(rows), values.shape[1]), np.nan)
    kept: list[dict[str, str]] = []
    disagreements = 0
    for labels_of_row, row_values in zip(labels, values, strict=True):
        row = rows[series_key(labels_of_row)]
        if row == len(kept):
            kept.append(labels_of_row)
        target = merged[row]
        disagreements += int(
            np.count_nonzero((target != row_values) & ~np.isnan(row_values) & ~np.isnan(target))
        )
        np.copyto(target, row_values, where=np.isnan(target))
    if not disagreements:
        return kept, merged, []
    warning = (
        f"series with one label set disagree at {disagreements} points; the value of the "
        "one the server listed first is kept"
    )
    return kept, merged, [warning]


def _load(text: bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise ResponseError(f"malformed JSON: {error}") from None


def _excerpt(body: bytes, position: int) -> str:
    return repr(body[max(0, position - 20) : position + 20])


@njit(cache=True, nogil=True, inline="always")
def _space(buf: np.ndarray, i: int) -> int:
    while i < buf.shape[0] and (buf[i] == 32 or buf[i] == 10 or buf[i] == 13 or buf[i] == 9):
        i += 1
    return i


@njit(cache=True, nogil=True)
def _string_end(buf: np.ndarray, i: int) -> int:
    """Past the closing quote of the string opening at i; -1 if it never closes."""
    i += 1
    while i < buf.shape[0]:
        if buf[i] == BACKSLASH:
            i += 2
        elif buf[i] == QUOTE:
            return i + 1
        else:
            i += 1
    return -1


@njit(cache=True, nogil=True)
def _value_end(buf: np.ndarray, i: int) -> int:
    """Past the JSON value starting at i; -1 if it is cut short."""
    if i >= buf.shape[0]:
        return -1
    if buf[i] == QUOTE:
        return _string_end(buf, i)
    if buf[i] == OPEN_OBJECT or buf[i] == OPEN_ARRAY:
        depth = 0
        while i < buf.shape[0]:
            byte = buf[i]
            if byte == QUOTE:
                i = _string_end(buf, i)
                if i < 0:
                    return -1
                continue
            if byte == OPEN_OBJECT or byte == OPEN_ARRAY:  # noqa: SIM109 (numba: no `in` on tuples)
                depth += 1
            elif byte == CLOSE_OBJECT or byte == CLOSE_ARRAY:  # noqa: SIM109
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return -1
    while i < buf.shape[0]:
        byte = buf[i]
        if byte == COMMA or byte == CLOSE_OBJECT or byte == CLOSE_ARRAY or byte <= 32:  # noqa: SIM109
            break
        i += 1
    return i


@njit(cache=True, nogil=True)
def _key_is(buf: np.ndarray, start: int, end: int, key: bytes) -> bool:
    """Whether the string token buf[start:end] (quotes included) is `key`."""
    return decimal.is_text(buf, start + 1, end - 1, key)


@njit(cache=True, nogil=True)
def _field(buf: np.ndarray, i: int) -> tuple[int, int, int]:
    """At `"key": value` (i on the quote): (key end, value start), or (-1, position)."""
    key_end = _string_end(buf, i)
    if key_end < 0:
        return -1, i, 0
    colon = _space(buf, key_end)
    if colon >= buf.shape[0] or buf[colon] != COLON:
        return -1, colon, 0
    return key_end, _space(buf, colon + 1), 0


@njit(cache=True, nogil=True)
def _next_item(buf: np.ndarray, i: int, close: int) -> tuple[int, bool]:
    """After an item of an object or array: (where the next item starts, True), or (past the
    closing bracket, False), or (-1, False) when neither a comma nor `close` follows."""
    i = _space(buf, i)
    if i < buf.shape[0] and buf[i] == COMMA:
        return _space(buf, i + 1), True
    if i < buf.shape[0] and buf[i] == close:
        return i + 1, False
    return -1, False


@njit(cache=True, nogil=True)
def _timestamp_ms(buf: np.ndarray, i: int) -> tuple[int, int, bool]:
    """The JSON number of seconds at i in whole milliseconds, where it ends, and whether it
    had a nonzero part finer than a millisecond; -1 if there is none."""
    start, seconds = i, 0
    while i < buf.shape[0] and 48 <= buf[i] <= 57:
        seconds = seconds * 10 + int(buf[i] - 48)
        i += 1
    if i == start:
        return -1, i, False
    millis, scale, finer = 0, 100, False
    if i < buf.shape[0] and buf[i] == 46:  # .
        i += 1
        while i < buf.shape[0] and 48 <= buf[i] <= 57:
            if scale:
                millis += int(buf[i] - 48) * scale
                scale //= 10
            elif buf[i] != 48:
                finer = True
            i += 1
    return seconds * 1000 + millis, i, finer


@njit(cache=True, nogil=True)
def _samples(buf, i, row, start_ms, step_ms, values, fallbacks, n_fallbacks, tallies):  # type: ignore[no-untyped-def]
    """[[t, "v"], ...] at i into values[row]: (code, position after it, fallbacks, count).
    A sample between two steps goes to the earlier one unless that has a sample on the grid;
    one outside the grid is left out; `tallies` counts both."""
    if i >= buf.shape[0] or buf[i] != OPEN_ARRAY:
        return MALFORMED, i, fallbacks, n_fallbacks
    i = _space(buf, i + 1)
    more = not (i < buf.shape[0] and buf[i] == CLOSE_ARRAY)
    if not more:
        i += 1
    while more:
        if i >= buf.shape[0] or buf[i] != OPEN_ARRAY:
            return MALFORMED, i, fallbacks, n_fallbacks
        t_start = _space(buf, i + 1)
        millis, t_end, finer = _timestamp_ms(buf, t_start)
        if millis < 0:
            return MALFORMED, t_start, fallbacks, n_fallbacks
        offset = millis - start_ms
        column = offset // step_ms
        on_grid = offset % step_ms == 0 and not finer
        if offset < 0 or column >= values.shape[1]:
            tallies[OUTSIDE] += 1
            column = -1
        elif not on_grid:
            tallies[OFF_GRID] += 1
            if not np.isnan(values[row, column]):
                column = -1
        comma = _space(buf, t_end)
        v_start = _space(buf, comma + 1)
        if comma >= buf.shape[0] or buf[comma] != COMMA or v_start >= buf.shape[0]:
            return MALFORMED, comma, fallbacks, n_fallbacks
        v_end = _string_end(buf, v_start) if buf[v_start] == QUOTE else -1
        if v_end < 0:
            return MALFORMED, v_start, fallbacks, n_fallbacks
        value, ok = decimal.parse(buf, v_start + 1, v_end - 1)
        if column < 0:
            pass
        elif ok:
            values[row, column] = value
        else:  # left to Python's float()
            if n_fallbacks == fallbacks.shape[0]:
                grown = np.zeros((2 * n_fallbacks, 4), dtype=np.int64)
                grown[:n_fallbacks] = fallbacks
                fallbacks = grown
            fallbacks[n_fallbacks, 0] = row
            fallbacks[n_fallbacks, 1] = column
            fallbacks[n_fallbacks, 2] = v_start + 1
            fallbacks[n_fallbacks, 3] = v_end - 1
            n_fallbacks += 1
        close = _space(buf, v_end)
        if close >= buf.shape[0] or buf[close] != CLOSE_ARRAY:
            return MALFORMED, close, fallbacks, n_fallbacks
        i, more = _next_item(buf, close + 1, CLOSE_ARRAY)
        if i < 0:
            return MALFORMED, close + 1, fallbacks, n_fallbacks
    return OK, i, fallbacks, n_fallbacks


@njit(cache=True, nogil=True)
def _scan(buf, start_ms, step_ms, points, tallies):  # type: ignore[no-untyped-def]
    """(code, position, values, per series [labels' start, end, HISTOGRAMS flag], fallbacks,
    result span) of a response: walks {"data": {"result": [{"metric": {...}, "values": [...],
    "histograms": [...]}, ...]}} and skips the rest, which the json module reads."""
    values = np.full((16, points), np.nan)
    metrics = np.zeros((16, 3), dtype=np.int64)
    fallbacks = np.zeros((16, 4), dtype=np.int64)
    n_series = n_fallbacks = 0
    result = np.zeros(2, dtype=np.int64)
    code, position = OK, 0

    depth = 0  # 0: the top object, 1: data, 2: result, 3: a series
    i = _space(buf, 0)
    if i >= buf.shape[0] or buf[i] != OPEN_OBJECT:
        code, position = MALFORMED, i
    else:
        i = _space(buf, i + 1)
    more = code == OK and not (i < buf.shape[0] and buf[i] == CLOSE_OBJECT)
    if code == OK and not more:
        i += 1
    closers = np.array([CLOSE_OBJECT, CLOSE_OBJECT, CLOSE_ARRAY, CLOSE_OBJECT])
    while code == OK and (more or depth > 0):
        if not more:  # the container at `depth` just closed
            depth -= 1
            if depth == 2:
                if metrics[n_series, 1] == 0:
                    code, position = MALFORMED, i  # a series without its labels
                    break
                n_series += 1
            elif depth == 1:
                result[1] = i
            i, more = _next_item(buf, i, closers[depth])
            if i < 0:
                code, position = MALFORMED, position
            continue
        if depth == 2:  # a series starts
            if buf[i] != OPEN_OBJECT:
                code, position = MALFORMED, i
                break
            if n_series == values.shape[0]:
                grown = np.full((2 * n_series, points), np.nan)
                grown[:n_series] = values
                values = grown
                grown_metrics = np.zeros((2 * n_series, 3), dtype=np.int64)
                grown_metrics[:n_series] = metrics
                metrics = grown_metrics
            i = _space(buf, i + 1)
            depth = 3
            more = not (i < buf.shape[0] and buf[i] == CLOSE_OBJECT)
            if not more:
                i += 1
            continue
        if i >= buf.shape[0] or buf[i] != QUOTE:
            code, position = MALFORMED, i
            break
        key_end, value_start, _ = _field(buf, i)
        if key_end < 0:
            code, position = MALFORMED, value_start
            break
        opens = value_start < buf.shape[0] and (
            (depth == 0 and _key_is(buf, i, key_end, b"data") and buf[value_start] == OPEN_OBJECT)
            or (
                depth == 1
                and _key_is(buf, i, key_end, b"result")
                and buf[value_start] == OPEN_ARRAY
            )
        )
        if opens:  # step into data, or into the list of series
            if depth == 1:
                result[0] = value_start
            i = _space(buf, value_start + 1)
            depth += 1
            more = not (i < buf.shape[0] and buf[i] == closers[depth])
            if not more:
                i += 1
            continue
        if depth == 3 and _key_is(buf, i, key_end, b"values"):
            code, value_end, fallbacks, n_fallbacks = _samples(
                buf,
                value_start,
                n_series,
                start_ms,
                step_ms,
                values,
                fallbacks,
                n_fallbacks,
                tallies,
            )
            if code != OK:
                position = value_end
                break
        else:
            value_end = _value_end(buf, value_start)
            if value_end < 0:
                code, position = MALFORMED, value_start
                break
            if depth == 3 and _key_is(buf, i, key_end, b"metric"):
                metrics[n_series, 0] = value_start
                metrics[n_series, 1] = value_end
            elif depth == 3 and _key_is(buf, i, key_end, b"histograms"):
                metrics[n_series, HISTOGRAMS] = 1
        next_start, more = _next_item(buf, value_end, closers[depth])
        if next_start < 0:
            code, position = MALFORMED, value_end
            break
        i = next_start
    if code == OK and _space(buf, i) != buf.shape[0]:
        code, position = MALFORMED, i
    if code != OK:
        n_series = n_fallbacks = 0
    return code, position, values[:n_series], metrics[:n_series], fallbacks[:n_fallbacks], result


def warm_up() -> None:
    """Compiles (or loads from numba's cache) the parser's kernels: the first response must not
    wait for them on the event loop."""
    body = (
        b'{"status":"success","data":{"resultType":"matrix",'
        b'"result":[{"metric":{},"values":[[0,"1.5"]]}]}}'
    )
    parse_matrix(body, 0, 1000, 1)
