"""SCORES events: what a running detector made of the points of one step, for live charts.

They are not kept in the event log (a busy detector would push everything else out of it) and
go to the streams that ask for them, at most one per detector per `scores_interval` each."""

from __future__ import annotations

import math

import numpy as np

from aiops_api.v1 import event_pb2

MAX_SERIES = 1000
MAX_POINTS = 60  # per series: a catch-up after an outage scores many at once


def scores_event(
    detector: str,
    series: list[dict[str, str]],
    start: int,
    step: int,
    values: np.ndarray,
    scores: np.ndarray,
    expected: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> event_pb2.Event:
    """The event for `values` [series, time], whose first column is at `start` (seconds), and
    their `scores`, `expected` values and band (`lower`, `upper`), each shaped as `values`."""
    points = values.shape[1]
    first = max(0, points - MAX_POINTS)
    message = event_pb2.Scores(detector=detector, omitted_series=max(0, len(series) - MAX_SERIES))
    for row, labels in enumerate(series[:MAX_SERIES]):
        item = message.series.add(
            labels=labels,
            values=values[row, first:].tolist(),
            scores=scores[row, first:].tolist(),
            expected=expected[row, first:].tolist(),
            lower=lower[row, first:].tolist(),
            upper=upper[row, first:].tolist(),
        )
        item.start_time.FromSeconds(start + first * step)
    event = event_pb2.Event(scores=message)
    event.time.GetCurrentTime()
    return event


class ScoresPacer:
    """One stream's SCORES: the first of a detector goes at once, later ones at most one per
    `interval` seconds, each the latest that came (older ones are superseded, not queued)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.sent_at: dict[str, float] = {}
        self.waiting: dict[str, event_pb2.Event] = {}

    def offer(self, event: event_pb2.Event) -> None:
        self.waiting[event.scores.detector] = event

    def due(self, now: float) -> list[event_pb2.Event]:
        """The waiting events whose turn has come; they count as sent."""
        ready = [
            detector
            for detector in self.waiting
            if now >= self.sent_at.get(detector, -math.inf) + self.interval
        ]
        for detector in ready:
            self.sent_at[detector] = now
        return [self.waiting.pop(detector) for detector in ready]

    def next_due(self) -> float:
        """When the next waiting event may go; infinity when none waits."""
        return min(
            (self.sent_at.get(detector, -math.inf) + self.interval for detector in self.waiting),
            default=math.inf,
        )
