"""From per-point scores to anomalies: runs of points that start at or above the warning
threshold and go on while the points score that high or stay outside the band."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WARNING, CRITICAL = 1, 2  # as aiops.v1.Severity
UP, DOWN = 2, 3  # as aiops.v1.Direction


@dataclass(frozen=True)
class Span:
    """One anomaly: points `start` to `end` (inclusive) of series `series`."""

    series: int
    start: int
    end: int
    peak: int  # the point with the highest score
    peak_score: float
    severity: int


def severities(scores: np.ndarray, warning: float, critical: float) -> np.ndarray:
    """Per point, the severity its score reaches: 0 below `warning`."""
    return np.where(scores >= critical, CRITICAL, np.where(scores >= warning, WARNING, 0))


def outside_band(
    values: np.ndarray, lower: np.ndarray, upper: np.ndarray, direction: int
) -> np.ndarray:
    """Per point [series, time], whether it lies outside [lower, upper] on the watched side
    (aiops.v1.Direction: 0 or BOTH, UP, DOWN); a missing point or band is not outside."""
    with np.errstate(invalid="ignore"):
        above, below = values > upper, values < lower
    if direction == UP:
        return above
    if direction == DOWN:
        return below
    return above | below


def find_spans(
    scores: np.ndarray,
    warning: float,
    critical: float,
    outside: np.ndarray | None = None,
    ongoing: np.ndarray | None = None,
) -> list[Span]:
    """Every maximal run of points, per series [series, time], that starts at a point scoring
    at least `warning` and goes on while its points score that high or lie `outside` the band
    (an anomaly lasts while the series stays away from normal, though the detector's own
    evidence may have got used to it); `ongoing` [series] marks runs already open before the
    first point. A run is critical when any of its points reaches `critical`. Ordered by
    start, then series."""
    spans = []
    for series, row in enumerate(scores):
        running = row >= warning
        goes_on = bool(ongoing[series]) if ongoing is not None else False
        if outside is not None and (goes_on or running.any()):  # else nothing to go on
            for t, (scored, away) in enumerate(zip(running, outside[series], strict=True)):
                goes_on = bool(scored or (goes_on and away))
                running[t] = goes_on
        above = np.concatenate(([False], running, [False]))
        edges = np.flatnonzero(np.diff(above.astype(np.int8)))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            peak = start + int(np.argmax(row[start:stop]))
            spans.append(
                Span(
                    series=series,
                    start=int(start),
                    end=int(stop) - 1,
                    peak=peak,
                    peak_score=float(row[peak]),
                    severity=CRITICAL if row[peak] >= critical else WARNING,
                )
            )
    spans.sort(key=lambda span: (span.start, span.series))
    return spans
