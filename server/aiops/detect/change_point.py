"""Level shifts by two-sided CUSUM over standardised deviations from a slow EWMA baseline.

Small deviations that persist add up (Page's CUSUM: Page 1954, "Continuous inspection schemes",
Biometrika 41) until one side crosses `threshold` spreads; `drift` is its reference value k. On
in-control normal data with a known level and spread, one side alarms on average every
ARL0 ~ (exp(2k b) - 2k b - 1) / (2k^2) points, b = threshold + 1.166 (Siegmund's approximation:
Siegmund 1985, "Sequential Analysis", Springer, ch. II): 938 for the defaults k = 0.5, h = 5, so
the two sides together alarm about once every 470 points. The score is the watched side over
`threshold` on the shared z scale, `threshold` scoring the warning threshold's z (`band_z`): an
anomaly opens exactly where the CUSUM alarms, so anomalies come no more often than the textbook
CUSUM's alarms (on N(100, 5), 7.4 per 4,000 points against its 8.5). What keeps the estimated
level and spread from adding alarms of their own:

- After an alarm the baseline restarts. The sample that tripped it, extreme by selection, is not
  learnt; the next one is judged on its own against it (a spike or a second shift there is not
  missed) and carries nothing into the CUSUM; the new level is the running mean from that next
  one on, until the EWMA of `span` is the slower. A deviation from the mean of n samples varies
  by (1 + 1/n) spreads squared and is standardised by that, so the CUSUM runs on through the
  restart at its in-control rate (recursive residuals, as in Hawkins 1987, "Self-starting cusum
  charts for location and scale", The Statistician 36). One shift raises one anomaly, not one
  per noisy sample that the baseline restarted at.
- The spread is learnt from those standardised deviations with a memory of SPREAD_SPAN points
  whatever `span` is (a fast baseline, not a noisy spread) and kept across restarts. Samples
  that alarm are not learnt and the others count at most CLIP spreads, so a shift or a spike
  barely moves the spread that judges it; a lasting rise in the noise costs a few anomalies
  while it adapts.
- The spread is never below the data's resolution, the smallest step between consecutive
  samples seen that is at most RESOLUTION_SHARE of their size (this one's included, so a gauge
  that has not moved yet takes its first move of one unit as one step): a gauge that is 5, and
  6 now and then, is not a CUSUM of infinite z-scores, a lasting move of one step is still found
  after about threshold / (1 - drift) points, and a flat line that jumps from 3 to 1000 alarms
  at once.
- Nothing scores until WARM_UP deviations have taught the spread.

Known limits: a false alarm a few points before a shift restarts the baseline into it, and the
running mean then follows the shift (reported as that earlier anomaly, or not at all if small).
Data whose level keeps moving (trends, daily cycles) keeps shifting against a slow baseline and
alarms accordingly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from aiops.detect.base import Scored, as_values
from aiops.detect.scoring import (
    DOWN,
    UP,
    Scoring,
    clean,
    score_of_z,
    spread_floor,
    write_unknown,
)

# Deviations learnt into the spread before anything scores: its error is then ~13 %.
WARM_UP = 30
# A step between consecutive samples counts as the data's resolution when it is at most this
# share of the larger of the two (5 to 6 on a gauge; not 3 to 1000 on a flat line).
RESOLUTION_SHARE = 0.5
# Deviations learnt unclipped first, so that a spread from a handful of them can still grow.
MIN_SAMPLES = 10
# The spread's memory in points, as an EWMA span: long against the CUSUM's run to an alarm.
SPREAD_SPAN = 120
# A deviation counts at most this many spreads when the spread learns it; divided by the mean of
# min(z^2, CLIP^2) for z ~ N(0, 1), so that clipping costs normal data no spread.
CLIP = 4.0
CLIPPED_MEAN = (
    math.erf(CLIP / math.sqrt(2.0))
    - 2.0 * CLIP * math.exp(-CLIP * CLIP / 2.0) / math.sqrt(2.0 * math.pi)
    + CLIP * CLIP * math.erfc(CLIP / math.sqrt(2.0))
)


@dataclass
class ChangePointState:
    mean: np.ndarray  # [series] baseline level
    variance: np.ndarray  # [series] the spread squared, kept across restarts
    count: np.ndarray  # [series] samples in the baseline since it (re)started
    learnt: np.ndarray  # [series] deviations learnt into the spread
    upward: np.ndarray  # [series] CUSUM of upward deviations
    downward: np.ndarray  # [series] CUSUM of downward deviations
    resolution: np.ndarray  # [series] smallest step between consecutive samples; inf: none yet
    previous: np.ndarray  # [series] the last sample; NaN: none yet


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
            learnt=np.zeros(series, dtype=np.int64),
            upward=np.zeros(series),
            downward=np.zeros(series),
            resolution=np.full(series, np.inf),
            previous=np.full(series, np.nan),
        )

    def update(
        self, values: np.ndarray, state: ChangePointState, first_step: int, scoring: Scoring
    ) -> Scored:
        values = as_values(values)
        out = Scored.empty(values.shape)
        _change_point(
            values, 2.0 / (self.span + 1.0), 2.0 / (SPREAD_SPAN + 1.0), self.drift,
            self.threshold, state.mean, state.variance, state.count, state.learnt,
            state.upward, state.downward, state.resolution, state.previous,
            scoring.direction, scoring.min_deviation, scoring.band_z,
            out.scores, out.expected, out.lower, out.upper,
        )  # fmt: skip
        return out


@njit(cache=True, nogil=True, parallel=True)
def _change_point(
    values, alpha, spread_rate, drift, threshold, mean, variance, count, learnt, upward,
    downward, resolution, previous, direction, min_deviation, band_z,
    scores, expected, lower, upper,
):  # fmt: skip
    # The variance of a settled EWMA of independent samples, in the samples' variances.
    settled = alpha / (2.0 - alpha)
    series, times = values.shape
    for s in prange(series):
        for t in range(times):
            x = clean(values[s, t])
            if x == x and previous[s] == previous[s]:
                step = abs(x - previous[s])
                # Not a rounding error, and small beside the values: a step of half their size
                # or more (3 to 1000 on a flat line) is news, not the data's resolution.
                largest = max(abs(x), abs(previous[s]))
                if spread_floor(x) <= step <= RESOLUTION_SHARE * largest:
                    resolution[s] = min(resolution[s], step)
            quantum = resolution[s] if resolution[s] < math.inf else 0.0
            spread = max(math.sqrt(variance[s]), quantum, spread_floor(mean[s]))
            # The baseline's own variance, in spreads squared: 1/n for the mean of n samples.
            # (Just after an alarm, the level is the sample that tripped it, as one sample.)
            share = max(1.0 / count[s], settled) if count[s] > 0 else 1.0
            shifted = False
            if learnt[s] < WARM_UP:
                write_unknown(s, t, scores, expected, lower, upper)
            else:
                # The band: the values that keep both CUSUMs under the threshold this point,
                # the edges where the score reaches the warning threshold (narrower as a shift
                # accumulates), and never inside min_deviation.
                scale = spread * math.sqrt(1.0 + share)
                expected[s, t] = mean[s]
                room_up = max(scale * (threshold + drift - upward[s]), min_deviation)
                room_down = max(scale * (threshold + drift - downward[s]), min_deviation)
                upper[s, t], lower[s, t] = mean[s] + room_up, mean[s] - room_down
                deviation = x - mean[s]
                if x == x and (abs(deviation) > min_deviation or min_deviation == 0):
                    z = deviation / (spread * math.sqrt(1.0 + share))
                    upward[s] = max(0.0, upward[s] + z - drift)
                    downward[s] = max(0.0, downward[s] - z - drift)
                if direction == UP:
                    statistic = upward[s]
                elif direction == DOWN:
                    statistic = downward[s]
                else:
                    statistic = max(upward[s], downward[s])
                scores[s, t] = score_of_z(statistic / threshold * band_z)
                # Either side restarts the baseline, watched or not: the level has moved.
                shifted = max(upward[s], downward[s]) >= threshold
                if shifted or count[s] == 0:
                    # After an alarm, the next sample is judged on its own (a spike or another
                    # shift there is not missed) and carries nothing: the sample it was judged
                    # against is extreme by selection.
                    upward[s] = 0.0
                    downward[s] = 0.0
            if x != x:
                continue
            previous[s] = x
            if shifted:
                mean[s] = x  # what the next sample is judged against; not learnt
                count[s] = 0
                continue
            if count[s] == 0:  # the first sample, or the first after an alarm
                mean[s] = x
                count[s] = 1
                continue
            deviation = x - mean[s]
            squared = deviation * deviation / (1.0 + share)
            if learnt[s] >= MIN_SAMPLES:
                squared = min(squared, (CLIP * spread) ** 2) / CLIPPED_MEAN
            learnt[s] += 1
            variance[s] += max(spread_rate, 1.0 / learnt[s]) * (squared - variance[s])
            mean[s] += max(alpha, 1.0 / (count[s] + 1.0)) * deviation
            count[s] += 1
