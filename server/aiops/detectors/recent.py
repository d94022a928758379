"""What each detector scored lately, kept in memory for charts: per series, its last `capacity`
steps of value, score, expected value and band, exactly as the live path computed them, and how
the detector's last step went (its duration, its lag behind real time).

The pipeline writes (`RecentScores.record`), the API reads (`series_ranked`, `window`). A ring
holds one column per step for every series of the detector at once: a step writes one column,
and memory is `capacity` x 5 float64 per series (40 bytes a point: 14.4 KB per series at the
default 360), allocated as series appear. Kept while the server runs, also after the detector
stops, until it is deleted or learns afresh."""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from aiops.sources.matrix import series_key

# The fields kept per point, in the ring's order.
FIELDS = ("values", "scores", "expected", "lower", "upper")
DEFAULT_CAPACITY = 360


@dataclass(frozen=True)
class Window:
    """A series' points from `start` (seconds) one `step` apart; NaN where none was kept."""

    labels: dict[str, str]
    start: int
    points: np.ndarray  # [FIELDS, time]


class RecentScores:
    """One detector's ring of scored points (see the module's docstring)."""

    def __init__(
        self, step: int, capacity: int = DEFAULT_CAPACITY, created: datetime | None = None
    ) -> None:
        if step <= 0 or capacity <= 0:
            raise ValueError("step and capacity must be positive")
        self.step = step
        # The detector's create_time: one deleted and made again under its id is another.
        self.created = created
        self.capacity = capacity
        self.labels: list[dict[str, str]] = []
        self.keys: dict[str, int] = {}
        self._label_ranks: np.ndarray | None = None  # each row's place in label order
        self.points = np.full((len(FIELDS), 0, capacity), np.nan)
        # The time (seconds) held in each column; -1 where none is.
        self.times = np.full(capacity, -1, dtype=np.int64)
        self.latest: int | None = None  # the newest time kept
        self.step_seconds = math.nan  # how long the detector's last step took
        self.stepped_at = 0.0  # wall-clock time of the last step's end
        self.running = False  # whether a runner writes to it now
        self.exported = False  # whether /metrics exports its latest points (export_scores)

    def record(
        self,
        series: list[dict[str, str]],
        start: int,
        values: np.ndarray,
        scores: np.ndarray,
        expected: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
    ) -> None:
        """Keeps the points of `values` [series, time] (row i is `series[i]`), whose first column
        is at `start` seconds, and what the detector made of them (each shaped as `values`)."""
        rows = self._rows(series)
        points = values.shape[1]
        first = max(0, points - self.capacity)
        for column in range(first, points):
            time_ = start + column * self.step
            slot = (time_ // self.step) % self.capacity
            self.points[:, :, slot] = np.nan
            for field, array in enumerate((values, scores, expected, lower, upper)):
                self.points[field, rows, slot] = array[:, column]
            self.times[slot] = time_
        if points > first:
            last = start + (points - 1) * self.step
            self.latest = last if self.latest is None else max(self.latest, last)

    def forget(self, series: list[dict[str, str]]) -> None:
        """Drops the rows of these series and their points: a log-pattern detector's templates
        that it forgot, which would otherwise keep their rows for good."""
        gone = {self.keys[key] for key in map(series_key, series) if key in self.keys}
        if not gone:
            return
        keep = [row for row in range(len(self.labels)) if row not in gone]
        self.points = np.ascontiguousarray(self.points[:, keep])
        self.labels = [self.labels[row] for row in keep]
        self.keys = {series_key(labels): row for row, labels in enumerate(self.labels)}
        self._label_ranks = None

    def stepped(self, seconds: float) -> None:
        """Notes that a step of the detector ended, having taken `seconds`."""
        self.step_seconds = seconds
        self.stepped_at = time.time()

    def lag(self, now: float) -> float:
        """Seconds from the newest point kept to `now`; NaN before the first."""
        return math.nan if self.latest is None else max(0.0, now - self.latest)

    def latest_points(self) -> tuple[int | None, np.ndarray]:
        """The newest time kept and the points there [FIELDS, series]."""
        if self.latest is None:
            return None, np.full((len(FIELDS), len(self.labels)), np.nan)
        slot = (self.latest // self.step) % self.capacity
        return self.latest, self.points[:, :, slot]

    def window(self, row: int, start: int | None, end: int | None) -> Window | None:
        """Series `row`'s points kept between `start` and `end` (seconds, both included, None
        for no bound); None when it has none there."""
        times = self._kept_times()
        if start is not None:
            times = times[times >= start]
        if end is not None:
            times = times[times <= end]
        slots = (times // self.step) % self.capacity
        kept = ~np.isnan(self.points[1, row, slots])  # a scored point always has a score
        if not kept.any():
            return None
        times, slots = times[kept], slots[kept]
        first, last = int(times[0]), int(times[-1])
        points = np.full((len(FIELDS), (last - first) // self.step + 1), np.nan)
        points[:, (times - first) // self.step] = self.points[:, row, slots]
        return Window(self.labels[row], first, points)

    def oldest(self) -> int | None:
        times = self._kept_times()
        return int(times[0]) if len(times) else None

    def label_ranks(self) -> np.ndarray:
        """Per row, its place when the series are sorted by label set (their keys)."""
        if self._label_ranks is None or len(self._label_ranks) != len(self.labels):
            keys = np.asarray(list(self.keys), dtype=object)
            rows = np.fromiter(self.keys.values(), dtype=np.intp, count=len(self.keys))
            ranks = np.empty(len(rows), dtype=np.intp)
            ranks[rows[np.argsort(keys, kind="stable")]] = np.arange(len(rows))
            self._label_ranks = ranks
        return self._label_ranks

    def memory_bytes(self) -> int:
        return int(self.points.nbytes + self.times.nbytes)

    def _kept_times(self) -> np.ndarray:
        """The times held, ascending, within the ring's span from the newest."""
        if self.latest is None:
            return np.empty(0, dtype=np.int64)
        oldest = self.latest - (self.capacity - 1) * self.step
        times = self.times[(self.times >= oldest) & (self.times >= 0)]
        return np.sort(times)

    def _rows(self, series: list[dict[str, str]]) -> np.ndarray:
        """The ring's rows of `series`, adding rows for series it has not seen."""
        if len(series) == len(self.labels) and all(
            a is b for a, b in zip(series, self.labels, strict=True)
        ):
            return np.arange(len(series))
        rows = []
        for labels in series:
            key = series_key(labels)
            row = self.keys.get(key)
            if row is None:
                row = self.keys[key] = len(self.labels)
                self.labels.append(labels)
            rows.append(row)
        if len(self.labels) > self.points.shape[1]:
            grown = np.full((len(FIELDS), len(self.labels), self.capacity), np.nan)
            grown[:, : self.points.shape[1]] = self.points
            self.points = grown
        return np.asarray(rows, dtype=np.intp)


class RecentScoresRegistry:
    """Every detector's `RecentScores` in this process, by detector id and creation time."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._detectors: dict[str, RecentScores] = {}
        # Anomalies the runners of this process opened since it started, by severity's name
        # (for /metrics: its runners come and go, the count stays).
        self.anomalies_opened: Counter[str] = Counter()

    def get(self, detector_id: str, created: datetime | None = None) -> RecentScores | None:
        """The ring of the detector made at `created` (any, when None)."""
        ring = self._detectors.get(detector_id)
        if ring is None or (created is not None and ring.created != created):
            return None
        return ring

    def fresh(self, detector_id: str, step: int, created: datetime | None = None) -> RecentScores:
        """An empty ring for a detector that learns afresh, replacing what it had."""
        ring = self._detectors[detector_id] = RecentScores(step, self.capacity, created)
        return ring

    def resume(self, detector_id: str, step: int, created: datetime | None = None) -> RecentScores:
        """The detector's ring, kept if it is the same detector with the same step, else a
        fresh one."""
        ring = self.get(detector_id, created)
        if ring is None or ring.step != step:
            return self.fresh(detector_id, step, created)
        return ring

    def keep_only(self, detector_ids: set[str]) -> None:
        """Forgets the detectors that are gone (deleted)."""
        for detector_id in self._detectors.keys() - detector_ids:
            del self._detectors[detector_id]

    def items(self) -> list[tuple[str, RecentScores]]:
        return sorted(self._detectors.items())
