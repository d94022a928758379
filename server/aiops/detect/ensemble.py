"""The default detector: five kinds of evidence on each series, each judged against its own
recent record, so that what a series does every day stops scoring and what it has not done for
a long while does.

The evidence (each computed from the points before the current one):
- rolling: the distance from the median of the last `window` points, in interquartile spreads;
- seasonal: the distance from the same phase of earlier periods (an exponentially learnt level
  per slot), in spreads of the seasonal residual;
- shift: a two-sided CUSUM of deviations from a slow exponentially weighted baseline, whose mean
  and variance are bias-corrected as Adam's moments are (Kingma & Ba 2015);
- point: the point's own distance from the expected value the band is drawn around;
- flat: how many points in a row the value has not moved (a stuck exporter, a frozen gauge),
  where min_deviation is 0.
The rolling and seasonal distances are averaged over the last RECENT points, which lets a short
burst count more than one lonely spike and noise cancel out; the point evidence keeps a lone
spike counting in full.

Each kind keeps a record of its own evidence: the highest of any one event (evidence more than
EVENT_GAP points apart is another event) and the highest of any other, both fading with
`half_life` points or over RECORD_PERIODS periods where that is longer (a memory in time: a peak
the series reaches every day is no news the next day at any step). Evidence RECORD_GROWTH times
the second highest, or the kind's FLOOR where that is lower, scores the default warning
threshold (0.95), evidence well above it scores near 1. Judged by the second highest, one
outlier (even one in the warm-up) does not blind the detector to the next anomaly of its size;
an event that recurs becomes normal. The floors are what noise alone does not reach (a CUSUM of
10 spreads with a drift of 0.5: an in-control run length in the hundreds of thousands of points,
Siegmund's approximation), so anomaly-free series stay quiet by construction, not by luck. A
kind scores once it has seen WARM_UP of its evidence (an empty record would make any evidence
news), the rolling, shift and flat kinds once they have also seen a whole period (what a series
does every day is news to them until then); the season's expectation is trusted, for the band and
the point evidence, once its own evidence has warmed up. News (evidence over its bar) leaves a
bar of RECORD_GROWTH times it, and an alarm one of ALARM_RECORD times every kind's evidence,
that halve in 50 points, so one incident does not raise an alarm per point or per kind; the
next REFRACTORY points are damped unless their evidence is far above its bar. The first
WARM_UP points of a series score 0.

Settled on the Numenta Anomaly Benchmark (bench/README.md), where this scores above every
single kind of evidence and the EWMA distance was left out because it only added false alarms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from aiops.detect import rolling
from aiops.detect.base import Scored, as_values
from aiops.detect.scoring import (
    DOWN,
    UP,
    Scoring,
    clean,
    score_of_z,
    write_point,
    write_unknown,
)

# Evidence, by kind: index into the records.
ROLLING, SEASONAL, SHIFT, POINT, FLAT = 0, 1, 2, 3, 4
KINDS = 5
# Points each rolling and seasonal distance is averaged over.
RECENT = 5
# Points a series must have shown before the rolling distance, the seasonal residual spread
# and the CUSUM baseline count.
MIN_SAMPLES = 10
# Before any point scores: enough for the records to have seen a series' usual noise.
WARM_UP = 100
# An interquartile range of a normal sample divided by this estimates its standard deviation.
IQR_TO_SIGMA = 1.349
# No spread is taken below this fraction of the series' typical magnitude: on a constant series
# a change of 0.1 % counts as one spread, not infinitely many.
FLOOR_RELATIVE = 1e-3
MAGNITUDE_ALPHA = 0.01  # of the exponentially weighted mean of |x| that floor scales with
GLITCH = 1000.0
SEASONAL_LEARNING = 0.2  # how far a slot's level moves towards each new sample
RESIDUAL_ALPHA = 0.01  # of the seasonal residuals' exponentially weighted variance
SHIFT_ALPHA = 0.002  # of the CUSUM's slow baseline
SHIFT_DRIFT = 0.5  # spreads of deviation the CUSUM forgives per point
SHIFT_CLIP = 10.0  # spreads: one wild point moves the CUSUM at most this far
EVENT_GAP = 10  # points between two events' evidence
HUSH_FADE = 0.5 ** (1.0 / 50)  # an alarm's bar halves in 50 points
RECORD_GROWTH = 1.5  # a new record is set this far above the evidence that broke the old one
ALARM_RECORD = 2.0  # after any alarm, every kind's bar rises to this multiple of its evidence
# Per kind, the evidence that scores the warning threshold at least: what noise does not reach
# (an average of 5 distances at 2 spreads is 4.5 of its own standard deviations; a point at 6;
# 30 points unmoved).
FLOORS = (2.0, 2.0, 10.0, 6.0, 30.0)
# A record fades over at least this many periods: a peak the series reaches every day is no
# news the next day, whatever the step (half_life alone is 1.4 days at 1-minute steps). Its
# memory is in time, not in points.
RECORD_PERIODS = 7
# A point inside the band scores at most this much of the band edge's score: under the warning.
BELOW_BAND_EDGE = 1.0 - 1e-9
REFRACTORY = 10  # points after an alarm whose score is damped
REFRACTORY_DAMPING = 0.5
UNDAMPED = 0.75  # evidence three times its record is news even right after an alarm
# Evidence equal to its record scores like a deviation of this many spreads: 0.95, the default
# warning threshold (scoring.z_for_score(0.95)).
Z_AT_RECORD = 3.92


@dataclass
class EnsembleState:
    ring: np.ndarray  # [series, window] the rolling window in arrival order
    ordered: np.ndarray  # [series, window] the same samples, sorted
    window_count: np.ndarray  # [series] samples in the window
    head: np.ndarray  # [series] where the ring writes next
    # [series, 2, RECENT] the last rolling and seasonal distances. Summed afresh each time: a
    # running sum would keep forever the rounding error of a glitch passing through.
    recent: np.ndarray
    level: np.ndarray  # [series, period] each slot's level; NaN until the slot is first seen
    residual_variance: np.ndarray  # [series] of the seasonal residuals
    residuals: np.ndarray  # [series] seasonal residuals seen
    baseline: np.ndarray  # [series] the CUSUM's slow mean
    baseline_variance: np.ndarray  # [series]
    cusum: np.ndarray  # [series, 2] upward and downward CUSUM
    magnitude: np.ndarray  # [series] exponentially weighted mean of |x|
    record: np.ndarray  # [series, KINDS] the highest evidence of any one event, fading
    second: np.ndarray  # [series, KINDS] the highest of any other event, fading
    since: np.ndarray  # [series, KINDS] points since `record` was set
    hush: np.ndarray  # [series, KINDS] the short-lived bar an alarm leaves, fading fast
    seen: np.ndarray  # [series, KINDS] evidence of each kind its record has seen
    refractory: np.ndarray  # [series] damped points left after an alarm
    unmoved: np.ndarray  # [series] points in a row equal to the one before
    count: np.ndarray  # [series] samples seen


@dataclass(frozen=True)
class Ensemble:
    window: int = 200  # points of the rolling median and quartiles
    period: int = 1440  # steps in a season (a day at 1m steps); 0 for no seasonal evidence
    half_life: int = 2000  # points after which a record has faded to half

    def new_state(self, series: int) -> EnsembleState:
        return EnsembleState(
            ring=np.zeros((series, self.window)),
            ordered=np.zeros((series, self.window)),
            window_count=np.zeros(series, dtype=np.int64),
            head=np.zeros(series, dtype=np.int64),
            recent=np.zeros((series, 2, RECENT)),
            level=np.full((series, self.period), np.nan),
            residual_variance=np.zeros(series),
            residuals=np.zeros(series, dtype=np.int64),
            baseline=np.zeros(series),
            baseline_variance=np.zeros(series),
            cusum=np.zeros((series, 2)),
            magnitude=np.zeros(series),
            record=np.zeros((series, KINDS)),
            second=np.zeros((series, KINDS)),
            since=np.zeros((series, KINDS), dtype=np.int64),
            hush=np.zeros((series, KINDS)),
            seen=np.zeros((series, KINDS), dtype=np.int64),
            refractory=np.zeros(series, dtype=np.int64),
            unmoved=np.zeros(series, dtype=np.int64),
            count=np.zeros(series, dtype=np.int64),
        )

    def update(
        self, values: np.ndarray, state: EnsembleState, first_step: int, scoring: Scoring
    ) -> Scored:
        values = as_values(values)
        out = Scored.empty(values.shape)
        _ensemble(
            values, first_step, 0.5 ** (1.0 / max(self.half_life, RECORD_PERIODS * self.period)),
            state.ring, state.ordered, state.window_count, state.head,
            state.recent, state.level, state.residual_variance,
            state.residuals, state.baseline, state.baseline_variance, state.cusum,
            state.magnitude, state.record, state.second, state.since, state.hush, state.seen,
            state.refractory, state.unmoved, state.count,
            scoring.direction, scoring.min_deviation, scoring.band_z,
            out.scores, out.expected, out.lower, out.upper,
        )  # fmt: skip
        return out


@njit(cache=True, nogil=True, inline="always")
def _directed(value: float, direction: int) -> float:
    """A signed distance as evidence in the watched direction (0 or more)."""
    if direction == UP:
        return max(value, 0.0)
    if direction == DOWN:
        return max(-value, 0.0)
    return abs(value)


@njit(cache=True, nogil=True, inline="always")
def _distance(x: float, expected: float, spread: float, min_deviation: float) -> float:
    deviation = x - expected
    if abs(deviation) <= min_deviation:
        return 0.0
    return deviation / spread


@njit(cache=True, nogil=True, parallel=True)
def _ensemble(
    values, first_step, fade,
    ring, ordered, window_count, head, recent, level, residual_variance,
    residuals, baseline, baseline_variance, cusum, magnitude, record, second, since, hush, seen,
    refractory, unmoved, count,
    direction, min_deviation, band_z,
    scores, expected, lower, upper,
):  # fmt: skip
    series, times = values.shape
    period = level.shape[1]
    # The rolling, shift and flat evidence take a daily cycle for news until they have seen one:
    # they score from a whole period on (the point and seasonal evidence from WARM_UP on).
    cycle_warm_up = max(WARM_UP, period)
    below_edge = score_of_z(band_z) * BELOW_BAND_EDGE  # the most a point inside the band scores
    evidence = np.zeros((series, KINDS))
    for s in prange(series):
        for t in range(times):
            x = clean(values[s, t])
            floor = FLOOR_RELATIVE * (magnitude[s] + 1e-9)

            # What the window and the season expect; the tighter of the two is drawn.
            n = window_count[s]
            center, spread = math.nan, math.inf
            if n >= MIN_SAMPLES:
                center = rolling.median(ordered[s], n)
                quartiles = ordered[s, (3 * n) // 4] - ordered[s, n // 4]
                spread = max(quartiles / IQR_TO_SIGMA, floor)
            slot = (first_step + t) % period if period > 0 else -1
            seasonal_level, seasonal_spread = math.nan, math.inf
            if slot >= 0 and level[s, slot] == level[s, slot]:
                seasonal_level = level[s, slot]
                if residuals[s] >= MIN_SAMPLES:
                    seasonal_spread = math.sqrt(residual_variance[s] + floor * floor)
            # The season's expectation is drawn (and the point judged by it) where it is the
            # tighter, once its evidence has warmed up: a level learnt from one visit of each
            # slot would make a jump of every point.
            seasonal_trusted = seasonal_spread < spread and seen[s, SEASONAL] >= WARM_UP
            if seasonal_trusted:
                write_point(s, t, 0.0, seasonal_level, seasonal_spread, band_z, min_deviation,
                            scores, expected, lower, upper)  # fmt: skip
            elif n >= MIN_SAMPLES:
                write_point(s, t, 0.0, center, spread, band_z, min_deviation,
                            scores, expected, lower, upper)  # fmt: skip
            else:
                write_unknown(s, t, scores, expected, lower, upper)
            if x != x:  # a missing sample changes nothing
                continue

            if count[s] == 0:
                magnitude[s] = abs(x)

            # Rolling and seasonal distances, averaged over the last RECENT points.
            rolling_distance = 0.0
            if n >= MIN_SAMPLES:
                rolling_distance = _distance(x, center, spread, min_deviation)
            seasonal_distance = 0.0
            if seasonal_level == seasonal_level:
                residual = x - seasonal_level
                if residuals[s] >= MIN_SAMPLES:
                    seasonal_distance = _distance(x, seasonal_level, seasonal_spread, min_deviation)
                if residuals[s] > 0:
                    residual_variance[s] += RESIDUAL_ALPHA * (residual**2 - residual_variance[s])
                else:
                    residual_variance[s] = residual**2
                residuals[s] += 1
                level[s, slot] += SEASONAL_LEARNING * residual
            elif slot >= 0:
                level[s, slot] = x
            for kind in (ROLLING, SEASONAL):
                distance = rolling_distance if kind == ROLLING else seasonal_distance
                j = count[s] % RECENT
                recent[s, kind, j] = distance
                average = recent[s, kind].sum() / min(count[s] + 1, RECENT)
                evidence[s, kind] = _directed(average, direction)

            # The CUSUM of deviations from the slow baseline.
            unlearnt = (1.0 - SHIFT_ALPHA) ** count[s]  # the moments' share still unlearnt
            if count[s] >= MIN_SAMPLES:
                # The slow mean and variance start at 0 and are unbiased as Adam's moments are
                # (Kingma & Ba 2015): started at the first sample instead, or with no variance,
                # the first thousand points would look spreads away and the CUSUM run up
                # hundreds of them on pure noise.
                learnt = 1.0 - unlearnt
                deviation = _distance(
                    x,
                    baseline[s] / learnt,
                    math.sqrt(baseline_variance[s] / learnt + floor * floor),
                    min_deviation,
                )
                deviation = min(max(deviation, -SHIFT_CLIP), SHIFT_CLIP)
                cusum[s, 0] = max(0.0, cusum[s, 0] + deviation - SHIFT_DRIFT)
                cusum[s, 1] = max(0.0, cusum[s, 1] - deviation - SHIFT_DRIFT)
            # How long the value has not moved: a stuck exporter, a frozen gauge.
            if n > 0 and x == ring[s, (head[s] - 1) % ring.shape[1]]:
                unmoved[s] += 1
            else:
                unmoved[s] = 0
            # Where changes up to min_deviation do not matter, neither does their absence.
            evidence[s, FLAT] = unmoved[s] if min_deviation == 0.0 else 0.0
            # The point itself against what the band shows: a lone spike counts in full.
            if seasonal_trusted:
                evidence[s, POINT] = _directed(seasonal_distance, direction)
            else:
                evidence[s, POINT] = _directed(rolling_distance, direction)
            if direction == UP:
                evidence[s, SHIFT] = cusum[s, 0]
            elif direction == DOWN:
                evidence[s, SHIFT] = cusum[s, 1]
            else:
                evidence[s, SHIFT] = max(cusum[s, 0], cusum[s, 1])

            # Each kind of evidence against its record, once the record has seen WARM_UP of
            # them: an empty record would make any evidence news (the seasonal one, starting a
            # period in, raised an alarm on every series). The strongest decides.
            computed = (
                n >= MIN_SAMPLES,
                residuals[s] > MIN_SAMPLES,
                count[s] >= MIN_SAMPLES,
                n >= MIN_SAMPLES,
                n >= MIN_SAMPLES,
            )
            strongest = flat = 0.0
            for kind in range(KINDS):
                if not computed[kind]:
                    continue
                seen[s, kind] += 1
                waits_a_cycle = kind != SEASONAL and kind != POINT  # rolling, shift, flat
                if seen[s, kind] > (cycle_warm_up if waits_a_cycle else WARM_UP):
                    e = evidence[s, kind]
                    bar = max(RECORD_GROWTH * second[s, kind], hush[s, kind], FLOORS[kind])
                    strongest = max(strongest, e / (e + bar + 1e-12))
                    if kind == FLAT:
                        flat = e / (e + bar + 1e-12)
            alarm = strongest >= 0.5
            if refractory[s] > 0:
                if strongest < UNDAMPED:
                    strongest *= REFRACTORY_DAMPING
                refractory[s] -= 1
            elif alarm:
                refractory[s] = REFRACTORY
            if count[s] >= WARM_UP:
                # strongest / (1 - strongest) is the evidence in units of its record.
                if strongest >= 1.0:
                    scores[s, t] = 1.0
                else:
                    scores[s, t] = score_of_z(Z_AT_RECORD * strongest / (1.0 - strongest))
                # Nothing inside the band reaches the warning threshold (the band's edge): what
                # the chart shows as normal is not an anomaly. A value that has stopped moving
                # is the exception: that it does not move is the anomaly.
                if lower[s, t] <= x <= upper[s, t] and flat < strongest:
                    scores[s, t] = min(scores[s, t], below_edge)
            for kind in range(KINDS):
                e = evidence[s, kind]
                record[s, kind] *= fade
                second[s, kind] *= fade
                hush[s, kind] *= HUSH_FADE
                since[s, kind] += 1
                if e >= record[s, kind]:
                    if since[s, kind] > EVENT_GAP:  # a new event: the old highest is second
                        second[s, kind] = record[s, kind]
                    record[s, kind] = e
                    since[s, kind] = 0
                elif e > second[s, kind] and since[s, kind] > EVENT_GAP:
                    second[s, kind] = e
                if e >= max(RECORD_GROWTH * second[s, kind], FLOORS[kind]):  # news: not again soon
                    hush[s, kind] = max(hush[s, kind], RECORD_GROWTH * e)
                if alarm:
                    hush[s, kind] = max(hush[s, kind], ALARM_RECORD * e)

            # Learn the sample.
            learnt = 1.0 - unlearnt * (1.0 - SHIFT_ALPHA)
            baseline[s] += SHIFT_ALPHA * (x - baseline[s])
            residual = x - baseline[s] / learnt
            baseline_variance[s] += SHIFT_ALPHA * (residual * residual - baseline_variance[s])
            # A glitch (1e300) would blind the floor for thousands of points: it counts as at
            # most GLITCH times the typical or the window's largest magnitude.
            size = abs(x)
            if n >= MIN_SAMPLES:
                largest = max(abs(ordered[s, 0]), abs(ordered[s, n - 1]), magnitude[s])
                size = min(size, GLITCH * largest)
            magnitude[s] += MAGNITUDE_ALPHA * (size - magnitude[s])
            window_count[s] = rolling.push(ring[s], ordered[s], n, head[s], x)
            head[s] = (head[s] + 1) % ring.shape[1]
            count[s] += 1
