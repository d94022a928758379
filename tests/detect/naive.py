"""Plain, slow reference implementations of the detectors, written for reading, not speed:
each kernel must agree with its counterpart here (stumpy's tests/naive.py)."""

from __future__ import annotations

import math

import numpy as np

from aiops.detect.scoring import BOTH, DOWN, MAX_ABS, SPREAD_FLOOR, UP, Z_PER_SIGMA

Point = tuple[float, float, float]  # score, expected value, spread


def clean(x: float) -> float:
    return math.nan if not math.isfinite(x) else min(max(x, -MAX_ABS), MAX_ABS)


def score(x: float, expected: float, spread: float, direction: int, min_deviation: float) -> float:
    deviation = x - expected
    if not math.isfinite(deviation) or abs(deviation) < min_deviation:
        return 0.0
    signed = {BOTH: abs(deviation), UP: deviation, DOWN: -deviation}[direction]
    z = max(signed, 0.0) / max(spread, SPREAD_FLOOR * max(abs(expected), 1.0))
    return math.erf(z / Z_PER_SIGMA / math.sqrt(2.0))


def robust_z(
    values: np.ndarray, window: int, direction: int = BOTH, min_deviation: float = 0.0
) -> list[Point]:
    """Per point: (score, expected, spread) against the previous `window` valid samples."""
    out = []
    seen: list[float] = []
    for raw in values:
        x = clean(raw)
        recent = seen[-window:]
        if len(recent) >= min(window, 10):
            center = float(np.median(recent))
            spread = 1.4826 * float(np.median(np.abs(np.array(recent) - center)))
            out.append((score(x, center, spread, direction, min_deviation), center, spread))
        else:
            out.append((0.0, math.nan, math.nan))
        if not math.isnan(x):
            seen.append(x)
    return out


def ewma(
    values: np.ndarray, span: int, direction: int = BOTH, min_deviation: float = 0.0
) -> list[Point]:
    alpha = 2.0 / (span + 1.0)
    out = []
    mean = variance = 0.0
    count = 0
    for raw in values:
        x = clean(raw)
        if count >= min(span, 10):
            spread = math.sqrt(variance)
            out.append((score(x, mean, spread, direction, min_deviation), mean, spread))
        else:
            out.append((0.0, math.nan, math.nan))
        if math.isnan(x):
            continue
        if count == 0:
            mean, variance = x, 0.0
        else:
            # The textbook recursion for weighted mean and variance.
            new_mean = mean + alpha * (x - mean)
            variance = (1 - alpha) * (variance + alpha * (x - mean) ** 2)
            mean = new_mean
        count += 1
    return out


def seasonal(values: np.ndarray, period: int, seasons: int, first_step: int = 0) -> list[Point]:
    alpha = 2.0 / (seasons + 1.0)
    level = [0.0] * period
    residual = [0.0] * period
    seen = [0] * period
    overall = 0.0
    out = []
    for t, raw in enumerate(values):
        slot = (first_step + t) % period
        x = clean(raw)
        if seen[slot] >= 2:
            spread = 1.2533 * max(residual[slot], overall)
            out.append((score(x, level[slot], spread, BOTH, 0.0), level[slot], spread))
        else:
            out.append((0.0, math.nan, math.nan))
        if math.isnan(x):
            continue
        if seen[slot] == 0:
            level[slot] = x
        else:
            rate = max(alpha, 1.0 / (seen[slot] + 1))
            deviation = abs(x - level[slot])
            residual[slot] += rate * (deviation - residual[slot])
            overall += 2.0 / (period + 1.0) * (deviation - overall)
            level[slot] += rate * (x - level[slot])
        seen[slot] += 1
    return out


def cusum(values: np.ndarray, span: int, drift: float, threshold: float) -> list[Point]:
    """Two-sided CUSUM whose baseline restarts after each detected shift."""
    alpha = 2.0 / (span + 1.0)
    mean = variance = 0.0
    count = 0
    up = down = 0.0
    out = []
    for raw in values:
        x = clean(raw)
        shifted = False
        if count < min(span, 10):
            out.append((0.0, math.nan, math.nan))
        else:
            spread = max(math.sqrt(variance), SPREAD_FLOOR * max(abs(mean), 1.0))
            if not math.isnan(x):
                z = (x - mean) / spread
                up = max(0.0, up + z - drift)
                down = max(0.0, down - z - drift)
            statistic = max(up, down)
            z_equivalent = statistic / threshold * 3.92
            out.append((math.erf(z_equivalent / Z_PER_SIGMA / math.sqrt(2.0)), mean, spread))
            if statistic >= threshold:
                up = down = 0.0
                shifted = True
        if math.isnan(x):
            continue
        if count == 0 or shifted:
            mean = x
        else:
            difference = x - mean
            mean += alpha * difference
            variance = (1 - alpha) * (variance + difference * alpha * difference)
        count += 1
    return out
