"""Seasonal baseline: each point against the same phase of earlier periods (a day, a week).

Each of the period's slots keeps an exponentially weighted level and mean absolute residual;
a gap leaves its slots untouched. Slots are placed by absolute step, so a restart or a gap
keeps every point in its phase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from aiops.detect.base import Scored, as_values
from aiops.detect.scoring import Scoring, clean, score_of_z, write_point, write_unknown, z_score

# A mean absolute residual of a normal sample times this estimates its standard deviation.
MEAN_ABS_TO_SIGMA = 1.2533
# A slot scores once it has seen this many earlier periods.
MIN_PERIODS = 2


@dataclass
class SeasonalState:
    level: np.ndarray  # [series, period]
    residual: np.ndarray  # [series, period] mean absolute residual per slot
    seen: np.ndarray  # [series, period] periods learnt per slot
    overall_residual: np.ndarray  # [series] mean absolute residual over all slots


@dataclass(frozen=True)
class SeasonalBaseline:
    period: int = 1440  # in steps: a day at one-minute steps
    seasons: int = 4  # periods that dominate a slot's level: alpha = 2 / (seasons + 1)

    def new_state(self, series: int) -> SeasonalState:
        return SeasonalState(
            level=np.zeros((series, self.period)),
            residual=np.zeros((series, self.period)),
            seen=np.zeros((series, self.period), dtype=np.int64),
            overall_residual=np.zeros(series),
        )

    def update(
        self, values: np.ndarray, state: SeasonalState, first_step: int, scoring: Scoring
    ) -> Scored:
        values = as_values(values)
        out = Scored.empty(values.shape)
        _seasonal(
            values, first_step, 2.0 / (self.seasons + 1.0),
            state.level, state.residual, state.seen, state.overall_residual,
            scoring.direction, scoring.min_deviation, scoring.band_z,
            out.scores, out.expected, out.lower, out.upper,
        )  # fmt: skip
        return out


@njit(cache=True, nogil=True, parallel=True)
def _seasonal(
    values, first_step, alpha, level, residual, seen, overall_residual,
    direction, min_deviation, band_z, scores, expected, lower, upper,
):  # fmt: skip
    series, times = values.shape
    period = level.shape[1]
    overall_alpha = 2.0 / (period + 1.0)
    for s in prange(series):
        for t in range(times):
            slot = (first_step + t) % period
            x = clean(values[s, t])
            n = seen[s, slot]
            if n >= MIN_PERIODS:
                # A slot seen a few times has a noisy residual; the series' overall residual
                # keeps a quiet slot from raising alarms on noise.
                spread = MEAN_ABS_TO_SIGMA * max(residual[s, slot], overall_residual[s])
                score = score_of_z(z_score(x, level[s, slot], spread, direction, min_deviation))
                write_point(s, t, score, level[s, slot], spread, band_z, min_deviation,
                            scores, expected, lower, upper)  # fmt: skip
            else:
                write_unknown(s, t, scores, expected, lower, upper)
            if x != x:
                continue
            if n == 0:
                level[s, slot] = x
            else:
                # A plain mean over the first periods, exponential weighting after.
                rate = max(alpha, 1.0 / (n + 1.0))
                deviation = abs(x - level[s, slot])
                residual[s, slot] += rate * (deviation - residual[s, slot])
                overall_residual[s] += overall_alpha * (deviation - overall_residual[s])
                level[s, slot] += rate * (x - level[s, slot])
            seen[s, slot] = n + 1
