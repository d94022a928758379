"""The shape every detector has: a state per series, updated by a kernel over [series, time].

A detector scores each new point against what it learnt from the points before it, then learns
the point. Scoring a year at once and scoring it point by point run the same kernel over the
same state, so they agree exactly. A high score means anomalous; scores lie in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from aiops.detect.scoring import Scoring


@dataclass(frozen=True)
class Scored:
    """Per point, shaped [series, time]: score in [0, 1], expected value and band (NaN while a
    detector has no estimate yet)."""

    scores: np.ndarray
    expected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @classmethod
    def empty(cls, shape: tuple[int, int]) -> Scored:
        return cls(*(np.empty(shape) for _ in range(4)))


class Algorithm(Protocol):
    """One detection algorithm with its parameters; the state lives outside it."""

    def new_state(self, series: int) -> Any:
        """The state of `series` series that have seen nothing yet: a dataclass of one or more
        numpy arrays whose first axis is the series, which `update` changes in place. The
        pipeline relies on that shape to checkpoint any state (`pipeline/checkpoint.py`) and to
        let series that appear later learn through views into it."""

    def update(self, values: np.ndarray, state: Any, first_step: int, scoring: Scoring) -> Scored:
        """Scores `values` [series, time] (NaN = missing) and learns them into `state`.
        `first_step` is the absolute step index of the first column (time / step), which
        seasonal detectors use to place points in their period."""


def as_values(values: np.ndarray) -> np.ndarray:
    """[series, time] float64, C-contiguous: what the kernels take."""
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2:
        raise ValueError(f"values must be [series, time], got shape {array.shape}")
    return array
