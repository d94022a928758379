"""The algorithms a detector can run, each registered once with its parameters' limits.

The API fills and checks a detector's settings from this list (`aiops.detectors.spec`), the
pipeline and backtests build algorithms from it, `warmup` compiles every kernel in it, and the
tests and benchmarks run over it. Adding an algorithm is its module here in `detect/` plus one
entry in `ALGORITHMS` (and its message in the Detector's `algorithm` oneof).

A parameter's default is the algorithm class's own default, except for a `Period`, which an
operator gives as a duration and the algorithm takes in steps. A parameter left 0 by a client
takes its default, so a `Count` or `Positive` cannot be 0: an algorithm whose parameter can be
0, negative, a flag or a choice needs a new kind here, filled and checked in
`aiops.detectors.spec`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiops.detect import change_point, ensemble, ewma, robust_z, seasonal
from aiops.detect.base import Algorithm

MAX_WINDOW = 100_000  # points in a rolling window or EWMA span
MAX_SEASONS = 1000
# Backfill fetches at most this many steps of history; two seasons must fit in it.
MAX_HISTORY_STEPS = 20_160
MAX_PERIOD_STEPS = MAX_HISTORY_STEPS // seasonal.MIN_PERIODS
DEFAULT_PERIOD_SECONDS = 86_400


@dataclass(frozen=True)
class Count:
    """A whole number from `low` to `high`."""

    name: str
    low: int
    high: int


@dataclass(frozen=True)
class Positive:
    """A real number in (0, `high`]."""

    name: str
    high: float


@dataclass(frozen=True)
class Period:
    """A season: a duration of whole seconds, 2 to MAX_PERIOD_STEPS steps, given to the
    algorithm in steps. Defaults to a day; where `optional`, 0 turns seasonality off, and the
    default is off at a step that a day is no whole number of (or too many) of."""

    name: str
    optional: bool = False


Parameter = Count | Positive | Period


@dataclass(frozen=True)
class Registered:
    """One algorithm: `name` is its member of the Detector's `algorithm` oneof, `kind` the
    class that runs it, built with every parameter as a keyword argument. `example` is a small
    configuration (periods in steps) that every kernel test and property check runs it with
    (river's `_unit_test_params`); `shift_invariant` says whether adding a constant to a series
    leaves its scores alone (the property tests check it where it is claimed)."""

    name: str
    kind: Callable[..., Algorithm]
    parameters: tuple[Parameter, ...]
    example: dict[str, float]
    shift_invariant: bool = True

    def build(self, **parameters: float) -> Algorithm:
        return self.kind(**parameters)

    def default(self) -> Algorithm:
        """The algorithm with its class's defaults (a period of a day at one-minute steps)."""
        return self.kind()


ALGORITHMS: tuple[Registered, ...] = (
    Registered(
        "robust_z_score",
        robust_z.RobustZScore,
        (Count("window", 1, MAX_WINDOW),),
        example={"window": 25},
    ),
    Registered("ewma", ewma.Ewma, (Count("span", 1, MAX_WINDOW),), example={"span": 20}),
    Registered(
        "seasonal_baseline",
        seasonal.SeasonalBaseline,
        (Period("period"), Count("seasons", 1, MAX_SEASONS)),
        example={"period": 12, "seasons": 3},
    ),
    Registered(
        "change_point",
        change_point.ChangePoint,
        (Count("span", 1, MAX_WINDOW), Positive("drift", 10.0), Positive("threshold", 1000.0)),
        example={"span": 30, "drift": 0.5, "threshold": 4.0},
    ),
    Registered(
        "ensemble",
        ensemble.Ensemble,
        (
            Count("window", ensemble.MIN_SAMPLES, MAX_WINDOW),
            Period("period", optional=True),
            Count("half_life", 10, 1_000_000),
        ),
        example={"window": 30, "period": 12, "half_life": 300},
        # Its noise floor is relative to the series' magnitude (0.1 % of it is one spread).
        shift_invariant=False,
    ),
)
BY_NAME = {algorithm.name: algorithm for algorithm in ALGORITHMS}
# What a detector runs when it names no algorithm: the one measured on NAB.
DEFAULT = "ensemble"
