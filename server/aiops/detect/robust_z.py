"""Robust z-score: distance from the median of the previous `window` samples, in MADs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from aiops.detect import rolling
from aiops.detect.base import Scored, as_values
from aiops.detect.scoring import Scoring, clean, score_of_z, write_point, write_unknown, z_score

# The MAD of a normal sample times this estimates its standard deviation.
MAD_TO_SIGMA = 1.4826
# Scoring starts once the window holds this many samples (or is full, if smaller).
MIN_SAMPLES = 10


@dataclass
class RobustZScoreState:
    ring: np.ndarray  # [series, window] the samples in arrival order
    ordered: np.ndarray  # [series, window] the same samples sorted
    count: np.ndarray  # [series] samples in the window
    head: np.ndarray  # [series] where the ring writes next


@dataclass(frozen=True)
class RobustZScore:
    window: int = 60

    def new_state(self, series: int) -> RobustZScoreState:
        return RobustZScoreState(
            ring=np.zeros((series, self.window)),
            ordered=np.zeros((series, self.window)),
            count=np.zeros(series, dtype=np.int64),
            head=np.zeros(series, dtype=np.int64),
        )

    def update(
        self, values: np.ndarray, state: RobustZScoreState, first_step: int, scoring: Scoring
    ) -> Scored:
        values = as_values(values)
        out = Scored.empty(values.shape)
        _robust_z(
            values, state.ring, state.ordered, state.count, state.head,
            scoring.direction, scoring.min_deviation, scoring.band_z,
            out.scores, out.expected, out.lower, out.upper,
        )  # fmt: skip
        return out


@njit(cache=True, nogil=True, parallel=True)
def _robust_z(
    values, ring, ordered, count, head, direction, min_deviation, band_z,
    scores, expected, lower, upper,
):  # fmt: skip
    series, times = values.shape
    window = ring.shape[1]
    min_samples = min(window, MIN_SAMPLES)
    for s in prange(series):
        for t in range(times):
            x = clean(values[s, t])
            n = count[s]
            if n >= min_samples:
                center = rolling.median(ordered[s], n)
                spread = MAD_TO_SIGMA * rolling.median_absolute_deviation(ordered[s], n, center)
                score = score_of_z(z_score(x, center, spread, direction, min_deviation))
                write_point(s, t, score, center, spread, band_z, min_deviation,
                            scores, expected, lower, upper)  # fmt: skip
            else:
                write_unknown(s, t, scores, expected, lower, upper)
            if x == x:  # a missing sample leaves the window as it was
                count[s] = rolling.push(ring[s], ordered[s], n, head[s], x)
                head[s] = (head[s] + 1) % window
