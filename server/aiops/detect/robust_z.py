"""Robust z-score: distance from the median of the previous `window` samples, in MADs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from aiops.detect import ranked, rolling
from aiops.detect.base import Scored, as_values
from aiops.detect.scoring import Scoring, clean, score_of_z, write_point, write_unknown, z_score

# The MAD of a normal sample times this estimates its standard deviation.
MAD_TO_SIGMA = 1.4826
# Scoring starts once the window holds this many samples (or is full, if smaller).
MIN_SAMPLES = 10
# Calls with this many points per series score on a ranked window (ranked.py), which costs a
# sort up front and then O(1) per point; fewer points go one by one through the sorted window.
RANKED_FROM = 32


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
    for s in prange(series):
        if times >= RANKED_FROM:
            _ranked_series(
                s, values, ring, ordered, count, head, direction, min_deviation, band_z,
                scores, expected, lower, upper,
            )  # fmt: skip
        else:
            _sorted_series(
                s, values, ring, ordered, count, head, direction, min_deviation, band_z,
                scores, expected, lower, upper,
            )  # fmt: skip


@njit(cache=True, nogil=True, inline="always")
def _write(s, t, x, center, mad, direction, min_deviation, band_z,
           scores, expected, lower, upper):  # fmt: skip
    spread = MAD_TO_SIGMA * mad
    score = score_of_z(z_score(x, center, spread, direction, min_deviation))
    write_point(s, t, score, center, spread, band_z, min_deviation,
                scores, expected, lower, upper)  # fmt: skip


@njit(cache=True, nogil=True)
def _sorted_series(
    s, values, ring, ordered, count, head, direction, min_deviation, band_z,
    scores, expected, lower, upper,
):  # fmt: skip
    """Point by point on the sorted window: the live path."""
    window = ring.shape[1]
    min_samples = min(window, MIN_SAMPLES)
    for t in range(values.shape[1]):
        x = clean(values[s, t])
        n = count[s]
        if n >= min_samples:
            center = rolling.median(ordered[s], n)
            mad = rolling.median_absolute_deviation(ordered[s], n, center)
            _write(s, t, x, center, mad, direction, min_deviation, band_z,
                   scores, expected, lower, upper)  # fmt: skip
        else:
            write_unknown(s, t, scores, expected, lower, upper)
        if x == x:  # a missing sample leaves the window as it was
            count[s] = rolling.push(ring[s], ordered[s], n, head[s], x)
            head[s] = (head[s] + 1) % window


@njit(cache=True, nogil=True)
def _ranked_series(
    s, values, ring, ordered, count, head, direction, min_deviation, band_z,
    scores, expected, lower, upper,
):  # fmt: skip
    """A whole call at once on a ranked window (ranked.py); leaves the same state behind."""
    window = ring.shape[1]
    min_samples = min(window, MIN_SAMPLES)
    times = values.shape[1]
    # The window's samples oldest first, then the call's samples; ranks order them all.
    held = count[s]
    oldest = head[s] if held == window else 0
    samples = np.empty(held + times)
    for i in range(held):
        samples[i] = ring[s, (oldest + i) % window]
    total = held
    for t in range(times):
        x = clean(values[s, t])
        if x == x:
            samples[total] = x
            total += 1
    samples = samples[:total]
    by_rank = ranked.argsort(samples)
    rank = np.empty(total, dtype=np.int64)
    rank[by_rank] = np.arange(total)
    sorted_samples = samples[by_rank]

    bits = np.zeros((total + 63) // 64, dtype=np.uint64)
    links = ranked.new_links(total)
    pointers = np.zeros(ranked.POINTERS, dtype=np.int64)
    for i in range(held):
        ranked.insert(bits, links, pointers, rank[i])
    center = mad = math.nan
    if held:
        center, mad = ranked.median_and_mad(links, pointers, sorted_samples)
    entering = held
    for t in range(times):
        x = clean(values[s, t])
        n = pointers[ranked.COUNT]
        if n >= min_samples:
            _write(s, t, x, center, mad, direction, min_deviation, band_z,
                   scores, expected, lower, upper)  # fmt: skip
        else:
            write_unknown(s, t, scores, expected, lower, upper)
        if x == x:
            if n == window:
                ranked.remove(bits, links, pointers, rank[entering - window])
            ranked.insert(bits, links, pointers, rank[entering])
            entering += 1
            center, mad = ranked.median_and_mad(links, pointers, sorted_samples)

    # The state the point-by-point path would hold: the window in arrival order, and sorted.
    n = pointers[ranked.COUNT]
    for i in range(n):
        ring[s, i] = samples[total - n + i]
    member = links[ranked.FOLLOWING, total]
    for i in range(n):
        ordered[s, i] = sorted_samples[member]
        member = links[ranked.FOLLOWING, member]
    count[s] = n
    head[s] = n % window
