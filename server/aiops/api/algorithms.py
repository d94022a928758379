"""A Detector's algorithm `oneof` and scoring settings: their defaults, their limits, and the
detect objects they become."""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import unknown_fields
from google.protobuf.duration_pb2 import Duration

from aiops.api.validation import Violations, check_enum
from aiops.detect import change_point, ensemble, ewma, robust_z, scoring, seasonal
from aiops.detect.base import Algorithm
from aiops_api.v1 import detector_pb2

Detector = detector_pb2.Detector

MAX_WINDOW = 100_000  # points in a rolling window or EWMA span
MAX_SEASONS = 1000
# Backfill fetches at most this many steps of history; two seasons must fit in it.
MAX_HISTORY_STEPS = 20_160
MAX_PERIOD_STEPS = MAX_HISTORY_STEPS // seasonal.MIN_PERIODS
DEFAULT_PERIOD_SECONDS = 86_400
MAX_DRIFT = 10.0
MAX_CUSUM_THRESHOLD = 1000.0

# The members of the Detector's algorithm `oneof`.
ALGORITHMS = ("robust_z_score", "ewma", "seasonal_baseline", "change_point", "ensemble")
MIN_ENSEMBLE_WINDOW = ensemble.MIN_SAMPLES
MIN_HALF_LIFE, MAX_HALF_LIFE = 10, 1_000_000

DIRECTIONS = {
    detector_pb2.DIRECTION_UNSPECIFIED: scoring.BOTH,
    detector_pb2.DIRECTION_BOTH: scoring.BOTH,
    detector_pb2.DIRECTION_UP: scoring.UP,
    detector_pb2.DIRECTION_DOWN: scoring.DOWN,
}


def fill_defaults(detector: detector_pb2.Detector) -> None:
    """Fills every unset parameter in place, so that what is stored says what runs."""
    if detector.WhichOneof("algorithm") is None:
        detector.ensemble.SetInParent()
    if detector.direction == detector_pb2.DIRECTION_UNSPECIFIED:
        detector.direction = detector_pb2.DIRECTION_BOTH
    which = detector.WhichOneof("algorithm")
    assert which is not None
    config = getattr(detector, which)
    if which == "robust_z_score":
        config.window = config.window or robust_z.RobustZScore.window
    elif which == "ewma":
        config.span = config.span or ewma.Ewma.span
    elif which == "seasonal_baseline":
        if not config.HasField("period"):
            config.period.seconds = DEFAULT_PERIOD_SECONDS
        config.seasons = config.seasons or seasonal.SeasonalBaseline.seasons
    elif which == "change_point":
        config.span = config.span or change_point.ChangePoint.span
        config.drift = config.drift or change_point.ChangePoint.drift
        config.threshold = config.threshold or change_point.ChangePoint.threshold
    elif which == "ensemble":
        config.window = config.window or ensemble.Ensemble.window
        config.half_life = config.half_life or ensemble.Ensemble.half_life
        if not config.HasField("period"):
            # The default detector must run at any step: without a season where a day is none.
            step = detector.step.seconds
            fits = step > 0 and DEFAULT_PERIOD_SECONDS % step == 0
            fits = fits and DEFAULT_PERIOD_SECONDS // step <= MAX_PERIOD_STEPS
            config.period.seconds = DEFAULT_PERIOD_SECONDS if fits else 0


def check(
    detector: detector_pb2.Detector, violations: Violations, prefix: str = "detector"
) -> None:
    """Checks the algorithm's parameters (defaults filled) against their limits."""
    # A newer client's algorithm arrives as an unknown field and would silently run the default.
    unknown = unknown_fields.UnknownFieldSet(detector)
    for i in range(len(unknown)):
        violations.add(
            prefix,
            f"unknown field number {unknown[i].field_number}: an algorithm this server lacks?",
        )
    check_enum(detector.direction, detector_pb2.Direction, f"{prefix}.direction", violations)
    if not (math.isfinite(detector.min_deviation) and detector.min_deviation >= 0):
        violations.add(
            f"{prefix}.min_deviation", f"must be 0 or more, got {detector.min_deviation}"
        )
    which = detector.WhichOneof("algorithm")
    if which is None:
        return
    config = getattr(detector, which)
    path = f"{prefix}.{which}"
    if which == "robust_z_score":
        _check_range(config.window, 1, MAX_WINDOW, f"{path}.window", violations)
    elif which == "ewma":
        _check_range(config.span, 1, MAX_WINDOW, f"{path}.span", violations)
    elif which == "seasonal_baseline":
        _check_range(config.seasons, 1, MAX_SEASONS, f"{path}.seasons", violations)
        _check_period(config.period, detector.step.seconds, f"{path}.period", violations)
    elif which == "change_point":
        _check_range(config.span, 1, MAX_WINDOW, f"{path}.span", violations)
        _check_positive(config.drift, MAX_DRIFT, f"{path}.drift", violations)
        _check_positive(config.threshold, MAX_CUSUM_THRESHOLD, f"{path}.threshold", violations)
    elif which == "ensemble":
        _check_range(config.window, MIN_ENSEMBLE_WINDOW, MAX_WINDOW, f"{path}.window", violations)
        _check_range(
            config.half_life, MIN_HALF_LIFE, MAX_HALF_LIFE, f"{path}.half_life", violations
        )
        if config.period.seconds or config.period.nanos:  # zero: no seasonal evidence
            _check_period(config.period, detector.step.seconds, f"{path}.period", violations)


def _check_period(period: Duration, step: int, field: str, violations: Violations) -> None:
    """A season: a whole number of steps, two of which fit in the history a detector fetches."""
    if period.nanos or period.seconds <= 0:
        violations.add(field, "must be a positive whole number of seconds")
    elif step > 0 and period.seconds % step:
        violations.add(field, f"must be a whole number of steps ({step}s), got {period.seconds}s")
    elif step > 0 and not 2 <= period.seconds // step <= MAX_PERIOD_STEPS:
        violations.add(
            field,
            f"must be 2 to {MAX_PERIOD_STEPS} steps, so that {seasonal.MIN_PERIODS} seasons "
            f"fit in the {MAX_HISTORY_STEPS} steps of history a detector fetches; "
            f"got {period.seconds // step} steps of {step}s",
        )


def _check_range(value: int, low: int, high: int, field: str, violations: Violations) -> None:
    if not low <= value <= high:
        violations.add(field, f"must be from {low} to {high}, got {value}")


def _check_positive(value: float, high: float, field: str, violations: Violations) -> None:
    if not (math.isfinite(value) and 0 < value <= high):
        violations.add(field, f"must be in (0, {high:g}], got {value}")


def build(detector: detector_pb2.Detector) -> tuple[Algorithm, scoring.Scoring]:
    """The algorithm and scoring a checked detector (defaults filled) runs with."""
    which = detector.WhichOneof("algorithm")
    assert which is not None, "defaults fill the algorithm"
    settings = scoring.Scoring(
        direction=DIRECTIONS[detector.direction],
        min_deviation=detector.min_deviation,
        band_z=scoring.z_for_score(detector.thresholds.warning),
    )
    return _algorithm(getattr(detector, which), which, detector.step.seconds), settings


def _algorithm(config: Any, which: str, step_seconds: int) -> Algorithm:
    if which == "robust_z_score":
        return robust_z.RobustZScore(window=config.window)
    if which == "ewma":
        return ewma.Ewma(span=config.span)
    if which == "seasonal_baseline":
        return seasonal.SeasonalBaseline(
            period=config.period.seconds // step_seconds, seasons=config.seasons
        )
    if which == "change_point":
        return change_point.ChangePoint(
            span=config.span, drift=config.drift, threshold=config.threshold
        )
    if which == "ensemble":
        return ensemble.Ensemble(
            window=config.window,
            period=config.period.seconds // step_seconds,
            half_life=config.half_life,
        )
    raise ValueError(f"unknown algorithm {which!r}")
