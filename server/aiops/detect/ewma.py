"""EWMA: distance from an exponentially weighted mean, in exponentially weighted deviations."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from aiops.detect.base import Scored, as_values
from aiops.detect.scoring import Scoring, clean, score_of_z, write_point, write_unknown, z_score

MIN_SAMPLES = 10


@dataclass
class EwmaState:
    mean: np.ndarray  # [series]
    variance: np.ndarray  # [series]
    count: np.ndarray  # [series] samples learnt


@dataclass(frozen=True)
class Ewma:
    span: int = 60  # as pandas' ewm(span=...): weights decay by alpha = 2 / (span + 1)

    def new_state(self, series: int) -> EwmaState:
        return EwmaState(
            mean=np.zeros(series), variance=np.zeros(series), count=np.zeros(series, np.int64)
        )

    def update(
        self, values: np.ndarray, state: EwmaState, first_step: int, scoring: Scoring
    ) -> Scored:
        values = as_values(values)
        out = Scored.empty(values.shape)
        _ewma(
            values, 2.0 / (self.span + 1.0), min(self.span, MIN_SAMPLES),
            state.mean, state.variance, state.count,
            scoring.direction, scoring.min_deviation, scoring.band_z,
            out.scores, out.expected, out.lower, out.upper,
        )  # fmt: skip
        return out


@njit(cache=True, nogil=True, inline="always")
def learn(x: float, alpha: float, mean: np.ndarray, variance: np.ndarray, s: int) -> None:
    """West's incremental exponentially weighted mean and variance."""
    difference = x - mean[s]
    increment = alpha * difference
    mean[s] += increment
    variance[s] = (1.0 - alpha) * (variance[s] + difference * increment)


@njit(cache=True, nogil=True, parallel=True)
def _ewma(
    values, alpha, min_samples, mean, variance, count, direction, min_deviation, band_z,
    scores, expected, lower, upper,
):  # fmt: skip
    series, times = values.shape
    for s in prange(series):
        for t in range(times):
            x = clean(values[s, t])
            if count[s] >= min_samples:
                spread = math.sqrt(variance[s])
                score = score_of_z(z_score(x, mean[s], spread, direction, min_deviation))
                write_point(s, t, score, mean[s], spread, band_z, min_deviation,
                            scores, expected, lower, upper)  # fmt: skip
            else:
                write_unknown(s, t, scores, expected, lower, upper)
            if x != x:
                continue
            if count[s] == 0:
                mean[s] = x
                variance[s] = 0.0
            else:
                learn(x, alpha, mean, variance, s)
            count[s] += 1
