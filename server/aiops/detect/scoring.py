"""What every detector shares: cleaning a sample, turning a deviation into a score in [0, 1],
and the band a UI draws around the expected value. numba functions, inlined into the kernels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

# Detection directions, as the kernels see them.
BOTH, UP, DOWN = 0, 1, 2

# Beyond this magnitude a sample is clamped: squares and sums of squares stay finite.
MAX_ABS = 1e100
# A zero spread (a constant series) would make any change infinitely anomalous and divide by
# zero; the spread is never taken below this fraction of the expected value's magnitude.
SPREAD_FLOOR = 1e-9
# A deviation of z spreads scores P(|N(0,1)| < z / Z_PER_SIGMA): halving z keeps ordinary noise
# (z up to 3) well below the default warning threshold 0.95, reached at 3.9 spreads; 0.99 (the
# default critical) at 5.2. Every algorithm maps through this, so scores compare across them.
Z_PER_SIGMA = 2.0
SCORE_DIVISOR = Z_PER_SIGMA * math.sqrt(2.0)


@dataclass(frozen=True)
class Scoring:
    """How deviations become scores, the same for every algorithm of a detector."""

    direction: int = BOTH
    min_deviation: float = 0.0  # deviations up to this (absolute) never score
    band_z: float = 3.92  # half-width of the drawn band, in spreads: where the warning starts


def z_for_score(score: float) -> float:
    """The z whose score is `score`: the band's half-width for a threshold (bisection on erf)."""
    low, high = 0.0, 40.0
    for _ in range(100):
        middle = (low + high) / 2
        if math.erf(middle / SCORE_DIVISOR) < score:
            low = middle
        else:
            high = middle
    return high


@njit(cache=True, nogil=True, inline="always")
def clean(x: float) -> float:
    """A sample as the detectors use it: NaN when missing or infinite, clamped otherwise."""
    if not math.isfinite(x):
        return math.nan
    return min(max(x, -MAX_ABS), MAX_ABS)


@njit(cache=True, nogil=True, inline="always")
def spread_floor(expected: float) -> float:
    return SPREAD_FLOOR * max(abs(expected), 1.0)


@njit(cache=True, nogil=True, inline="always")
def z_score(
    x: float, expected: float, spread: float, direction: int, min_deviation: float
) -> float:
    """The deviation of `x` from `expected` in spreads, counted in the watched direction only."""
    deviation = x - expected
    if abs(deviation) <= min_deviation or not math.isfinite(deviation):
        return 0.0
    if direction == UP:
        deviation = max(deviation, 0.0)
    elif direction == DOWN:
        deviation = max(-deviation, 0.0)
    else:
        deviation = abs(deviation)
    return deviation / max(spread, spread_floor(expected))


@njit(cache=True, nogil=True, inline="always")
def score_of_z(z: float) -> float:
    """The score of a deviation of z spreads, in [0, 1]."""
    if not z > 0.0:  # also NaN
        return 0.0
    return min(math.erf(z / SCORE_DIVISOR), 1.0)


@njit(cache=True, nogil=True, inline="always")
def write_point(
    s: int,
    t: int,
    score: float,
    expected: float,
    spread: float,
    scoring_band_z: float,
    min_deviation: float,
    scores: np.ndarray,
    expecteds: np.ndarray,
    lowers: np.ndarray,
    uppers: np.ndarray,
) -> None:
    scores[s, t] = score
    expecteds[s, t] = expected
    half_width = max(scoring_band_z * max(spread, spread_floor(expected)), min_deviation)
    lowers[s, t] = expected - half_width
    uppers[s, t] = expected + half_width


@njit(cache=True, nogil=True, inline="always")
def write_unknown(
    s: int,
    t: int,
    scores: np.ndarray,
    expecteds: np.ndarray,
    lowers: np.ndarray,
    uppers: np.ndarray,
) -> None:
    """No estimate yet (warming up, or nothing seen): score 0, no expected value or band."""
    scores[s, t] = 0.0
    expecteds[s, t] = math.nan
    lowers[s, t] = math.nan
    uppers[s, t] = math.nan
