"""What a detector makes of a series' missing points (`aiops.v1.Absence`): skip them, read them
as 0, or open a "no data" anomaly when a series that reported at every step stops.

A service that dies often takes its series with it: `sum(rate(requests[5m]))` then returns
nothing, and a detector that skips missing points says nothing at all. Prometheus' own answer is
an `absent()` alert; this is the same for every series a detector knows, without a rule per
series.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from aiops.pipeline.tracking import NO_DATA, TrackedAnomaly, anomaly_id
from aiops_api.v1 import detector_pb2

Absence = detector_pb2.Absence
# A no-data anomaly scores 1, above any critical threshold: the data is certainly gone.
NO_DATA_SCORE = 1.0


def fill_zero(values: np.ndarray) -> np.ndarray:
    """POLICY_ZERO: the missing points [series, time] read as 0."""
    return np.where(np.isnan(values), 0.0, values)


class AbsenceTracker:
    """POLICY_NO_DATA for one detector's series: per series, how many points it has had in a row
    and how many it has missed in a row, and its open no-data anomaly.

    A series is regular when it had a point at each of its last `steps` steps before its gap;
    once such a series misses `steps` in a row, an anomaly opens from its first missing point
    and grows with each missing one, until a point comes back. Counts live in memory: after a
    restart a series must be regular again before its absence counts (open anomalies are kept
    in the checkpoint)."""

    def __init__(self, steps: int, series: int = 0) -> None:
        self.steps = steps
        self.present = np.zeros(series, dtype=np.int64)  # points in a row, up to the last one
        self.missing = np.zeros(series, dtype=np.int64)  # points missed in a row since
        self.regular = np.zeros(series, dtype=bool)  # whether its last run was `steps` long
        self.last_value = np.zeros(series)  # its last value before the gap
        self.open: dict[int, TrackedAnomaly] = {}  # by series

    def grow(self, count: int) -> None:
        """Makes room for `count` series new to the detector."""
        self.present = np.concatenate((self.present, np.zeros(count, dtype=np.int64)))
        self.missing = np.concatenate((self.missing, np.zeros(count, dtype=np.int64)))
        self.regular = np.concatenate((self.regular, np.zeros(count, dtype=bool)))
        self.last_value = np.concatenate((self.last_value, np.zeros(count)))

    def restore(self, anomalies: list[TrackedAnomaly]) -> None:
        """Takes the open no-data anomalies back from a checkpoint: they grow on while their
        series stay missing."""
        for anomaly in anomalies:
            self.open[anomaly.series] = anomaly
            self.regular[anomaly.series] = True
            self.missing[anomaly.series] = self.steps
            self.last_value[anomaly.series] = anomaly.peak_value

    def update(
        self, values: np.ndarray, first_time: int, step: int, series_keys: list[str]
    ) -> list[TrackedAnomaly]:
        """Counts the points [series, time] from `first_time` (epoch seconds), step by step;
        returns the no-data anomalies that opened, grew or ended, as they are now."""
        changed: dict[str, TrackedAnomaly] = {}
        for column in range(values.shape[1]):
            time = first_time + column * step
            seen = ~np.isnan(values[:, column])
            # A gap begins: was the run before it long enough to call the series regular?
            starts = ~seen & (self.missing == 0)
            self.regular[starts] = self.present[starts] >= self.steps
            self.present = np.where(seen, self.present + 1, 0)
            self.missing = np.where(seen, 0, self.missing + 1)
            self.last_value = np.where(seen, values[:, column], self.last_value)
            for series in np.flatnonzero(seen).tolist():
                if series in self.open:  # back: the anomaly ends at its last missing point
                    ended = replace(self.open.pop(series), active=False)
                    changed[ended.id] = ended
            due = ~seen & self.regular & (self.missing >= self.steps)
            for series in np.flatnonzero(due).tolist():
                current = self.open.get(series)
                if current is None:
                    start = time - (self.steps - 1) * step
                    current = TrackedAnomaly(
                        id=anomaly_id(f"{series_keys[series]} no data", start),
                        series=series,
                        start=start,
                        end=time,
                        peak_score=NO_DATA_SCORE,
                        peak_value=float(self.last_value[series]),
                        severity=detector_pb2.SEVERITY_CRITICAL,
                        active=True,
                        kind=NO_DATA,
                    )
                else:
                    current = replace(current, end=time)
                self.open[series] = current
                changed[current.id] = current
        return list(changed.values())
