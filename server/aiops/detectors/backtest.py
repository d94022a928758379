"""Backtests: a detector's settings tried over past series (sent inline, or a data source's
range) from a fresh state, scored off the event loop, with the anomalies they would have raised.
Nothing is stored."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
from google.protobuf.timestamp_pb2 import Timestamp

from aiops import queries
from aiops.detect.anomalies import find_spans, outside_band, severities
from aiops.detectors import spec
from aiops.errors import FieldViolation, InvalidArgument
from aiops.sources.clients import SourceClients, SourceConfig
from aiops.sources.matrix import Matrix
from aiops.validation import Violations, check_length
from aiops_api.v1 import anomaly_pb2, detector_pb2, detector_service_pb2

pb = detector_service_pb2

MAX_SERIES = 1000
# Four doubles and a severity per point come back: 100,000 points keep the answer under the
# 4 MiB limit.
MAX_POINTS = 100_000
MAX_LABELS = 64
MAX_LABEL_BYTES = 1024


def check(request: pb.BacktestDetectorRequest, step_seconds: int, violations: Violations) -> None:
    """The series or the range of a request (its detector is `spec.prepare`d apart)."""
    if not request.HasField("range"):
        _check_series(request, step_seconds, violations)
        return
    if request.series:
        violations.add("series", "either series or range, not both")
    _check_range(request.range, step_seconds, violations)


def _check_series(
    request: pb.BacktestDetectorRequest, step_seconds: int, violations: Violations
) -> None:
    if not 1 <= len(request.series) <= MAX_SERIES:
        violations.add("series", f"1 to {MAX_SERIES} series, got {len(request.series)}")
        return
    total = sum(len(series.values) for series in request.series)
    if total > MAX_POINTS:
        violations.add("series", f"at most {MAX_POINTS} points in all, got {total}")
    for i, series in enumerate(request.series):
        path = f"series[{i}]"
        if not series.values:
            violations.add(f"{path}.values", "required: at least one value")
        if not series.HasField("start_time"):
            violations.add(f"{path}.start_time", "required")
        elif step_seconds > 0 and (
            series.start_time.nanos or series.start_time.seconds % step_seconds
        ):
            violations.add(
                f"{path}.start_time",
                f"must be a whole number of steps ({step_seconds}s) since the epoch",
            )
        if len(series.labels) > MAX_LABELS:
            violations.add(
                f"{path}.labels", f"at most {MAX_LABELS} labels, got {len(series.labels)}"
            )
        for key, value in series.labels.items():
            check_length(key, MAX_LABEL_BYTES, f"{path}.labels", violations)
            check_length(value, MAX_LABEL_BYTES, f"{path}.labels[{key[:40]!r}]", violations)


def _check_range(
    time_range: detector_service_pb2.TimeRange, step_seconds: int, violations: Violations
) -> None:
    missing = [field for field in ("start_time", "end_time") if not time_range.HasField(field)]
    for field in missing:
        violations.add(f"range.{field}", "required")
    if missing or step_seconds <= 0:
        return
    start, end = range_steps(time_range, step_seconds)
    if end < start:
        violations.add("range.end_time", "must be at least one step after start_time")
    elif end - start + 1 > MAX_POINTS:
        violations.add("range", f"more than {MAX_POINTS} steps: shorten it or raise the step")


def range_steps(time_range: detector_service_pb2.TimeRange, step_seconds: int) -> tuple[int, int]:
    """The first and last step (time / step) inside the range."""
    return -(-time_range.start_time.seconds // step_seconds), (
        time_range.end_time.seconds // step_seconds
    )


def _series_of(matrix: Matrix) -> list[pb.BacktestSeries]:
    """A data source's answer as the series a backtest request could have sent."""
    if len(matrix.labels) > MAX_SERIES or matrix.values.size > MAX_POINTS:
        raise InvalidArgument(
            [
                FieldViolation(
                    "range",
                    f"the query returns {len(matrix.labels)} series of {matrix.values.shape[1]} "
                    f"points, over {MAX_SERIES} series or {MAX_POINTS} points in all: narrow it",
                )
            ]
        )
    start = Timestamp(seconds=matrix.start_ms // 1000)
    return [
        pb.BacktestSeries(labels=labels, start_time=start, values=values)
        for labels, values in zip(matrix.labels, matrix.values, strict=True)
    ]


async def over_range(
    clients: SourceClients,
    source: SourceConfig,
    detector: detector_pb2.Detector,
    time_range: detector_service_pb2.TimeRange,
) -> pb.BacktestDetectorResponse:
    """Runs the detector's query over `source` on the steps inside `time_range`, then scores it
    as `run` does; a query the data source refuses is INVALID_ARGUMENT on `detector.query`."""
    step = detector.step.seconds
    first, last = range_steps(time_range, step)
    matrix = await queries.fetch_matrix(
        clients, source, detector.query, first * step, last * step, step, field="detector.query"
    )
    response = await run(detector, _series_of(matrix))
    response.warnings.extend(matrix.warnings)
    if not matrix.labels:
        response.warnings.append(
            f"the query returned no series over the range from {source.name}: check its "
            "metric names and label matchers, and that the data source holds data that old"
        )
    return response


async def run(
    detector: detector_pb2.Detector, series_list: Sequence[pb.BacktestSeries]
) -> pb.BacktestDetectorResponse:
    """Scores each series from a fresh state, as a detector started at its first point would."""
    algorithm, scoring = spec.build(detector)
    step = detector.step.seconds
    thresholds = detector.thresholds
    response = pb.BacktestDetectorResponse()
    anomalies = []
    for series in series_list:
        values = np.asarray(series.values, dtype=np.float64)[np.newaxis, :]
        first_step = series.start_time.seconds // step
        # Kernels release the GIL: scoring runs beside the server, not in its way.
        scored = await asyncio.to_thread(
            algorithm.update, values, algorithm.new_state(1), first_step, scoring
        )
        response.series.add(
            labels=series.labels,
            start_time=series.start_time,
            scores=scored.scores[0],
            expected=scored.expected[0],
            lower=scored.lower[0],
            upper=scored.upper[0],
            severities=severities(scored.scores[0], thresholds.warning, thresholds.critical),
        )
        outside = outside_band(values, scored.lower, scored.upper, detector.direction)
        for span in find_spans(scored.scores, thresholds.warning, thresholds.critical, outside):
            anomalies.append(
                anomaly_pb2.Anomaly(
                    series_labels=series.labels,
                    start_time=Timestamp(seconds=(first_step + span.start) * step),
                    end_time=Timestamp(seconds=(first_step + span.end) * step),
                    peak_score=span.peak_score,
                    peak_value=series.values[span.peak],
                    severity=detector_pb2.Severity.Name(span.severity),
                    state=anomaly_pb2.Anomaly.STATE_OPEN,
                )
            )
    anomalies.sort(key=lambda anomaly: anomaly.start_time.seconds)
    response.anomalies.extend(anomalies)
    return response
