"""Compiles (or loads from numba's on-disk cache) every kernel before the first request needs it."""

from __future__ import annotations

import numpy as np

from aiops.detect.registry import ALGORITHMS
from aiops.detect.scoring import Scoring


def warm_up() -> None:
    """Runs each registered algorithm's kernel once on a tiny input."""
    for registered in ALGORITHMS:
        algorithm = registered.default()
        algorithm.update(np.zeros((1, 2)), algorithm.new_state(1), 0, Scoring())
