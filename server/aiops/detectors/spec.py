"""A detector's settings: their defaults, their limits, and the algorithm and scoring they become.

`prepare` is the one call a servicer makes on a detector a client sent: a copy with every unset
setting at its default (what is stored says what runs) and every problem as a field violation.
The algorithm's parameters, their limits and their construction come from the registry
(`aiops.detect.registry`), so an algorithm added there is checked and built here unchanged. A
log-pattern detector (`log_pattern`) scores each template's rate with a registered algorithm of
its own (`rate_algorithm`), filled, checked and built the same way.
"""

from __future__ import annotations

import math

from google.protobuf import unknown_fields
from google.protobuf.message import Message

from aiops.detect import registry, scoring
from aiops.detect.base import Algorithm
from aiops.detect.registry import (
    DEFAULT_PERIOD_SECONDS,
    MAX_HISTORY_STEPS,
    MAX_PERIOD_STEPS,
    Count,
    Period,
    Positive,
)
from aiops.detect.seasonal import MIN_PERIODS
from aiops.errors import InvalidArgument
from aiops.sources import logql
from aiops.validation import (
    Violations,
    check_enum,
    check_length,
    check_query,
    check_step,
    parse_name,
)
from aiops_api.v1 import detector_pb2

Detector = detector_pb2.Detector
LogPatternRates = detector_pb2.LogPatternRates

# The `algorithm` member of log-pattern detectors, and the oneof of what scores their rates.
LOG_PATTERN = "log_pattern"
RATE_ALGORITHM = "rate_algorithm"
DEFAULT_MAX_LINES_PER_STEP = 10_000
MAX_LINES_PER_STEP = 1_000_000
DEFAULT_MAX_TEMPLATES = 1000
MIN_TEMPLATES = 10
MAX_TEMPLATES = 100_000
DEFAULT_BASELINE_STEPS = 120

DEFAULT_STEP_SECONDS = 60
DEFAULT_WARNING = 0.95
DEFAULT_CRITICAL = 0.99
MAX_DISPLAY_NAME = 200  # characters
MAX_DESCRIPTION = 2000  # characters
MAX_EVALUATION_DELAY_SECONDS = 3600
DEFAULT_ABSENCE_STEPS = 5
MAX_ABSENCE_STEPS = 10_000
DIRECTIONS = {
    detector_pb2.DIRECTION_UNSPECIFIED: scoring.BOTH,
    detector_pb2.DIRECTION_BOTH: scoring.BOTH,
    detector_pb2.DIRECTION_UP: scoring.UP,
    detector_pb2.DIRECTION_DOWN: scoring.DOWN,
}


def prepare(
    detector: Detector, violations: Violations, *, reads: bool = True, prefix: str = "detector"
) -> Detector:
    """A copy of `detector` with its defaults filled, its problems added to `violations` under
    `prefix`. `reads=False` leaves out what the detector reads (data source, query) and how
    people know it: a backtest over series sent inline needs neither."""
    prepared = Detector()
    prepared.CopyFrom(detector)
    if not prepared.HasField("step"):
        prepared.step.seconds = DEFAULT_STEP_SECONDS
    if prepared.direction == detector_pb2.DIRECTION_UNSPECIFIED:
        prepared.direction = detector_pb2.DIRECTION_BOTH
    prepared.thresholds.warning = prepared.thresholds.warning or DEFAULT_WARNING
    prepared.thresholds.critical = prepared.thresholds.critical or DEFAULT_CRITICAL
    absence = prepared.absence
    absence.policy = absence.policy or detector_pb2.Absence.POLICY_SKIP
    absence.steps = absence.steps or DEFAULT_ABSENCE_STEPS
    _fill_algorithm(prepared)
    if reads:
        _check_reads(prepared, violations, prefix)
    _check_scoring(prepared, violations, prefix)
    return prepared


def build(detector: Detector) -> tuple[Algorithm, scoring.Scoring]:
    """The algorithm and scoring a prepared detector (no violations) runs with: for a
    log-pattern detector, what scores each template's rate."""
    which, config = numeric_config(detector)
    registered = registry.BY_NAME[which]
    step = detector.step.seconds
    parameters = {
        parameter.name: (
            getattr(config, parameter.name).seconds // step
            if isinstance(parameter, Period)
            else getattr(config, parameter.name)
        )
        for parameter in registered.parameters
    }
    settings = scoring.Scoring(
        direction=DIRECTIONS[detector.direction],
        min_deviation=detector.min_deviation,
        band_z=scoring.z_for_score(detector.thresholds.warning),
    )
    return registered.build(**parameters), settings


def algorithm_config(detector: Detector) -> tuple[str, Message]:
    """The chosen member of the `algorithm` oneof and its settings."""
    which = detector.WhichOneof("algorithm")
    assert which is not None, "prepare() fills the algorithm"
    config: Message = getattr(detector, which)
    return which, config


def numeric_config(detector: Detector) -> tuple[str, Message]:
    """The registered algorithm that scores the detector's series, and its settings: the
    `algorithm` itself, or a log-pattern detector's `rate_algorithm`."""
    which, config = algorithm_config(detector)
    if which != LOG_PATTERN:
        return which, config
    rates = config.WhichOneof(RATE_ALGORITHM)
    assert rates is not None, "prepare() fills the rate algorithm"
    numeric: Message = getattr(config, rates)
    return rates, numeric


def is_log_pattern(detector: Detector) -> bool:
    which: str | None = detector.WhichOneof("algorithm")
    return which == LOG_PATTERN


def _fill_algorithm(detector: Detector) -> None:
    if detector.WhichOneof("algorithm") is None:
        getattr(detector, registry.DEFAULT).SetInParent()
    if is_log_pattern(detector):
        _fill_log_pattern(detector.log_pattern)
    which, config = numeric_config(detector)
    _fill_registered(which, config, detector.step.seconds)


def _fill_log_pattern(config: detector_pb2.LogPatternRates) -> None:
    config.ClearField("effective_source")  # output only: the runner reports it
    config.source = config.source or LogPatternRates.SOURCE_AUTO
    config.max_lines_per_step = config.max_lines_per_step or DEFAULT_MAX_LINES_PER_STEP
    config.max_templates = config.max_templates or DEFAULT_MAX_TEMPLATES
    config.baseline_steps = config.baseline_steps or DEFAULT_BASELINE_STEPS
    if config.WhichOneof(RATE_ALGORITHM) is None:
        getattr(config, registry.DEFAULT).SetInParent()


def _fill_registered(which: str, config: Message, step: int) -> None:
    registered = registry.BY_NAME[which]
    defaults = registered.default()
    for parameter in registered.parameters:
        if isinstance(parameter, Period):
            if not config.HasField(parameter.name):
                period = getattr(config, parameter.name)
                fits = not parameter.optional or _day_fits(step)
                period.seconds = DEFAULT_PERIOD_SECONDS if fits else 0
        elif not getattr(config, parameter.name):
            setattr(config, parameter.name, getattr(defaults, parameter.name))


def _day_fits(step: int) -> bool:
    """Whether a day is a season at this step: an optional season is off by default where not,
    so that the default detector runs at any step."""
    return (
        step > 0
        and DEFAULT_PERIOD_SECONDS % step == 0
        and DEFAULT_PERIOD_SECONDS // step <= MAX_PERIOD_STEPS
    )


def _check_reads(detector: Detector, violations: Violations, prefix: str) -> None:
    """What the detector reads and how people know it."""
    check_length(detector.display_name, MAX_DISPLAY_NAME, f"{prefix}.display_name", violations)
    check_length(detector.description, MAX_DESCRIPTION, f"{prefix}.description", violations)
    try:
        parse_name(detector.data_source, "dataSources", f"{prefix}.data_source")
    except InvalidArgument as e:
        violations.items.extend(e.violations)
    check_query(detector.query, f"{prefix}.query", "a PromQL or LogQL query", violations)
    if is_log_pattern(detector):
        _check_log_query(detector, violations, prefix)
    _check_data_options(detector, violations, prefix)


def _check_data_options(detector: Detector, violations: Violations, prefix: str) -> None:
    """When the detector reads its points, how much history, and what missing ones mean."""
    delay = detector.evaluation_delay
    if delay.nanos or not 0 <= delay.seconds <= MAX_EVALUATION_DELAY_SECONDS:
        violations.add(
            f"{prefix}.evaluation_delay",
            f"whole seconds from 0s to {MAX_EVALUATION_DELAY_SECONDS}s",
        )
    if not 0 <= detector.backfill_points <= MAX_HISTORY_STEPS:
        violations.add(
            f"{prefix}.backfill_points",
            f"must be from 1 to {MAX_HISTORY_STEPS} (0: the server's), "
            f"got {detector.backfill_points}",
        )
    absence = detector.absence
    check_enum(absence.policy, detector_pb2.Absence.Policy, f"{prefix}.absence.policy", violations)
    if not 1 <= absence.steps <= MAX_ABSENCE_STEPS:
        violations.add(
            f"{prefix}.absence.steps", f"must be from 1 to {MAX_ABSENCE_STEPS}, got {absence.steps}"
        )


def _check_scoring(detector: Detector, violations: Violations, prefix: str) -> None:
    """How the detector scores: all that a backtest uses."""
    check_step(detector.step.seconds, detector.step.nanos, f"{prefix}.step", violations)
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
    _check_algorithm(detector, violations, prefix)
    warning, critical = detector.thresholds.warning, detector.thresholds.critical
    if not 0 < warning <= 1:
        violations.add(f"{prefix}.thresholds.warning", f"must be in (0, 1], got {warning}")
    if not 0 < critical <= 1:
        violations.add(f"{prefix}.thresholds.critical", f"must be in (0, 1], got {critical}")
    elif critical < warning:
        violations.add(f"{prefix}.thresholds.critical", "must not be below the warning threshold")


def _check_algorithm(detector: Detector, violations: Violations, prefix: str) -> None:
    which, config = algorithm_config(detector)
    field = f"{prefix}.{which}"
    if which == LOG_PATTERN:
        _check_log_pattern(detector.log_pattern, violations, field)
        which, config = numeric_config(detector)
        field = f"{field}.{which}"
    _check_registered(which, config, detector.step.seconds, violations, field)


def _check_log_pattern(
    config: detector_pb2.LogPatternRates, violations: Violations, prefix: str
) -> None:
    check_enum(config.source, LogPatternRates.Source, f"{prefix}.source", violations)
    unknown = unknown_fields.UnknownFieldSet(config)
    for i in range(len(unknown)):
        violations.add(
            prefix,
            f"unknown field number {unknown[i].field_number}: an algorithm this server lacks?",
        )
    for name, low, high in (
        ("max_lines_per_step", 1, MAX_LINES_PER_STEP),
        ("max_templates", MIN_TEMPLATES, MAX_TEMPLATES),
        ("baseline_steps", 1, MAX_HISTORY_STEPS),
    ):
        value = getattr(config, name)
        if not low <= value <= high:
            violations.add(f"{prefix}.{name}", f"must be from {low} to {high}, got {value}")


def _check_log_query(detector: Detector, violations: Violations, prefix: str) -> None:
    """A log-pattern detector reads log lines: its query is a LogQL log query, and Loki's
    patterns take a stream selector alone."""
    if not detector.query.strip():
        return  # check_query says it is required
    split = logql.split_selector(detector.query)
    if split is None:
        violations.add(
            f"{prefix}.query",
            "a log-pattern detector needs a LogQL log query: a stream selector with optional "
            'line filters, such as {app="api"} != "healthcheck"',
        )
    elif split[1] and detector.log_pattern.source == LogPatternRates.SOURCE_LOKI_PATTERNS:
        violations.add(
            f"{prefix}.log_pattern.source",
            "Loki's patterns are per stream and cannot apply the query's line filters: "
            "use SOURCE_AUTO or SOURCE_MINED, or a stream selector alone",
        )


def _check_registered(
    which: str, config: Message, step: int, violations: Violations, prefix: str
) -> None:
    for parameter in registry.BY_NAME[which].parameters:
        value = getattr(config, parameter.name)
        field = f"{prefix}.{parameter.name}"
        match parameter:
            case Count(low=low, high=high) if not low <= value <= high:
                violations.add(field, f"must be from {low} to {high}, got {value}")
            case Positive(high=high) if not (math.isfinite(value) and 0 < value <= high):
                violations.add(field, f"must be in (0, {high:g}], got {value}")
            case Period(optional=optional) if value.seconds or value.nanos or not optional:
                _check_period(value.seconds, value.nanos, step, field, violations)


def _check_period(seconds: int, nanos: int, step: int, field: str, violations: Violations) -> None:
    """A season: a whole number of steps, two of which fit in the history a detector fetches."""
    if nanos or seconds <= 0:
        violations.add(field, "must be a positive whole number of seconds")
    elif step > 0 and seconds % step:
        violations.add(field, f"must be a whole number of steps ({step}s), got {seconds}s")
    elif step > 0 and not 2 <= seconds // step <= MAX_PERIOD_STEPS:
        violations.add(
            field,
            f"must be 2 to {MAX_PERIOD_STEPS} steps, so that {MIN_PERIODS} seasons "
            f"fit in the {MAX_HISTORY_STEPS} steps of history a detector fetches; "
            f"got {seconds // step} steps of {step}s",
        )
