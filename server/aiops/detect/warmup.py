"""Compiles (or loads from numba's on-disk cache) every kernel before the first request needs it."""

from __future__ import annotations

import numpy as np

from aiops.detect.base import Algorithm
from aiops.detect.change_point import ChangePoint
from aiops.detect.ensemble import Ensemble
from aiops.detect.ewma import Ewma
from aiops.detect.robust_z import RobustZScore
from aiops.detect.scoring import Scoring
from aiops.detect.seasonal import SeasonalBaseline

ALGORITHMS: tuple[Algorithm, ...] = (
    RobustZScore(),
    Ewma(),
    SeasonalBaseline(),
    ChangePoint(),
    Ensemble(),
)


def warm_up() -> None:
    """Runs each kernel once on a tiny input."""
    for algorithm in ALGORITHMS:
        algorithm.update(np.zeros((1, 2)), algorithm.new_state(1), 0, Scoring())
