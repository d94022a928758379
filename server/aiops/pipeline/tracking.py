"""Anomalies that last: a run of anomalous points of one series is one anomaly, continued from
one update to the next, with a stable id so that scoring the same points again finds it again."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from aiops.detect.anomalies import find_spans

# Anomaly.Kind's names: of scored values, or of a series that stopped reporting.
DEVIATION, NO_DATA = "KIND_DEVIATION", "KIND_NO_DATA"


@dataclass(frozen=True)
class TrackedAnomaly:
    id: str
    series: int
    start: int  # epoch seconds of the first anomalous point
    end: int  # of the last one so far
    peak_score: float
    peak_value: float
    severity: int  # aiops.v1.Severity
    active: bool  # the latest point is anomalous: it may grow
    kind: str = DEVIATION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrackedAnomaly:
        return cls(**data)


def anomaly_id(series_key: str, start: int) -> str:
    """The same series and start give the same id: a replay updates, it does not duplicate."""
    digest = hashlib.sha256(series_key.encode()).hexdigest()[:12]
    return f"{digest}-{start}"


def track(
    active: dict[int, TrackedAnomaly],
    scores: np.ndarray,
    values: np.ndarray,
    first_time: int,
    step: int,
    series_keys: list[str],
    warning: float,
    critical: float,
    outside: np.ndarray | None = None,
) -> list[TrackedAnomaly]:
    """Continues the `active` anomalies (by series) over new points [series, time] starting at
    `first_time`, and opens new ones; returns every anomaly that changed, as it is now, and
    updates `active` in place. With `outside` [series, time] (anomalies.outside_band), an
    anomaly also goes on while its points stay outside the band."""
    changed: dict[str, TrackedAnomaly] = {}
    # Only series with an anomalous point or an active anomaly need a look: usually a few.
    away = scores >= warning
    ongoing = np.zeros(scores.shape[0], dtype=bool)
    ongoing[list(active)] = True
    if outside is not None:
        away |= ongoing[:, np.newaxis] & outside
    anomalous = np.flatnonzero(away.any(axis=1))
    for series in set(active) - set(anomalous.tolist()):
        ended = active.pop(series)
        changed[ended.id] = replace(ended, active=False)
    last = scores.shape[1] - 1
    within = outside[anomalous] if outside is not None else None
    for span in find_spans(scores[anomalous], warning, critical, within, ongoing[anomalous]):
        series = int(anomalous[span.series])
        start, end = first_time + span.start * step, first_time + span.end * step
        peak_score, peak_value = span.peak_score, float(values[series, span.peak])
        current = active.pop(series, None)
        if current is not None and span.start == 0:  # the run goes on
            if current.peak_score >= peak_score:
                peak_score, peak_value = current.peak_score, current.peak_value
            anomaly = replace(
                current,
                end=end,
                peak_score=peak_score,
                peak_value=peak_value,
                severity=max(current.severity, span.severity),
                active=span.end == last,
            )
        else:
            if current is not None:
                changed[current.id] = replace(current, active=False)
            anomaly = TrackedAnomaly(
                id=anomaly_id(series_keys[series], start),
                series=series,
                start=start,
                end=end,
                peak_score=peak_score,
                peak_value=peak_value,
                severity=span.severity,
                active=span.end == last,
            )
        changed[anomaly.id] = anomaly
        if anomaly.active:
            active[series] = anomaly
    return list(changed.values())
