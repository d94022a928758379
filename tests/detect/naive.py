"""Plain, slow reference implementations of the detectors, written for reading, not speed:
each kernel must agree with its counterpart here (stumpy's tests/naive.py)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from aiops.detect import change_point
from aiops.detect.scoring import BOTH, DOWN, MAX_ABS, SPREAD_FLOOR, UP, Z_PER_SIGMA

Point = tuple[float, float, float]  # score, expected value, spread


def clean(x: float) -> float:
    return math.nan if not math.isfinite(x) else min(max(x, -MAX_ABS), MAX_ABS)


def score(x: float, expected: float, spread: float, direction: int, min_deviation: float) -> float:
    deviation = x - expected
    if not math.isfinite(deviation) or abs(deviation) <= min_deviation:
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


def cusum(
    values: np.ndarray,
    span: int,
    drift: float,
    threshold: float,
    direction: int = BOTH,
    min_deviation: float = 0.0,
) -> list[Point]:
    """The change point as its module docstring tells it, one sample at a time: the plain
    reference its kernel is held to."""
    alpha = 2.0 / (span + 1.0)
    spread_rate = 2.0 / (change_point.SPREAD_SPAN + 1.0)
    level = variance = 0.0
    in_level = 0  # samples in the level; 0 after an alarm: the level is the sample that tripped it
    learnt = 0  # deviations the spread has learnt
    up = down = 0.0
    resolution = math.inf  # smallest step between consecutive samples
    previous = math.nan
    out: list[Point] = []
    for raw in values:
        x = clean(raw)
        if not math.isnan(x) and not math.isnan(previous):
            step = abs(x - previous)
            largest = max(abs(x), abs(previous))
            if SPREAD_FLOOR * max(abs(x), 1.0) <= step <= change_point.RESOLUTION_SHARE * largest:
                resolution = min(resolution, step)
        spread = max(
            math.sqrt(variance),
            resolution if math.isfinite(resolution) else 0.0,
            SPREAD_FLOOR * max(abs(level), 1.0),
        )
        # The level's own variance in spreads squared: 1/n for a mean of n samples, then the
        # EWMA's settled alpha / (2 - alpha).
        share = max(1.0 / in_level, alpha / (2.0 - alpha)) if in_level else 1.0
        alarm = False
        if learnt < change_point.WARM_UP:
            out.append((0.0, math.nan, math.nan))
        else:
            deviation = x - level
            if not math.isnan(x) and (abs(deviation) > min_deviation or min_deviation == 0):
                z = deviation / (spread * math.sqrt(1.0 + share))
                up = max(0.0, up + z - drift)
                down = max(0.0, down - z - drift)
            statistic = {BOTH: max(up, down), UP: up, DOWN: down}[direction]
            # h scores as the warning threshold's z, 3.92 spreads, on the shared scale.
            z_equivalent = statistic / threshold * 3.92
            score = math.erf(z_equivalent / 2.0 / math.sqrt(2.0)) if statistic > 0 else 0.0
            out.append((score, level, spread))
            alarm = max(up, down) >= threshold
            if alarm or in_level == 0:
                up = down = 0.0
        if math.isnan(x):
            continue
        previous = x
        if alarm:
            level, in_level = x, 0
            continue
        if in_level == 0:
            level, in_level = x, 1
            continue
        deviation = x - level
        squared = deviation * deviation / (1.0 + share)
        if learnt >= change_point.MIN_SAMPLES:
            squared = min(squared, (change_point.CLIP * spread) ** 2) / change_point.CLIPPED_MEAN
        learnt += 1
        variance += max(spread_rate, 1.0 / learnt) * (squared - variance)
        level += max(alpha, 1.0 / (in_level + 1)) * deviation
        in_level += 1
    return out


def ensemble(
    values: np.ndarray,
    window: int,
    period: int,
    half_life: int,
    first_step: int = 0,
    direction: int = BOTH,
    min_deviation: float = 0.0,
) -> list[Point]:
    """The ensemble as detect/ensemble.py's docstring describes it, one sample at a time."""
    directed = {BOTH: abs, UP: lambda v: max(v, 0.0), DOWN: lambda v: max(-v, 0.0)}[direction]

    def distance(x: float, expected: float, spread: float) -> float:
        return 0.0 if abs(x - expected) <= min_deviation else (x - expected) / spread

    # Records fade over at least 7 periods.
    fade = 0.5 ** (1.0 / max(half_life, 7 * period))
    warm_up = 100
    seen: list[float] = []  # valid samples, oldest first
    levels: dict[int, float] = {}  # seasonal slot -> level
    residual_variance, residuals = 0.0, 0
    baseline = baseline_variance = magnitude = 0.0
    upward = downward = 0.0
    recent = [[0.0] * 5, [0.0] * 5]  # rolling and seasonal distances, a ring of 5
    floors = (2.0, 2.0, 10.0, 6.0, 30.0)  # rolling, seasonal, shift, point, flat
    records = [0.0] * 5  # per kind, the highest evidence of any one event
    seconds = [0.0] * 5  # the highest of any other event
    since = [0] * 5  # points since the highest was set
    hush = [0.0] * 5  # the bar news and alarms leave, halving in 50 points
    judged = [0] * 5  # evidence of each kind its record has seen
    unmoved = 0  # points in a row equal to the one before
    refractory = 0
    out: list[Point] = []
    for t, raw in enumerate(values):
        x = clean(raw)
        floor = 1e-3 * (magnitude + 1e-9)
        window_now = sorted(seen[-window:])
        n = len(window_now)
        center, spread = math.nan, math.inf
        if n >= 10:
            center = float(np.median(window_now))
            spread = max((window_now[3 * n // 4] - window_now[n // 4]) / 1.349, floor)
        slot = (first_step + t) % period if period else -1
        level, level_spread = levels.get(slot, math.nan), math.inf
        if slot in levels and residuals >= 10:
            level_spread = math.sqrt(residual_variance + floor**2)
        trusted = level_spread < spread and judged[1] >= warm_up
        if trusted:
            point = [0.0, level, level_spread]
        elif n >= 10:
            point = [0.0, center, spread]
        else:
            point = [0.0, math.nan, math.nan]
        if math.isnan(x):
            out.append((point[0], point[1], point[2]))
            continue
        count = len(seen)
        if count == 0:
            magnitude = abs(x)

        rolling_distance = distance(x, center, spread) if n >= 10 else 0.0
        seasonal_distance = 0.0
        if slot in levels:
            residual = x - level
            if residuals >= 10:
                seasonal_distance = distance(x, level, level_spread)
            if residuals:
                residual_variance += 0.01 * (residual**2 - residual_variance)
            else:
                residual_variance = residual**2
            residuals += 1
            levels[slot] += 0.2 * residual
        elif period:
            levels[slot] = x
        recent[0][count % 5] = rolling_distance
        recent[1][count % 5] = seasonal_distance
        evidence = [directed(sum(r) / min(count + 1, 5)) for r in recent]

        if count >= 10:
            learnt = 1 - 0.998**count  # the slow mean and variance, unbiased
            z = distance(x, baseline / learnt, math.sqrt(baseline_variance / learnt + floor**2))
            z = min(max(z, -10.0), 10.0)
            upward = max(0.0, upward + z - 0.5)
            downward = max(0.0, downward - z - 0.5)
        evidence.append({BOTH: max(upward, downward), UP: upward, DOWN: downward}[direction])
        # The point against the band's expected value.
        evidence.append(directed(seasonal_distance if trusted else rolling_distance))
        unmoved = unmoved + 1 if seen and x == seen[-1] else 0
        evidence.append(float(unmoved) if min_deviation == 0 else 0.0)

        # A kind scores once its record has seen 100 of its evidence, against its record or
        # its floor, whichever is higher.
        computed = [n >= 10, residuals > 10, count >= 10, n >= 10, n >= 10]
        strongest = flat = 0.0
        for kind, e in enumerate(evidence):
            judged[kind] += computed[kind]
            if computed[kind] and judged[kind] > (
                max(warm_up, period) if kind in (0, 2, 4) else warm_up
            ):
                bar = max(1.5 * seconds[kind], hush[kind], floors[kind])
                strongest = max(strongest, e / (e + bar + 1e-12))
                flat = e / (e + bar + 1e-12) if kind == 4 else flat
        alarm = strongest >= 0.5
        if refractory:
            if strongest < 0.75:
                strongest *= 0.5
            refractory -= 1
        elif alarm:
            refractory = 10
        if count >= 100:
            point[0] = (
                1.0
                if strongest >= 1
                else math.erf(3.92 * strongest / (1 - strongest) / 2.0 / math.sqrt(2.0))
            )
            # Nothing inside the band reaches the warning threshold, but a value stuck.
            if not math.isnan(point[1]):
                half = max(3.92 * max(point[2], 1e-9 * max(abs(point[1]), 1.0)), min_deviation)
                if abs(x - point[1]) <= half and flat < strongest:
                    edge = math.erf(3.92 / 2.0 / math.sqrt(2.0)) * (1.0 - 1e-9)
                    point[0] = min(point[0], edge)
        for kind, e in enumerate(evidence):
            records[kind] *= fade
            seconds[kind] *= fade
            hush[kind] *= 0.5 ** (1 / 50)
            since[kind] += 1
            if e >= records[kind]:
                if since[kind] > 10:  # another event: the old highest is the second
                    seconds[kind] = records[kind]
                records[kind], since[kind] = e, 0
            elif e > seconds[kind] and since[kind] > 10:
                seconds[kind] = e
            if e >= max(1.5 * seconds[kind], floors[kind]):
                hush[kind] = max(hush[kind], 1.5 * e)
            if alarm:
                hush[kind] = max(hush[kind], 2.0 * e)
        out.append((point[0], point[1], point[2]))

        learnt = 1 - 0.998 ** (count + 1)
        baseline += 0.002 * (x - baseline)
        baseline_variance += 0.002 * ((x - baseline / learnt) ** 2 - baseline_variance)
        size = abs(x)
        if n >= 10:
            size = min(size, 1000.0 * max(abs(window_now[0]), abs(window_now[-1]), magnitude))
        magnitude += 0.01 * (size - magnitude)
        seen.append(x)
    return out


# Each registered algorithm's reference, called with one series and the algorithm's parameters
# by name (as in its registry example): tests/detect/test_kernels.py holds every kernel to it.
REFERENCES: dict[str, Callable[..., list[Point]]] = {
    "robust_z_score": robust_z,
    "ewma": ewma,
    "seasonal_baseline": seasonal,
    "change_point": cusum,
    "ensemble": ensemble,
}
