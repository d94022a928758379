"""From per-point scores to anomalies: runs of points at or above the warning threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WARNING, CRITICAL = 1, 2  # as aiops.v1.Severity


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


def find_spans(scores: np.ndarray, warning: float, critical: float) -> list[Span]:
    """Every maximal run of points scoring at least `warning`, per series [series, time]; a run
    is critical when any of its points reaches `critical`. Ordered by start, then series."""
    spans = []
    for series, row in enumerate(scores):
        above = np.concatenate(([False], row >= warning, [False]))
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
