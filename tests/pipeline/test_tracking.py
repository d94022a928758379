"""Runs of anomalous points become one anomaly each, however the points arrive."""

from __future__ import annotations

import numpy as np
import pytest

from aiops.pipeline.tracking import TrackedAnomaly, anomaly_id, track

KEYS = ["x", "y"]
STEP = 10
WARNING, CRITICAL = 0.9, 0.99


def scores_of(rows: list[str]) -> np.ndarray:
    """'.' scores 0, 'w' a warning, 'C' critical."""
    levels = {".": 0.0, "w": 0.95, "C": 0.995}
    return np.array([[levels[c] for c in row] for row in rows])


def feed(rows: list[str], sizes: list[int], away: list[str] | None = None) -> list[TrackedAnomaly]:
    """The same points in batches of `sizes`; every anomaly as it last changed. `away` marks
    with 'o' the points outside the band."""
    scores = scores_of(rows)
    outside = np.array([[c == "o" for c in row] for row in away]) if away else None
    values = np.arange(scores.size, dtype=float).reshape(scores.shape)
    active: dict[int, TrackedAnomaly] = {}
    latest: dict[str, TrackedAnomaly] = {}
    first = 0
    for size in sizes:
        batch = slice(first, first + size)
        for anomaly in track(
            active,
            scores[:, batch],
            values[:, batch],
            first * STEP,
            STEP,
            KEYS,
            WARNING,
            CRITICAL,
            outside[:, batch] if outside is not None else None,
        ):
            latest[anomaly.id] = anomaly
        first += size
    return sorted(latest.values(), key=lambda a: (a.start, a.series))


ROWS = ["..ww.C..ww", ".wwwwww..."]


@pytest.mark.parametrize("sizes", [[10], [1] * 10, [3, 3, 4], [2, 5, 3], [4, 1, 5]])
def test_batches_of_any_size_give_the_same_anomalies(sizes: list[int]) -> None:
    found = feed(ROWS, sizes)
    assert [(a.series, a.start, a.end, a.severity, a.active) for a in found] == [
        (1, 10, 60, 1, False),
        (0, 20, 30, 1, False),
        (0, 50, 50, 2, False),
        (0, 80, 90, 1, True),  # still anomalous at the last point
    ]
    assert found[1].id == anomaly_id("x", 20)
    assert found[1].peak_value == 2.0  # the first of the equal peak scores


def test_an_active_anomaly_ends_when_a_batch_has_no_anomalous_point() -> None:
    found = feed(["ww...", "....."], [2, 3])
    assert [(a.series, a.start, a.end, a.active) for a in found] == [(0, 0, 10, False)]


def test_the_peak_and_severity_grow_across_batches() -> None:
    found = feed(["wwCw."], [1, 1, 1, 1, 1])
    (anomaly,) = found
    assert (anomaly.start, anomaly.end, anomaly.severity) == (0, 30, 2)
    assert anomaly.peak_score == pytest.approx(0.995) and anomaly.peak_value == 2.0


@pytest.mark.parametrize("sizes", [[8], [1] * 8, [3, 5], [2, 1, 5]])
def test_an_anomaly_lasts_while_its_points_stay_outside_the_band(sizes: list[int]) -> None:
    # Issue 19 case 3: a 6-point contextual anomaly scored high on its first point only (its
    # detector's records rose with it) was stored as lasting one step. Outside the band alone
    # opens nothing (series y); back inside, the anomaly ends.
    found = feed([".C......", "........"], sizes, away=[".oooooo.", ".ooo...."])
    assert [(a.series, a.start, a.end, a.severity, a.active) for a in found] == [
        (0, 10, 60, 2, False)
    ]
