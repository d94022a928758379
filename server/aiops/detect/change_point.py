"""Level shifts by two-sided CUSUM over standardised deviations from a slow EWMA baseline.

Small deviations that persist add up until they cross `threshold` spreads; the baseline then
restarts from the new level, so one shift raises one alarm rather than a long run of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from aiops.detect.base import Scored, as_values
from aiops.detect.ewma import learn
from aiops.detect.scoring import (
    DOWN,
    UP,
    Scoring,
    clean,
    score_of_z,
    spread_floor,
    write_point,
    write_unknown,
)

MIN_SAMPLES = 10
# A CUSUM statistic equal to the threshold scores like a z of this: the default warning.
Z_AT_THRESHOLD = 3.92


@dataclass
class ChangePointState:
    mean: np.ndarray  # [series] baseline level
    variance: np.ndarray  # [series]
    count: np.ndarray  # [series] samples since the baseline (re)started
    upward: np.ndarray  # [series] CUSUM of upward deviations
    downward: np.ndarray  # [series] CUSUM of downward deviations


@dataclass(frozen=True)
class ChangePoint:
    span: int = 120  # of the baseline's EWMA
    drift: float = 0.5  # in spreads: deviations smaller than this do not accumulate
    threshold: float = 5.0  # in spreads: the accumulated deviation that is a level shift

    def new_state(self, series: int) -> ChangePointState:
        return ChangePointState(
            mean=np.zeros(series),
            variance=np.zeros(series),
            count=np.zeros(series, dtype=np.int64),
            upward=np.zeros(series),
            downward=np.zeros(series),
        )

    def update(
        self, values: np.ndarray, state: ChangePointState, first_step: int, scoring: Scoring
    ) -> Scored:
        values = as_values(values)
        out = Scored.empty(values.shape)
        _change_point(
            values, 2.0 / (self.span + 1.0), min(self.span, MIN_SAMPLES), self.drift,
            self.threshold, state.mean, state.variance, state.count, state.upward,
            state.downward, scoring.direction, scoring.min_deviation, scoring.band_z,
            out.scores, out.expected, out.lower, out.upper,
        )  # fmt: skip
        return out


@njit(cache=True, nogil=True, parallel=True)
def _change_point(
    values, alpha, min_samples, drift, threshold, mean, variance, count, upward, downward,
    direction, min_deviation, band_z, scores, expected, lower, upper,
):  # fmt: skip
    series, times = values.shape
    for s in prange(series):
        for t in range(times):
            x = clean(values[s, t])
            shifted = False
            if count[s] < min_samples:
                write_unknown(s, t, scores, expected, lower, upper)
            else:
                spread = max(math.sqrt(variance[s]), spread_floor(mean[s]))
                deviation = x - mean[s]
                z = deviation / spread
                if x == x and abs(deviation) >= min_deviation:
                    upward[s] = max(0.0, upward[s] + z - drift)
                    downward[s] = max(0.0, downward[s] - z - drift)
                if direction == UP:
                    statistic = upward[s]
                elif direction == DOWN:
                    statistic = downward[s]
                else:
                    statistic = max(upward[s], downward[s])
                score = score_of_z(statistic / threshold * Z_AT_THRESHOLD)
                write_point(s, t, score, mean[s], spread, band_z, min_deviation,
                            scores, expected, lower, upper)  # fmt: skip
                if statistic >= threshold:
                    # The level has shifted to where this sample is: the baseline restarts
                    # there, with the spread learnt so far, and goes on scoring at once.
                    upward[s] = 0.0
                    downward[s] = 0.0
                    shifted = True
            if x != x:
                continue
            if count[s] == 0 or shifted:
                mean[s] = x
            else:
                learn(x, alpha, mean, variance, s)
            count[s] += 1
