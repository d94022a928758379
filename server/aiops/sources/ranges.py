"""Range queries on the step grid: aligned to multiples of the step since the epoch (as Grafana
asks, and as VictoriaMetrics, query frontends and Loki answer), and where longer than a server
answers at once (Prometheus and Loki both stop at 11,000 points per series), fetched piece by
piece and stitched into one Matrix."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import numpy as np

from aiops.sources.http import Limits, TooLargeError
from aiops.sources.matrix import Matrix

# Fetches `points` points from `start` (seconds since the epoch) on the query's step grid.
FetchPiece = Callable[[int, int], Awaitable[Matrix]]


async def fetch_range(fetch: FetchPiece, start: int, end: int, step: int, limits: Limits) -> Matrix:
    """The series at the multiples of `step` (seconds since the epoch) from the last one at or
    before `start` to the last one at or before `end`, NaN where a series has no sample; a
    series missing from some pieces is NaN there. The Matrix's start_ms says where it begins."""
    if step <= 0 or end < start:
        raise ValueError(f"bad range: start={start} end={end} step={step}")
    start, end = start - start % step, end - end % step
    points = (end - start) // step + 1
    rows: dict[tuple[tuple[str, str], ...], int] = {}
    labels: list[dict[str, str]] = []
    pieces: list[tuple[int, Matrix]] = []
    warnings: list[str] = []
    piece_points = limits.max_points_per_request
    for first in range(0, points, piece_points):
        matrix = await fetch(start + first * step, min(piece_points, points - first))
        for series_labels in matrix.labels:
            key = tuple(sorted(series_labels.items()))
            if key not in rows:
                rows[key] = len(rows)
                labels.append(series_labels)
        if len(rows) > limits.max_series:
            raise TooLargeError(
                f"the query returns more than {limits.max_series} series; "
                "narrow it with label matchers or aggregate it"
            )
        pieces.append((first, matrix))
        warnings.extend(w for w in matrix.warnings if w not in warnings)
    values = np.full((len(rows), points), np.nan)
    for first, matrix in pieces:
        for series_labels, row_values in zip(matrix.labels, matrix.values, strict=True):
            row = rows[tuple(sorted(series_labels.items()))]
            values[row, first : first + len(row_values)] = row_values
    return Matrix(labels, start * 1000, step * 1000, values, warnings)
